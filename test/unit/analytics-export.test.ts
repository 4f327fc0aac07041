import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportLifecycleEvents, type LifecycleEvent } from '../../lambdas/core/analytics.ts';
import { lifecycleEvent } from '../../lambdas/core/events.ts';
import { DynamoTaskStore } from '../../lambdas/store/task-store.ts';
import { startLocalDynamo, type LocalDynamo } from '../support/local-dynamo.ts';
import { taskRecord } from '../support/tasks.ts';
import { recordingClient } from '../support/recording-client.ts';

const recording = recordingClient;

describe('analytics export of a batch of lifecycle events', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
  });
  afterAll(async () => dynamo?.stop());

  it('joins every event of the batch with its task in one read, and still exports events whose task is gone', async () => {
    // Prepare
    const { client, counts } = recording(dynamo.docClient);
    const tasks = new DynamoTaskStore(dynamo.tasksTable, client);
    const stored = [taskRecord({ status: 'succeeded', attempts: 1 }), taskRecord({ status: 'failed', attempts: 2 })];
    for (const task of stored) await tasks.create(task);
    const gone = taskRecord({ status: 'cancelled' });
    const events: LifecycleEvent[] = [...stored, gone].map((task) => ({ id: `id-${task.taskId}`, detailType: 'Task Succeeded', time: new Date().toISOString(), detail: lifecycleEvent(task, { status: task.status }) }));
    const written: { key: string; body: string }[] = [];
    counts.clear();
    // Act
    await exportLifecycleEvents({ tasks, sink: { write: async (key, body) => void written.push({ key, body }) }, masterKey: async () => 'k'.repeat(64), mode: 'drop' }, events);
    // Assess
    expect(Object.fromEntries(counts)).toEqual({ BatchGetCommand: 1 });
    const rows = written[0]!.body.trim().split('\n').map((line) => JSON.parse(line) as { taskId: string; attempts: number | null });
    expect(rows.map((row) => [row.taskId, row.attempts])).toEqual([
      [stored[0]!.taskId, 1],
      [stored[1]!.taskId, 2],
      [gone.taskId, null],
    ]);
  });
});
