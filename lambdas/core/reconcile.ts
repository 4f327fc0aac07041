import { lifecycleEvent } from './events.ts';
import { endedAmong, runningScope } from './fairness.ts';
import { DetailType, isTerminal, type TaskRecord } from './model.ts';
import { settleTerminal, type SettleDeps } from './settle.ts';

/** Dependencies of the reconciler: a terminal task's bookkeeping, and the bus to re-dispatch on. */
export interface ReconcileDeps extends SettleDeps {
  readonly now?: () => number;
}

/** What one reconciliation pass did. */
export interface ReconcileReport {
  readonly examined: number;
  readonly redispatched: readonly string[];
  /** Terminal tasks whose bookkeeping (event, session, slots) this pass finished. */
  readonly settled: readonly string[];
}

/**
 * A task whose bookkeeping was cut short may have freed a slot without its count (a worker dying
 * between the two writes): recount the tenant's in-flight and running slots, so counters never
 * stay drifted until a refusal happens to repair them.
 */
const recountSlots = async (deps: ReconcileDeps, task: TaskRecord): Promise<void> => {
  await deps.admission?.repair(task.tenantId, (taskIds) => endedAmong(deps.tasks, taskIds));
  if (deps.fairness) await deps.fairness.slots.repair(runningScope(task.tenantId, task.class), (taskIds) => endedAmong(deps.tasks, taskIds));
};

/** Base delay before a re-dispatched task is looked at again; doubles per re-dispatch, capped. */
const BACKOFF_MS = 2 * 60_000;
const MAX_BACKOFF_MS = 60 * 60_000;

/**
 * The safety net behind "no acknowledged task is ever lost". A task whose `Task Submitted` event
 * never reached a queue (PutEvents failed after the record was written, a Lambda died between the
 * two), or whose worker died holding the lease, is overdue in the reconciliation index; the
 * reconciler emits `Task Submitted` for it again. Workers claim tasks with a lease, so a task that
 * was merely slow is not run twice: the extra message is dropped. A terminal task whose
 * bookkeeping was cut short (see settleTerminal) is settled here.
 */
export const reconcile = async (deps: ReconcileDeps, limit = 100): Promise<ReconcileReport> => {
  const now = (deps.now ?? Date.now)();
  const due = await deps.tasks.listDue(now, limit);
  const redispatched: string[] = [];
  const settled: string[] = [];
  for (const task of due) {
    if (isTerminal(task.status)) {
      if (await settleTerminal(deps, task)) {
        settled.push(task.taskId);
        await recountSlots(deps, task).catch(() => undefined); // best effort; the next refusal repairs too
      } else await deps.tasks.postpone(task.taskId, now + BACKOFF_MS);
      continue;
    }
    await deps.events.publish(DetailType.submitted, lifecycleEvent(task, { status: task.status }, now));
    const redispatches = task.redispatches ?? 0;
    await deps.tasks.postpone(task.taskId, now + Math.min(MAX_BACKOFF_MS, BACKOFF_MS * 2 ** redispatches));
    redispatched.push(task.taskId);
  }
  return { examined: due.length, redispatched, settled };
};

