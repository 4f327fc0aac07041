import type { AdmissionStore } from './admission.ts';
import { ConflictError } from './errors.ts';
import { lifecycleEvent } from './events.ts';
import { advanceSession, type SessionStore } from './session.ts';
import { DetailType, isTerminal, type Principal, type TaskView, toTaskView } from './model.ts';
import type { EventPublisher, TaskStore } from './ports.ts';
import { getVisibleTask } from './read.ts';

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
  const task = await getVisibleTask(deps.tasks, principal, taskId);
  if (task.status === 'cancelled') return { task: toTaskView(task), changed: false };
  if (isTerminal(task.status)) throw new ConflictError(`The task already ${task.status}; it cannot be cancelled.`);
  const cancelled = await deps.tasks.cancel(task.taskId, new Date().toISOString());
  if (!cancelled) return cancelTask(deps, principal, taskId); // lost a race with the worker: decide again
  await deps.events.publish(DetailType.cancelled, lifecycleEvent(cancelled, { status: 'cancelled' }));
  await deps.admission?.release(cancelled.tenantId, cancelled.taskId).catch(() => undefined);
  if (deps.sessions) await advanceSession(deps.sessions, deps.tasks, deps.events, cancelled).catch(() => undefined);
  await deps.notify(cancelled.taskId).catch(() => undefined);
  return { task: toTaskView(cancelled), changed: true };
};
