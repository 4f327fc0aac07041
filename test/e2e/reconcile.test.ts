import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTaskId } from '../../lambdas/core/ids.ts';
import { DynamoTaskStore } from '../../lambdas/store/task-store.ts';
import { call, startHarness, type Harness } from './harness.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('reconciler: no acknowledged task is ever lost', () => {
  let harness: Harness;
  let tasks: DynamoTaskStore;
  beforeAll(async () => {
    harness = await startHarness();
    const table = harness.runtime.template.ofType('AWS::DynamoDB::Table').find(([id]) => id.startsWith('StorageTasks'))![0];
    tasks = new DynamoTaskStore(harness.runtime.template.resolveString({ Ref: table }, 'test'), DynamoDBDocumentClient.from(harness.runtime.dynamo.client));
  });
  afterAll(async () => harness?.stop());

  const waitForStatus = async (taskId: string, apiKey: string) => {
    for (let i = 0; i < 100; i++) {
      const read = await call(`${harness.runtime.endpoints.httpApi}/v1/tasks/${taskId}`, { apiKey });
      if (['succeeded', 'failed', 'cancelled'].includes(read.body.status)) return read.body;
      await sleep(100);
    }
    throw new Error(`task ${taskId} did not finish`);
  };

  it('re-dispatches a task whose event was lost and one whose worker died holding the lease', async () => {
    // Prepare: (1) a recorded task whose Task Submitted never reached the bus; (2) a task a worker
    // claimed and then died with (lease expired, one progress entry written).
    const { devTenant } = harness.runtime.endpoints;
    const old = new Date(Date.now() - 10 * 60_000).toISOString();
    const input = { prompt: 'do not lose me', maxTokens: 12, model: 'sim-fast' };
    const lost = { taskId: newTaskId(), tenantId: devTenant.id, type: 'completion', class: 'interactive' as const, status: 'queued' as const, input, attempts: 0, progressSeq: 0, createdAt: old, updatedAt: old };
    const orphaned = { ...lost, taskId: newTaskId() };
    await tasks.create(lost);
    await tasks.create(orphaned);
    await tasks.claim(orphaned.taskId, 'dead-worker', Date.now() - 1_000, old);
    const schedule = harness.runtime.eventBridge.schedules.find((rule) => rule.name.includes('Reconciler'));
    // Act
    harness.runtime.eventBridge.fire(schedule!.name);
    const [first, second] = await Promise.all([waitForStatus(lost.taskId, devTenant.apiKey), waitForStatus(orphaned.taskId, devTenant.apiKey)]);
    // Assess
    expect(schedule).toBeDefined();
    expect(first).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(second).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('leaves healthy tasks alone (nothing overdue, nothing re-dispatched)', async () => {
    // Prepare
    const { httpApi, devTenant } = harness.runtime.endpoints;
    const { body: task } = await call(`${httpApi}/v1/tasks`, { apiKey: devTenant.apiKey, body: { type: 'completion', input: { prompt: 'fine', maxTokens: 5, model: 'sim-fast' } } });
    await waitForStatus(task.taskId, devTenant.apiKey);
    // Act
    const overdue = await tasks.listDue(Date.now(), 100);
    // Assess
    expect(overdue.map((due) => due.taskId)).not.toContain(task.taskId);
  });
});
