import * as z from 'zod/mini';
import { TaskStatus, toTaskSummary } from '../core/model.ts';
import type { NdjsonSink, TaskStore } from '../core/ports.ts';
import { EXPORT_TASK_TYPE, exportKey } from '../core/export-object.ts';
import { defineTask } from './definition.ts';

/** Bounds of one export. */
export const EXPORT_LIMITS = { defaultTasks: 10_000, maxTasks: 100_000, pageSize: 100 } as const;

/** What the export reads and writes through (set by the worker that runs it). */
export interface ExportDeps {
  readonly tasks: Pick<TaskStore, 'listByTenant'>;
  /** One NDJSON object per export task (S3 on AWS and locally). */
  readonly sink: NdjsonSink;
  /** Name of the bucket, reported in the result. */
  readonly bucket: string;
}

let deps: (() => ExportDeps) | undefined;

/** Wires the export to its stores (the batch worker does; tests pass their own). */
export const setExportDeps = (factory: () => ExportDeps): void => {
  deps = factory;
};

/** The stack gave this worker no exports bucket. Not retried: a configuration error. */
export class ExportNotConfiguredError extends Error {
  public readonly retryable = false;
  public constructor() {
    super('Task exports are not configured on this worker (no exports bucket).');
    this.name = 'ExportNotConfiguredError';
  }
}

const ExportInput = z.strictObject({
  status: z.optional(z.enum(Object.values(TaskStatus) as [TaskStatus, ...TaskStatus[]]).check(z.describe('Export only tasks in this status.'))),
  limit: z.optional(
    z.number().check(z.int(), z.minimum(1), z.maximum(EXPORT_LIMITS.maxTasks), z.describe(`Most tasks to export, newest first. Default ${EXPORT_LIMITS.defaultTasks}.`)),
  ),
});
export type ExportInput = z.infer<typeof ExportInput>;

/** Progress of an export: tasks written so far, and of how many at most. */
export interface ExportProgress {
  readonly done: number;
  readonly total: number;
}

/** Result of an export: where the NDJSON object is and what it holds. */
export interface ExportResult {
  readonly bucket: string;
  readonly key: string;
  readonly tasks: number;
  readonly bytes: number;
}

/** Object key of an export (defined with the download route's reader in core/export-object.ts). */
export { exportKey };

/**
 * `tasks.export` (batch class): the tenant's task history, newest first, as one NDJSON object of
 * task views (status, timings, attempts, errors; never inputs or results) in the exports bucket.
 * Reads page by page, reports `{ done, total }` after each page (a progress bar in the CLI), stops
 * at `ctx.signal`, and is safe to retry: the object key is fixed by the task.
 *
 * @example
 * ```json
 * POST /v1/tasks  { "type": "tasks.export", "input": { "status": "failed", "limit": 5000 } }
 * ```
 */
export const taskExport = defineTask<ExportInput, ExportProgress, ExportResult>({
  type: EXPORT_TASK_TYPE,
  class: 'batch',
  input: ExportInput,
  timeoutSeconds: 600,
  retry: { maxAttempts: 3 },
  ordering: 'none',
  sensitiveFields: [],
  run: async (input, ctx) => {
    if (!deps) throw new ExportNotConfiguredError();
    const { tasks, sink, bucket } = deps();
    const total = input.limit ?? EXPORT_LIMITS.defaultTasks;
    const lines: string[] = [];
    let cursor: string | undefined;
    do {
      ctx.signal.throwIfAborted();
      const page = await tasks.listByTenant(ctx.tenantId, {
        limit: Math.min(EXPORT_LIMITS.pageSize, total - lines.length),
        ...(input.status ? { status: input.status } : {}),
        ...(cursor ? { cursor } : {}),
      });
      for (const task of page.items) lines.push(JSON.stringify(toTaskSummary(task)));
      cursor = page.nextCursor;
      await ctx.progress({ done: lines.length, total: cursor && lines.length < total ? total : lines.length });
    } while (cursor && lines.length < total);
    const ndjson = lines.length ? `${lines.join('\n')}\n` : '';
    const key = exportKey(ctx.tenantId, ctx.taskId);
    ctx.signal.throwIfAborted();
    await sink.write(key, ndjson);
    return { bucket, key, tasks: lines.length, bytes: Buffer.byteLength(ndjson) };
  },
});
