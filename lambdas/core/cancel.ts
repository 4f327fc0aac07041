import type { AdmissionStore } from './admission.ts';
import { ConflictError } from './errors.ts';
import type { SessionStore } from './session.ts';
import { settleTerminal, type SettleDeps } from './settle.ts';
import { isTerminal, type Principal, type TaskView, toTaskView } from './model.ts';
import type { EventPublisher, TaskStore } from './ports.ts';
import { getVisibleTask } from './read.ts';
import { assertMayChange } from './scope.ts';

/** Dependencies of cancellation. */
export interface CancelDeps {
  readonly tasks: TaskStore;
  readonly events: EventPublisher;
  /** Pushes the new state to subscribers; failures never fail the cancel. */
  readonly notify: (taskId: string) => Promise<void>;
  /** Frees the task's admission slot. */
  readonly admission?: AdmissionStore;
  /** Wakes the next task of the session. */
  readonly sessions?: SessionStore;
  /** Frees the task's running slot in its class. */
  readonly fairness?: SettleDeps['fairness'];
}

/**
 * Cooperative cancel. A queued task becomes `cancelled` and never starts (its worker finds it
 * terminal); a running one becomes `cancelled` at once and its worker stops at its next progress
 * write, which fails the lease condition. Cancelling a cancelled task is a no-op; a task that
 * already succeeded or failed answers `409`.
 *
 * @returns the task and whether this call changed it.
 */
export const cancelTask = async (deps: CancelDeps, principal: Principal, taskId: unknown): Promise<{ task: TaskView; changed: boolean }> => {
  assertMayChange(principal, 'cancel tasks');
  const task = await getVisibleTask(deps.tasks, principal, taskId);
  if (task.status === 'cancelled') return { task: toTaskView(task), changed: false };
  if (isTerminal(task.status)) throw new ConflictError(`The task already ${task.status}; it cannot be cancelled.`);
  const cancelled = await deps.tasks.cancel(task.taskId, new Date().toISOString());
  if (!cancelled) return cancelTask(deps, principal, taskId); // lost a race with the worker: decide again
  // The Task Cancelled event, the session's next task, the slots; the reconciler finishes whatever fails.
  await settleTerminal(deps, cancelled);
  await deps.notify(cancelled.taskId).catch(() => undefined);
  return { task: toTaskView(cancelled), changed: true };
};
