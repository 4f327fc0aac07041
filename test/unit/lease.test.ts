import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeTask } from '../../lambdas/core/execute.ts';
import { DynamoTaskStore } from '../../lambdas/store/task-store.ts';
import { startLocalDynamo, type LocalDynamo } from '../support/local-dynamo.ts';
import { taskRecord } from '../support/tasks.ts';
import { RecordingPublisher, silentLogger } from '../support/recording-publisher.ts';

const silent = silentLogger;
const events = new RecordingPublisher();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('worker leases are short and renewed while the task runs', () => {
  let dynamo: LocalDynamo;
  let tasks: DynamoTaskStore;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    tasks = new DynamoTaskStore(dynamo.tasksTable, dynamo.docClient);
  });
  afterAll(async () => dynamo?.stop());

  const options = (owner: string) => ({ owner, remainingMs: () => 60_000, safetyMarginMs: 1_000, progressIntervalMs: 50, leaseMs: 600 });

  it('keeps a task that runs far longer than one lease, and nobody else can claim it meanwhile', async () => {
    // Prepare: a simulated completion of ~2 s, five times the lease
    const task = taskRecord({ input: { prompt: 'a long one', maxTokens: 80, model: 'sim-1' } });
    await tasks.create(task);
    // Act
    const running = executeTask({ tasks, events, logger: silent }, task.taskId, options('w1'));
    await sleep(1_200);
    const stolen = await tasks.claim(task.taskId, 'w2', Date.now() + 600, new Date().toISOString());
    const outcome = await running;
    // Assess
    expect(stolen).toBeUndefined();
    expect(outcome).toMatchObject({ kind: 'done', result: 'succeeded' });
    expect((await tasks.get(task.taskId))?.attempts).toBe(1);
  });

  it('a dead worker\'s lease runs out after one lease length, so the task can be taken over', async () => {
    // Prepare: a worker claimed with a short lease and died (no renewals)
    const task = taskRecord();
    await tasks.create(task);
    await tasks.claim(task.taskId, 'dead', Date.now() + 600, new Date().toISOString());
    // Act
    const early = await tasks.claim(task.taskId, 'w2', Date.now() + 600, new Date().toISOString());
    await sleep(700);
    const later = await tasks.claim(task.taskId, 'w3', Date.now() + 600, new Date().toISOString());
    // Assess
    expect(early).toBeUndefined();
    expect(later?.leaseOwner).toBe('w3');
  });

  it('aborts the attempt at its next renewal when the task was cancelled', async () => {
    // Prepare
    const task = taskRecord({ input: { prompt: 'cancel me', maxTokens: 200, model: 'sim-1' } });
    await tasks.create(task);
    // Act
    const running = executeTask({ tasks, events, logger: silent }, task.taskId, options('w1'));
    await sleep(400);
    await tasks.cancel(task.taskId, new Date().toISOString());
    const began = Date.now();
    const outcome = await running;
    // Assess
    expect(outcome).toMatchObject({ kind: 'done', result: 'cancelled' });
    expect(Date.now() - began).toBeLessThan(3_000);
  });
});
