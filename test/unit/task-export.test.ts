import { describe, expect, it } from 'vitest';
import type { TaskRecord, TaskStatus } from '../../lambdas/core/model.ts';
import { EXPORT_LIMITS, ExportNotConfiguredError, setExportDeps, taskExport, type ExportProgress } from '../../lambdas/tasks/task-export.ts';
import { silentLogger } from '../support/recording-publisher.ts';

/** A tenant's tasks, newest first, served in pages with opaque cursors as the task store does. */
const fakeLister = (tasks: readonly TaskRecord[]) => {
  const calls: { tenantId: string; limit: number; status?: TaskStatus; cursor?: string }[] = [];
  return {
    calls,
    listByTenant: async (tenantId: string, options: { limit: number; status?: TaskStatus; cursor?: string }) => {
      calls.push({ tenantId, ...options });
      const matching = tasks.filter((task) => task.tenantId === tenantId && (!options.status || task.status === options.status));
      const start = options.cursor ? Number(options.cursor) : 0;
      const items = matching.slice(start, start + options.limit);
      const next = start + items.length;
      return { items, ...(next < matching.length ? { nextCursor: String(next) } : {}) };
    },
  };
};

const task = (i: number, tenantId = 'ten_a', status: TaskStatus = 'succeeded'): TaskRecord => ({
  taskId: `tsk_${String(i).padStart(4, '0')}`,
  tenantId,
  type: 'completion',
  class: 'interactive',
  status,
  input: { prompt: `private ${i}` },
  result: { text: `answer ${i}` },
  attempts: 1,
  progressSeq: 2,
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-01T00:00:01.000Z',
});

const runExport = async (input: { status?: TaskStatus; limit?: number }, signal = new AbortController().signal) => {
  const progress: ExportProgress[] = [];
  const result = await taskExport.run(input, { taskId: 'tsk_export', tenantId: 'ten_a', attempt: 1, signal, logger: silentLogger, previous: [], progress: async (data) => void progress.push(data) });
  return { result, progress };
};

describe('tasks.export', () => {
  it('pages through the tenant\u2019s tasks up to the limit, reports done/total per page and writes one object at a fixed key', async () => {
    // Prepare
    const lister = fakeLister([...Array.from({ length: 250 }, (_, i) => task(i)), task(900, 'ten_b')]);
    const written: { key: string; body: string }[] = [];
    setExportDeps(() => ({ tasks: lister, sink: { write: async (key, body) => void written.push({ key, body }) }, bucket: 'exports-bucket' }));
    // Act
    const all = await runExport({});
    const capped = await runExport({ limit: 120 });
    // Assess
    expect(all.result).toMatchObject({ bucket: 'exports-bucket', key: 'exports/ten_a/tsk_export.ndjson', tasks: 250 });
    expect(all.progress).toEqual([
      { done: 100, total: EXPORT_LIMITS.defaultTasks },
      { done: 200, total: EXPORT_LIMITS.defaultTasks },
      { done: 250, total: 250 },
    ]);
    expect(capped.result.tasks).toBe(120);
    expect(capped.progress.at(-1)).toEqual({ done: 120, total: 120 });
    expect(lister.calls.every((call) => call.tenantId === 'ten_a' && call.limit <= EXPORT_LIMITS.pageSize)).toBe(true);
    const rows = written[0]!.body.trim().split('\n').map((line) => JSON.parse(line));
    expect(rows).toHaveLength(250);
    expect(written[0]!.body).not.toContain('private');
    expect(written[0]!.body).not.toContain('answer');
    expect(all.result.bytes).toBe(Buffer.byteLength(written[0]!.body));
  });

  it('passes the status filter on, and exports an empty object when nothing matches', async () => {
    // Prepare
    const lister = fakeLister([task(1), task(2, 'ten_a', 'failed')]);
    const written: string[] = [];
    setExportDeps(() => ({ tasks: lister, sink: { write: async (_key, body) => void written.push(body) }, bucket: 'b' }));
    // Act
    const failed = await runExport({ status: 'failed' });
    const cancelled = await runExport({ status: 'cancelled' });
    // Assess
    expect(failed.result.tasks).toBe(1);
    expect(JSON.parse(written[0]!).status).toBe('failed');
    expect(cancelled.result).toMatchObject({ tasks: 0, bytes: 0 });
    expect(lister.calls.map((call) => call.status)).toEqual(['failed', 'cancelled']);
  });

  it('stops at ctx.signal without writing', async () => {
    // Prepare
    const controller = new AbortController();
    const lister = fakeLister(Array.from({ length: 300 }, (_, i) => task(i)));
    const written: string[] = [];
    setExportDeps(() => ({
      tasks: { listByTenant: async (...args: Parameters<typeof lister.listByTenant>) => { controller.abort(new Error('cancelled')); return lister.listByTenant(...args); } },
      sink: { write: async (_key, body) => void written.push(body) },
      bucket: 'b',
    }));
    // Act / Assess
    await expect(runExport({}, controller.signal)).rejects.toThrow('cancelled');
    expect(written).toEqual([]);
  });

  it('validates its input: limit within bounds, known statuses, no unknown keys', () => {
    // Act / Assess
    expect(taskExport.input.safeParse({ limit: EXPORT_LIMITS.maxTasks }).success).toBe(true);
    expect(taskExport.input.safeParse({ limit: EXPORT_LIMITS.maxTasks + 1 }).success).toBe(false);
    expect(taskExport.input.safeParse({ limit: 0 }).success).toBe(false);
    expect(taskExport.input.safeParse({ status: 'done' }).success).toBe(false);
    expect(taskExport.input.safeParse({ bucket: 'elsewhere' }).success).toBe(false);
    expect(ExportNotConfiguredError.prototype).toBeInstanceOf(Error);
  });
});
