import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoTaskStore } from '../../lambdas/store/task-store.ts';
import { startLocalDynamo, TEST_CREDENTIALS, type LocalDynamo } from '../support/local-dynamo.ts';
import { taskRecord } from '../support/tasks.ts';

/**
 * A progress write is one DynamoDB call (a transaction of the entry and the task's high-water mark)
 * that keeps its fence: a cancelled task, or a worker whose lease is gone, writes nothing and hears
 * `lease-lost`.
 */
describe('DynamoTaskStore.appendProgress: one call per entry, fenced by status and lease', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  let tasks: DynamoTaskStore;
  /** Every HTTP call the store made (operation names), retries included. */
  const calls: string[] = [];

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(String(context.commandName).replace(/Command$/, ''));
        return next(args);
      },
      { step: 'deserialize', name: 'recordCalls' },
    );
    tasks = new DynamoTaskStore(dynamo.tasksTable, DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }));
  });
  afterAll(async () => {
    client?.destroy();
    await dynamo?.stop();
  });
  beforeEach(() => {
    calls.length = 0;
  });

  /** A task claimed by worker `w1`. */
  const running = async () => {
    const task = taskRecord();
    await tasks.create(task);
    await tasks.claim(task.taskId, 'w1', Date.now() + 60_000, new Date().toISOString());
    calls.length = 0;
    return task.taskId;
  };
  const entry = (seq: number) => ({ seq, data: { text: `t${seq}` }, at: new Date(1_800_000_000_000 + seq).toISOString() });

  it('writes the entry and the task high-water mark with exactly one call per entry', async () => {
    // Prepare
    const taskId = await running();

    // Act
    const outcomes = [await tasks.appendProgress(taskId, 'w1', entry(1)), await tasks.appendProgress(taskId, 'w1', entry(2))];

    // Assess
    expect(outcomes).toEqual(['ok', 'ok']);
    expect(calls).toEqual(['TransactWriteItems', 'TransactWriteItems']);
    expect(await tasks.listProgress(taskId, 0, 10)).toEqual([entry(1), entry(2)]);
    expect(await tasks.get(taskId)).toMatchObject({ progressSeq: 2, updatedAt: entry(2).at });
  });

  it('answers lease-lost after a cancel, in one call, and writes no entry', async () => {
    // Prepare
    const taskId = await running();
    await tasks.appendProgress(taskId, 'w1', entry(1));
    await tasks.cancel(taskId, new Date().toISOString());
    calls.length = 0;

    // Act
    const outcome = await tasks.appendProgress(taskId, 'w1', entry(2));

    // Assess
    expect(outcome).toBe('lease-lost');
    expect(calls).toEqual(['TransactWriteItems']);
    expect(await tasks.listProgress(taskId, 0, 10)).toEqual([entry(1)]);
    expect(await tasks.get(taskId)).toMatchObject({ status: 'cancelled', progressSeq: 1 });
  });

  it('answers lease-lost to a worker whose lease another worker took over, and keeps that worker\'s entry', async () => {
    // Prepare: w1's lease ran out, w2 claimed the task and wrote seq 1
    const task = taskRecord();
    await tasks.create(task);
    await tasks.claim(task.taskId, 'w1', Date.now() - 1, new Date().toISOString());
    await tasks.claim(task.taskId, 'w2', Date.now() + 60_000, new Date().toISOString());
    await tasks.appendProgress(task.taskId, 'w2', { ...entry(1), data: 'from w2' });

    // Act
    const outcome = await tasks.appendProgress(task.taskId, 'w1', { ...entry(1), data: 'from w1' });

    // Assess
    expect(outcome).toBe('lease-lost');
    expect((await tasks.listProgress(task.taskId, 0, 10)).map((stored) => stored.data)).toEqual(['from w2']);
  });

  it('treats a resend of a write that already committed as written, not as a lost lease', async () => {
    // Prepare: the write committed, but (say) its answer was lost and the call is made again
    const taskId = await running();
    await tasks.appendProgress(taskId, 'w1', entry(1));

    // Act
    const resent = await tasks.appendProgress(taskId, 'w1', entry(1));

    // Assess
    expect(resent).toBe('ok');
    expect(await tasks.listProgress(taskId, 0, 10)).toEqual([entry(1)]);
  });
});
