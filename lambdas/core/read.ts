import { isTaskId } from './ids.ts';
import { NotFoundError, ValidationError } from './errors.ts';
import type { Principal, ProgressEntry, TaskRecord } from './model.ts';
import type { TaskStore } from './ports.ts';

/** Whether a principal may see a task: same tenant and, for scoped client tokens, a listed id. */
export const canSee = (principal: Principal, task: Pick<TaskRecord, 'tenantId' | 'taskId'>): boolean =>
  task.tenantId === principal.tenantId && (principal.taskIds === undefined || principal.taskIds.includes(task.taskId));

/**
 * Loads a task the principal may see. Unknown ids, malformed ids and other tenants' tasks all
 * answer the same `404`, so existence never leaks.
 */
export const getVisibleTask = async (tasks: TaskStore, principal: Principal, taskId: unknown): Promise<TaskRecord> => {
  if (!isTaskId(taskId)) throw new NotFoundError();
  const task = await tasks.get(taskId);
  if (!task || !canSee(principal, task)) throw new NotFoundError();
  return task;
};

/** Page size bounds of the events endpoint. */
export const EVENTS_PAGE = { default: 100, max: 1000 } as const;

/** Parses a non-negative integer query parameter within bounds. */
export const parseBoundedInt = (name: string, raw: string | undefined, fallback: number, max: number): number => {
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,10}$/.test(raw)) throw new ValidationError(`${name} must be a non-negative integer.`);
  const value = Number(raw);
  if (value > max) throw new ValidationError(`${name} must be at most ${max}.`);
  return value;
};

/** A page of a task's progress log. */
export interface EventsPage {
  readonly taskId: string;
  readonly items: readonly ProgressEntry[];
  /** Pass as `after` to get the next page; absent when the page reached the current end. */
  readonly nextAfter?: number;
  /** Whether the log can still grow (task not terminal). */
  readonly complete: boolean;
}

/** `GET /v1/tasks/{id}/events?after=N&limit=M`. */
export const listTaskEvents = async (
  tasks: TaskStore,
  principal: Principal,
  taskId: unknown,
  query: { after?: string; limit?: string },
): Promise<{ task: TaskRecord; page: EventsPage }> => {
  const task = await getVisibleTask(tasks, principal, taskId);
  const after = parseBoundedInt('after', query.after, 0, 10_000_000);
  const limit = Math.max(1, parseBoundedInt('limit', query.limit, EVENTS_PAGE.default, EVENTS_PAGE.max));
  const items = (await tasks.listProgress(task.taskId, after, limit)).filter((entry) => entry.seq <= task.progressSeq);
  const last = items.at(-1)?.seq ?? after;
  const terminal = ['succeeded', 'failed', 'cancelled'].includes(task.status);
  return {
    task,
    page: {
      taskId: task.taskId,
      items,
      ...(last < task.progressSeq ? { nextAfter: last } : {}),
      complete: terminal && last >= task.progressSeq,
    },
  };
};
