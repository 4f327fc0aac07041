import type { AdmissionStore, ScopeState } from './admission.ts';
import { lifecycleEvent } from './events.ts';
import { DetailType, isTerminal, type TaskRecord } from './model.ts';
import type { EventPublisher, TaskStore } from './ports.ts';

/**
 * Tasks waiting for a running slot of their tenant in a workload class. The lot keeps how many are
 * parked where releasing a running slot reads it back ({@link ScopeState.parked}): counted before
 * a task is parked and after it is unparked, so the count errs only high.
 */
export interface ParkingLot {
  /** Parks a task until a slot frees up; idempotent. */
  park(tenantId: string, workloadClass: string, taskId: string): Promise<void>;
  /** Removes a parked task; true only for the one caller that removed it. */
  unpark(tenantId: string, workloadClass: string, taskId: string): Promise<boolean>;
  /** The oldest parked tasks (task ids are time-ordered ULIDs), at most `limit`. */
  parked(tenantId: string, workloadClass: string, limit: number): Promise<string[]>;
}

/** Dependencies of execution fairness. */
export interface FairnessDeps {
  /**
   * Running slots, counted like admission (a conditional counter plus one item per task, repaired
   * on refusal), in a scope per tenant and class: see {@link runningScope}.
   */
  readonly slots: AdmissionStore;
  readonly lot: ParkingLot;
  readonly tasks: TaskStore;
  readonly events: EventPublisher;
  /** How many tasks of one tenant may run at once in this class. */
  readonly limit: number;
}

/** The slot scope of a tenant in a workload class (kept apart from the tenant's in-flight admission). */
export const runningScope = (tenantId: string, workloadClass: string): string => `${tenantId}#RUN#${workloadClass}`;

/**
 * Execution fairness between tenants of a workload class. Before a worker claims a task it takes
 * one of the tenant's running slots in the class; a tenant at its limit has the task parked (its
 * queue message is deleted), so one tenant's backlog never occupies the class's workers while
 * another tenant's task waits behind it. When a task of the tenant stops running, its slot is freed
 * and the oldest parked task is woken by emitting `Task Submitted` for it again.
 *
 * Slots are taken with a conditional write, so the limit is strict. Lost wake-ups are closed from
 * both sides: a task tries once more after parking (a slot may have freed meanwhile), and a parked
 * task stays in the reconciliation index, so the reconciler re-dispatches it if every wake-up was
 * lost. A leaked slot (a worker died before releasing) is dropped by the repair that runs on every
 * refusal, so it never lowers a tenant's share for long.
 *
 * @example
 * ```ts
 * if (!(await enterRunning(deps, task))) return; // parked; woken when a task of the tenant ends
 * ```
 */
export const enterRunning = async (deps: FairnessDeps, task: TaskRecord): Promise<boolean> => {
  // A running task whose worker died still holds the slot it took; its next worker keeps it.
  if (task.status === 'running') return true;
  if (await takeSlot(deps, task)) return true;
  await deps.lot.park(task.tenantId, task.class, task.taskId);
  // A slot may have been freed between the refusal and the parking, by a task that then found
  // nobody to wake: try once more and, if it works, take the task back out of the lot.
  if (!(await deps.slots.tryAdmit(runningScope(task.tenantId, task.class), task.taskId, deps.limit))) return false;
  await deps.lot.unpark(task.tenantId, task.class, task.taskId);
  return true;
};

/**
 * A task stopped running (it ended, or gave its lease back to retry later): free its slot and
 * wake the oldest parked task of the tenant that is still queued. Returns the woken task's id.
 */
export const leaveRunning = async (deps: Omit<FairnessDeps, 'limit'>, task: Pick<TaskRecord, 'taskId' | 'tenantId' | 'class'>): Promise<string | undefined> => {
  const after = await deps.slots.release(runningScope(task.tenantId, task.class), task.taskId);
  // Nobody parked (known from the release itself): no lot to read. A wake-up missed because a task
  // was parked before the count existed is made up by the reconciler.
  if (after?.parked === 0) return undefined;
  return wakeParked(deps, task.tenantId, task.class);
};

/** Wakes the oldest parked task that is still queued; parked tasks that ended meanwhile are cleared on the way. */
export const wakeParked = async (deps: Omit<FairnessDeps, 'limit'>, tenantId: string, workloadClass: TaskRecord['class']): Promise<string | undefined> => {
  for (;;) {
    const parked = await deps.lot.parked(tenantId, workloadClass, 10);
    if (parked.length === 0) return undefined;
    for (const taskId of parked) {
      if (!(await deps.lot.unpark(tenantId, workloadClass, taskId))) continue; // another waker took it
      const task = await deps.tasks.get(taskId);
      if (task?.status !== 'queued') continue; // cancelled while parked, or already running again
      await deps.events.publish(DetailType.submitted, lifecycleEvent(task, { status: 'queued' }));
      return taskId;
    }
  }
};

/** Takes a slot; on refusal repairs the count once (dropping slots of tasks no longer running) and tries again. */
const takeSlot = async (deps: FairnessDeps, task: TaskRecord): Promise<boolean> => {
  const scope = runningScope(task.tenantId, task.class);
  if (await deps.slots.tryAdmit(scope, task.taskId, deps.limit)) return true;
  await deps.slots.repair(scope, (taskIds) => endedAmong(deps.tasks, taskIds));
  return (await deps.slots.tryAdmit(scope, task.taskId, deps.limit)) !== false;
};

/** The slot holders whose tasks have ended (or never existed): their slots leaked. */
export const endedAmong = async (tasks: TaskStore, taskIds: readonly string[]): Promise<ReadonlySet<string>> => {
  const records = await Promise.all(taskIds.map(async (taskId) => [taskId, await tasks.get(taskId)] as const));
  return new Set(records.filter(([, record]) => !record || isTerminal(record.status)).map(([taskId]) => taskId));
};
