import { findTaskDefinition } from '../tasks/registry.ts';
import { maskFields, tenantMaskKey, type MaskMode } from './masking.ts';
import type { TaskEventDetail, TaskRecord } from './model.ts';
import type { NdjsonSink } from './ports.ts';

/** One lifecycle event as it arrives from the bus. */
export interface LifecycleEvent {
  readonly id: string;
  readonly detailType: string;
  readonly time: string;
  readonly detail: TaskEventDetail;
}


/** Reads many tasks at once. */
export interface TaskBatchReader {
  /** The tasks with these ids that exist, by id (one call for a whole batch). */
  getMany(taskIds: readonly string[]): Promise<ReadonlyMap<string, TaskRecord>>;
}

/** Dependencies of the analytics export. */
export interface AnalyticsDeps {
  readonly tasks: TaskBatchReader;
  /** Where batches go, as date-partitioned NDJSON objects. */
  readonly sink: NdjsonSink;
  readonly masterKey: () => Promise<string>;
  readonly mode: MaskMode;
}

/** The object key of a batch: `events/dt=YYYY-MM-DD/hour=HH/<first event id>.ndjson`. */
export const batchKey = (time: string, firstEventId: string): string => {
  const date = new Date(time);
  const iso = (Number.isNaN(date.getTime()) ? new Date() : date).toISOString();
  return `events/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/${firstEventId}.ndjson`;
};

/**
 * Exports lifecycle events for analytics: each event joined with its task (read for the whole batch at once; timings, attempts,
 * input, result, error), with the task type's declared sensitive fields keyed-hashed under the
 * tenant's own key (or dropped), one NDJSON line per event, one object per batch. The object key
 * derives from the batch, so a redelivered batch overwrites instead of duplicating.
 */
export const exportLifecycleEvents = async (deps: AnalyticsDeps, events: readonly LifecycleEvent[]): Promise<string | undefined> => {
  if (events.length === 0) return undefined;
  const master = await deps.masterKey();
  const tasks = await deps.tasks.getMany(events.map((event) => event.detail.taskId));
  const lines: string[] = [];
  for (const event of events) {
    const task = tasks.get(event.detail.taskId);
    const definition = task ? findTaskDefinition(task.type) : undefined;
    const row = {
      eventId: event.id,
      event: event.detailType,
      time: event.time,
      taskId: event.detail.taskId,
      tenantId: event.detail.tenantId,
      type: event.detail.type,
      class: event.detail.class,
      ...(event.detail.sessionId ? { sessionId: event.detail.sessionId } : {}),
      status: task?.status ?? event.detail.status ?? null,
      attempts: task?.attempts ?? null,
      createdAt: task?.createdAt ?? null,
      startedAt: task?.startedAt ?? null,
      finishedAt: task?.finishedAt ?? null,
      durationMs: task?.startedAt && task.finishedAt ? Date.parse(task.finishedAt) - Date.parse(task.startedAt) : null,
      progressEntries: task?.progressSeq ?? null,
      input: task?.input ?? null,
      result: task?.result ?? null,
      error: task?.error ?? null,
    };
    lines.push(JSON.stringify(maskFields(row, definition?.sensitiveFields ?? ['input', 'result'], deps.mode, tenantMaskKey(master, event.detail.tenantId))));
  }
  const key = batchKey(events[0]!.time, events[0]!.id);
  await deps.sink.write(key, lines.join('\n') + '\n');
  return key;
};
