import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeTask } from '../../lambdas/core/execute.ts';
import { reconcile } from '../../lambdas/core/reconcile.ts';
import { DynamoTaskStore } from '../../lambdas/store/task-store.ts';
import { simulatedTokens } from '../../lambdas/tasks/models/simulated.ts';
import { startLocalDynamo, type LocalDynamo } from '../support/local-dynamo.ts';
import { taskRecord } from '../support/tasks.ts';
import { RecordingPublisher, silentLogger } from '../support/recording-publisher.ts';

const silent = silentLogger;

describe('executeTask: retries continue, they never repeat delivered progress', () => {
  let dynamo: LocalDynamo;
  let tasks: DynamoTaskStore;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    tasks = new DynamoTaskStore(dynamo.tasksTable, dynamo.docClient);
  });
  afterAll(async () => dynamo?.stop());

  const options = (owner: string) => ({ owner, remainingMs: () => 60_000, safetyMarginMs: 1_000, progressIntervalMs: 5 });

  it('continues from earlier progress so the concatenated progress equals the result', async () => {
    // Prepare: a task whose first attempt wrote 2 entries of real model output, then crashed.
    const input = { prompt: 'continue me', maxTokens: 50, model: 'sim-fast' };
    const tokens = simulatedTokens('sim-fast', input.prompt, input.maxTokens);
    const task = taskRecord({ input, type: 'completion', class: 'interactive' });
    await tasks.create(task);
    const claimed = await tasks.claim(task.taskId, 'crashed-worker', Date.now() - 1, new Date().toISOString());
    expect(claimed?.attempts).toBe(1);
    await tasks.appendProgress(task.taskId, 'crashed-worker', { seq: 1, data: { text: tokens.slice(0, 3).join('') }, at: new Date().toISOString() });
    await tasks.appendProgress(task.taskId, 'crashed-worker', { seq: 2, data: { text: tokens.slice(3, 7).join('') }, at: new Date().toISOString() });
    const events = new RecordingPublisher();

    // Act: the redelivered message reaches another worker; the old lease has expired.
    const outcome = await executeTask({ tasks, events, logger: silent }, task.taskId, options('w2'));

    // Assess
    expect(outcome).toMatchObject({ kind: 'done', result: 'succeeded' });
    const done = await tasks.get(task.taskId);
    const entries = await tasks.listProgress(task.taskId, 0, 1000);
    const streamed = entries.map((entry) => (entry.data as { text: string }).text).join('');
    expect(done?.status).toBe('succeeded');
    expect(done?.attempts).toBe(2);
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, i) => i + 1));
    expect(streamed).toBe((done?.result as { text: string }).text);
    expect(streamed).toBe(tokens.join(''));
    expect(events.events.map((event) => event.detailType)).toEqual(['Task Succeeded']);
  });

  it('a delivery failure never fails the task', async () => {
    // Prepare
    const task = taskRecord({ input: { prompt: 'deliver me', maxTokens: 20, model: 'sim-fast' }, type: 'completion', class: 'interactive' });
    await tasks.create(task);
    const events = new RecordingPublisher();
    // Act
    const outcome = await executeTask(
      {
        tasks,
        events,
        logger: silent,
        live: () => ({
          progress: () => {
            throw new Error('DynamoDB throttled the subscriber query');
          },
          finish: async () => Promise.reject(new Error('PostToConnection failed')),
          close: async () => Promise.reject(new Error('PostToConnection failed')),
        }),
      },
      task.taskId,
      options('w3'),
    );
    // Assess
    expect(outcome).toMatchObject({ kind: 'done', result: 'succeeded' });
    expect((await tasks.get(task.taskId))?.status).toBe('succeeded');
    expect(events.events.map((event) => event.detailType)).toEqual(['Task Started', 'Task Succeeded']);
  });
});

describe('reconcile: overdue tasks are re-dispatched with backoff', () => {
  let dynamo: LocalDynamo;
  let tasks: DynamoTaskStore;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    tasks = new DynamoTaskStore(dynamo.tasksTable, dynamo.docClient);
  });
  afterAll(async () => dynamo?.stop());

  it('emits Task Submitted again for an overdue task, then not again until its backoff passes', async () => {
    // Prepare
    const old = new Date(Date.now() - 10 * 60_000).toISOString();
    const task = taskRecord({ createdAt: old, updatedAt: old });
    const fresh = taskRecord();
    await tasks.create(task);
    await tasks.create(fresh);
    const events = new RecordingPublisher();
    // Act
    const first = await reconcile({ tasks, events });
    const second = await reconcile({ tasks, events });
    const later = await reconcile({ tasks, events, now: () => Date.now() + 3 * 60_000 });
    // Assess
    expect(first.redispatched).toEqual([task.taskId]);
    expect(events.events[0]).toMatchObject({ detailType: 'Task Submitted', detail: { taskId: task.taskId, class: 'interactive' } });
    expect(second.redispatched).toEqual([]);
    expect([...later.redispatched].sort()).toEqual([task.taskId, fresh.taskId].sort());
  });

  it('drops terminal tasks from the index', async () => {
    // Prepare
    const old = new Date(Date.now() - 10 * 60_000).toISOString();
    const task = taskRecord({ createdAt: old, updatedAt: old });
    await tasks.create(task);
    await tasks.cancel(task.taskId, new Date().toISOString());
    // Act
    const due = await tasks.listDue(Date.now(), 100);
    // Assess
    expect(due.map((entry) => entry.taskId)).not.toContain(task.taskId);
  });
});

describe('executeTask: timeouts', () => {
  let dynamo: LocalDynamo;
  let tasks: DynamoTaskStore;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    tasks = new DynamoTaskStore(dynamo.tasksTable, dynamo.docClient);
  });
  afterAll(async () => dynamo?.stop());

  it('aborts an attempt through ctx.signal before the invocation runs out, and fails cleanly on the last attempt', async () => {
    // Prepare: the last allowed attempt (2 used), a long generation, 400 ms of budget left.
    const task = taskRecord({ input: { prompt: 'too slow', maxTokens: 2000, model: 'sim-1' }, attempts: 2 });
    await tasks.create(task);
    const events = new RecordingPublisher();
    const started = Date.now();
    // Act
    const outcome = await executeTask({ tasks, events, logger: silent }, task.taskId, {
      owner: 'w-timeout',
      remainingMs: () => 1_400,
      safetyMarginMs: 1_000,
      progressIntervalMs: 50,
    });
    // Assess
    const stored = await tasks.get(task.taskId);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(outcome).toMatchObject({ kind: 'done', result: 'failed', error: { code: 'Timeout' } });
    expect(stored).toMatchObject({ status: 'failed', attempts: 3, error: { code: 'Timeout' } });
    expect(events.events.map((event) => event.detailType)).toEqual(['Task Failed']);
  });

  it('retries a timed-out attempt while attempts remain', async () => {
    const task = taskRecord({ input: { prompt: 'slow once', maxTokens: 2000, model: 'sim-1' } });
    await tasks.create(task);
    const outcome = await executeTask({ tasks, events: new RecordingPublisher(), logger: silent }, task.taskId, {
      owner: 'w-timeout-2',
      remainingMs: () => 1_300,
      safetyMarginMs: 1_000,
      progressIntervalMs: 50,
    });
    expect(outcome).toMatchObject({ kind: 'retry', attempt: 1 });
    expect((await tasks.get(task.taskId))?.status).toBe('queued');
  });
});
