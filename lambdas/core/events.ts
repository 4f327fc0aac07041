import { createHash } from 'node:crypto';
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
  ...(task.correlationId !== undefined ? { correlationId: task.correlationId } : {}),
  ...(task.webhooks !== undefined ? { webhooks: task.webhooks } : {}),
  ...extra,
});

/**
 * The id of an event that states a fact which happens once per task (for example that it
 * succeeded): derived from the task and the fact, so an event re-emitted by the reconciler keeps
 * its id and every consumer (webhook deliveries, analytics) sees a duplicate, not a new event.
 */
export const factEventId = (taskId: string, fact: string): string => {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  const digest = createHash('sha256').update(`${taskId}\0${fact}`).digest();
  return `evt_${[...digest.subarray(0, 26)].map((byte) => alphabet[byte % 32]).join('')}`;
};
