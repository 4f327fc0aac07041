import type { SigningKey } from './client-token.ts';
import { openCursor, sealCursor } from './cursor.ts';
import { ValidationError } from './errors.ts';
import { isTaskId } from './ids.ts';
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
 * A task-scoped token's listing: only its own tasks (read one by one, at most 50), newest first
 * (task ids are ULIDs). Never reads the tenant's index, so neither items nor cursor can reveal
 * another task.
 */
const listScoped = async (tasks: TaskStore, key: SigningKey, principal: Principal, taskIds: readonly string[], limit: number, status: string | undefined, cursor: string | undefined): Promise<TaskList> => {
  const after = cursor === undefined ? undefined : (await openCursor(key, principal.tenantId, 'tasks', cursor)).after;
  if (cursor !== undefined && !isTaskId(after)) throw new ValidationError('cursor is invalid.');
  const ids = [...new Set(taskIds)].filter((id) => after === undefined || id < after).sort().reverse();
  const found = (await Promise.all(ids.map((id) => tasks.get(id)))).filter(
    (task) => task !== undefined && task.tenantId === principal.tenantId && (status === undefined || task.status === status),
  ) as NonNullable<Awaited<ReturnType<TaskStore['get']>>>[];
  const page = found.slice(0, limit);
  const more = found.length > limit;
  return {
    items: page.map(toTaskSummary),
    ...(more ? { nextCursor: await sealCursor(key, principal.tenantId, 'tasks', { after: page[page.length - 1]!.taskId }) } : {}),
  };
};

/**
 * `GET /v1/tasks?status=&limit=&cursor=`: the caller's tasks, newest first. The cursor is opaque
 * and tamper-proof (AES-256-GCM, see `cursor.ts`) and bound to the tenant: one minted for another
 * tenant, or altered, is a `400`. A task-scoped client token lists only its own tasks.
 */
export const listTasks = async (
  tasks: TaskStore,
  key: SigningKey,
  principal: Principal,
  query: { status?: string; limit?: string; cursor?: string },
): Promise<TaskList> => {
  const limit = Math.max(1, parseBoundedInt('limit', query.limit, LIST_PAGE.default, LIST_PAGE.max));
  if (query.status !== undefined && !STATUSES.has(query.status)) {
    throw new ValidationError(`status must be one of ${[...STATUSES].join(', ')}.`);
  }
  const cursor = query.cursor;
  if (principal.taskIds !== undefined) return listScoped(tasks, key, principal, principal.taskIds, limit, query.status, cursor);
  const start = cursor === undefined ? undefined : (await openCursor(key, principal.tenantId, 'tenant', cursor)).store;
  if (cursor !== undefined && typeof start !== 'string') throw new ValidationError('cursor is invalid.');
  const page = await tasks.listByTenant(principal.tenantId, {
    limit,
    ...(query.status ? { status: query.status as TaskStatus } : {}),
    ...(start ? { cursor: start } : {}),
  });
  return {
    items: page.items.map(toTaskSummary),
    ...(page.nextCursor ? { nextCursor: await sealCursor(key, principal.tenantId, 'tenant', { store: page.nextCursor }) } : {}),
  };
};
