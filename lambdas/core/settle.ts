import type { AdmissionStore } from './admission.ts';
import { factEventId, lifecycleEvent } from './events.ts';
import { leaveRunning, type FairnessDeps } from './fairness.ts';
import { DELIVERY_TASK_TYPE, DetailType, isTerminal, type TaskRecord, type TaskStatus } from './model.ts';
import type { EventPublisher, TaskStore } from './ports.ts';
import { advanceSession, type SessionStore } from './session.ts';
import { deliveryScope } from './webhook-limits.ts';

/** Dependencies of {@link settleTerminal}: whatever a terminal task's bookkeeping touches. */
export interface SettleDeps {
  readonly tasks: TaskStore;
  readonly events: EventPublisher;
  /** Frees the task's admission (in-flight) slot, or a webhook delivery's outstanding-delivery slot. */
  readonly admission?: AdmissionStore;
  /** Wakes the next task of the session. */
  readonly sessions?: SessionStore;
  /** Frees the task's running slot and wakes a parked task of the tenant. */
  readonly fairness?: Omit<FairnessDeps, 'limit'>;
  /**
   * Parks a task that failed for good in its class's dead-letter queue. Repeated when the
   * bookkeeping is (a message per settle attempt): consumers treat the `taskId` attribute as the key.
   */
  readonly deadLetter?: (task: TaskRecord) => Promise<void>;
}

const TERMINAL_EVENT: Partial<Record<TaskStatus, DetailType>> = {
  succeeded: DetailType.succeeded,
  failed: DetailType.failed,
  cancelled: DetailType.cancelled,
};

/**
 * The bookkeeping after a task became terminal: park it in the DLQ if it failed, emit its terminal lifecycle event, wake the next
 * task of its session, free its admission and running slots, then mark it settled (drop it from
 * the reconciliation index). Every step is idempotent, and a terminal task stays in the index
 * until all of them succeeded, so a worker that dies (or an AWS call that fails for good) between
 * the terminal write and the last step leaves work the reconciler finishes: no slot leaks, no
 * session stalls, no lifecycle event is lost. A repeated event carries the same facts; consumers
 * deduplicate (webhook deliveries have deterministic ids).
 *
 * @returns false if a step failed (the reconciler will settle the task later).
 * @example
 * ```ts
 * if (await tasks.finish(taskId, owner, { status: 'succeeded', result }, now)) await settleTerminal(deps, task);
 * ```
 */
export const settleTerminal = async (deps: SettleDeps, task: TaskRecord, onError: (step: string, error: unknown) => void = () => undefined): Promise<boolean> => {
  if (!isTerminal(task.status)) return false;
  const steps: [string, () => Promise<unknown>][] = [
    ['deadLetter', async () => task.status === 'failed' && deps.deadLetter?.(task)],
    ['event', () => deps.events.publish(TERMINAL_EVENT[task.status]!, lifecycleEvent(task, { status: task.status, eventId: factEventId(task.taskId, task.status) }))],
    ['session', async () => deps.sessions && advanceSession(deps.sessions, deps.tasks, deps.events, task)],
    // A webhook delivery holds no in-flight slot, but one of its tenant's outstanding deliveries.
    ['admission', async () => deps.admission?.release(task.type === DELIVERY_TASK_TYPE ? deliveryScope(task.tenantId) : task.tenantId, task.taskId)],
    ['fairness', async () => deps.fairness && leaveRunning(deps.fairness, task)],
  ];
  let complete = true;
  for (const [step, run] of steps) {
    try {
      await run();
    } catch (error) {
      complete = false;
      onError(step, error);
    }
  }
  if (!complete) return false;
  try {
    await deps.tasks.settle(task.taskId);
    return true;
  } catch (error) {
    onError('settle', error);
    return false;
  }
};
