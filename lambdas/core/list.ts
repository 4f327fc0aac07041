import { ValidationError } from './errors.ts';
import { TaskStatus, type Principal, type TaskSummary, toTaskSummary } from './model.ts';
import type { TaskStore } from './ports.ts';
import { parseBoundedInt } from './read.ts';

/** Page size bounds of the listing. */
export const LIST_PAGE = { default: 20, max: 100 } as const;

/** A page of a tenant's tasks, newest first. */
export interface TaskList {
  readonly items: readonly TaskSummary[];
  readonly nextCursor?: string;
}

const STATUSES = new Set<string>(Object.values(TaskStatus));

/**
 * `GET /v1/tasks?status=&limit=&cursor=`: the caller's tasks, newest first. The cursor is opaque
 * and bound to the tenant: one minted for another tenant is rejected.
 */
export const listTasks = async (tasks: TaskStore, principal: Principal, query: { status?: string; limit?: string; cursor?: string }): Promise<TaskList> => {
  const limit = Math.max(1, parseBoundedInt('limit', query.limit, LIST_PAGE.default, LIST_PAGE.max));
  if (query.status !== undefined && !STATUSES.has(query.status)) {
    throw new ValidationError(`status must be one of ${[...STATUSES].join(', ')}.`);
  }
  if (query.cursor !== undefined && (query.cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(query.cursor))) throw new ValidationError('cursor is invalid.');
  const page = await tasks.listByTenant(principal.tenantId, {
    limit,
    ...(query.status ? { status: query.status as TaskStatus } : {}),
    ...(query.cursor ? { cursor: query.cursor } : {}),
  });
  const visible = principal.taskIds ? page.items.filter((task) => principal.taskIds!.includes(task.taskId)) : page.items;
  return {
    items: visible.map(toTaskSummary),
    ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
  };
};
