import { newTaskId } from '../../lambdas/core/ids.ts';
import type { TaskRecord } from '../../lambdas/core/model.ts';

/** A stored task record of type `completion`, queued, with overrides. */
export const taskRecord = (overrides: Partial<TaskRecord> = {}): TaskRecord => {
  const now = new Date().toISOString();
  return {
    taskId: newTaskId(),
    tenantId: 'ten_test',
    type: 'completion',
    class: 'interactive',
    status: 'queued',
    input: { prompt: 'hello' },
    attempts: 0,
    progressSeq: 0,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
};
