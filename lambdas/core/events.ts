import { ulid } from './ids.ts';
import type { TaskEventDetail, TaskRecord } from './model.ts';

/** The detail of a lifecycle event about a task: small, one fact, a fresh id for deduplication. */
export const lifecycleEvent = (task: TaskRecord, extra: Partial<TaskEventDetail> = {}, now: number = Date.now()): TaskEventDetail => ({
  eventId: `evt_${ulid(now)}`,
  taskId: task.taskId,
  tenantId: task.tenantId,
  type: task.type,
  class: task.class,
  ...(task.sessionId !== undefined ? { sessionId: task.sessionId } : {}),
  ...extra,
});
