import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainSubscription, type DeliveryDeps } from '../../lambdas/core/delivery.ts';
import type { ServerMessage } from '../../lambdas/core/ports.ts';
import { ConnectionKeys } from '../../lambdas/store/keys.ts';
import { DynamoConnectionStore } from '../../lambdas/store/connection-store.ts';
import { DynamoTaskStore } from '../../lambdas/store/task-store.ts';
import { type LocalDynamo, startLocalDynamo } from '../support/local-dynamo.ts';
import { RecordingPusher } from '../support/recording-pusher.ts';
import { taskRecord } from '../support/tasks.ts';

/**
 * Progress delivery (`drainSubscription`) on the real DynamoDB stores (dynalite), with an
 * in-memory push transport: order, exactly-once, terminal status, concurrent drainers, 410s.
 */

const TENANT = 'ten_delivery';
const WORKER = 'worker-1';
let dynamo: LocalDynamo;
let tasks: DynamoTaskStore;
let connections: DynamoConnectionStore;

beforeAll(async () => {
  dynamo = await startLocalDynamo();
  tasks = new DynamoTaskStore(dynamo.tasksTable, dynamo.docClient);
  connections = new DynamoConnectionStore(dynamo.connectionsTable, dynamo.docClient);
});

afterAll(async () => {
  await dynamo?.stop();
});

let connectionCounter = 0;
const newConnectionId = () => `conn-${++connectionCounter}-${Math.random().toString(36).slice(2, 8)}`;

/** A running task with `count` committed progress entries. */
const runningTask = async (count: number) => {
  const task = taskRecord({ tenantId: TENANT });
  await tasks.create(task);
  await tasks.claim(task.taskId, WORKER, Date.now() + 60_000, new Date().toISOString());
  for (let seq = 1; seq <= count; seq++) await append(task.taskId, seq);
  return task;
};
const append = async (taskId: string, seq: number) => {
  expect(await tasks.appendProgress(taskId, WORKER, { seq, data: { text: `t${seq}` }, at: new Date().toISOString() })).toBe('ok');
};
const subscribed = async (taskId: string, cursor: number): Promise<string> => {
  const connectionId = newConnectionId();
  await connections.putConnection({ connectionId, tenantId: TENANT, connectedAt: new Date().toISOString() });
  await connections.subscribe(taskId, connectionId, TENANT, cursor);
  return connectionId;
};
/** Seqs of the entries delivered, whether one per `progress` message or several per `progressBatch`. */
const progressSeqs = (messages: ServerMessage[]): number[] =>
  messages.flatMap((message) => (message.type === 'progress' ? [message.seq] : message.type === 'progressBatch' ? message.entries.map((entry) => entry.seq) : []));
const statuses = (messages: ServerMessage[]) => messages.filter((message) => message.type === 'status');
const deps = (pusher: RecordingPusher): DeliveryDeps => ({ tasks, connections, pusher });

describe('drainSubscription', () => {
  it('pushes the entries after the cursor in order, in one batch, then the terminal status once', async () => {
    // Prepare
    const task = await runningTask(5);
    await tasks.finish(task.taskId, WORKER, { status: 'succeeded', result: { text: 'all' } }, new Date().toISOString());
    const connectionId = await subscribed(task.taskId, 2);
    const pusher = new RecordingPusher();
    // Act
    const outcome = await drainSubscription(deps(pusher), task.taskId, connectionId);
    // Assess
    const messages = pusher.to(connectionId);
    expect(outcome).toBe('done');
    expect(messages).toEqual([
      {
        type: 'progressBatch',
        taskId: task.taskId,
        entries: [
          { seq: 3, data: { text: 't3' } },
          { seq: 4, data: { text: 't4' } },
          { seq: 5, data: { text: 't5' } },
        ],
      },
      { type: 'status', taskId: task.taskId, status: 'succeeded', result: { text: 'all' } },
    ]);
  });

  it('pushes nothing more when drained again', async () => {
    // Prepare
    const task = await runningTask(3);
    await tasks.finish(task.taskId, WORKER, { status: 'succeeded', result: { text: 'r' } }, new Date().toISOString());
    const connectionId = await subscribed(task.taskId, 0);
    const pusher = new RecordingPusher();
    await drainSubscription(deps(pusher), task.taskId, connectionId);
    const afterFirst = pusher.to(connectionId).length;
    // Act
    await drainSubscription(deps(pusher), task.taskId, connectionId);
    await drainSubscription(deps(pusher), task.taskId, connectionId);
    // Assess
    expect(afterFirst).toBe(2); // one batch, one status
    expect(pusher.to(connectionId)).toHaveLength(2);
  });

  it('sends no status while the task runs, and resumes from its cursor as progress grows', async () => {
    // Prepare
    const task = await runningTask(2);
    const connectionId = await subscribed(task.taskId, 0);
    const pusher = new RecordingPusher();
    await drainSubscription(deps(pusher), task.taskId, connectionId);
    const whileRunning = [...pusher.to(connectionId)];
    // Act
    await append(task.taskId, 3);
    await append(task.taskId, 4);
    await drainSubscription(deps(pusher), task.taskId, connectionId);
    await tasks.finish(task.taskId, WORKER, { status: 'failed', error: { code: 'Boom', message: 'model crashed' } }, new Date().toISOString());
    await drainSubscription(deps(pusher), task.taskId, connectionId);
    // Assess
    expect(progressSeqs(whileRunning)).toEqual([1, 2]);
    expect(statuses(whileRunning)).toEqual([]);
    const messages = pusher.to(connectionId);
    expect(progressSeqs(messages)).toEqual([1, 2, 3, 4]);
    expect(messages.at(-1)).toEqual({ type: 'status', taskId: task.taskId, status: 'failed', error: { code: 'Boom', message: 'model crashed' } });
    expect(statuses(messages)).toHaveLength(1);
  });

  it('reads pages smaller than the log without skipping or repeating entries', async () => {
    // Prepare
    const task = await runningTask(7);
    await tasks.finish(task.taskId, WORKER, { status: 'succeeded', result: {} }, new Date().toISOString());
    const connectionId = await subscribed(task.taskId, 0);
    const pusher = new RecordingPusher();
    // Act
    await drainSubscription(deps(pusher), task.taskId, connectionId, { pageSize: 2 });
    // Assess
    expect(progressSeqs(pusher.to(connectionId))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(statuses(pusher.to(connectionId))).toHaveLength(1);
  });

  it('never pushes an entry twice when two drains of one subscription run at once', async () => {
    // Prepare: posts yield for a while so the drainers interleave
    const task = await runningTask(6);
    const connectionId = await subscribed(task.taskId, 0);
    const pusher = new RecordingPusher(3);
    // Act: concurrent drains while the worker keeps writing, then the terminal state
    await Promise.all([drainSubscription(deps(pusher), task.taskId, connectionId), drainSubscription(deps(pusher), task.taskId, connectionId)]);
    for (let seq = 7; seq <= 12; seq++) {
      await append(task.taskId, seq);
      await Promise.all([drainSubscription(deps(pusher), task.taskId, connectionId), drainSubscription(deps(pusher), task.taskId, connectionId)]);
    }
    await tasks.finish(task.taskId, WORKER, { status: 'succeeded', result: { text: 'ok' } }, new Date().toISOString());
    await Promise.all([
      drainSubscription(deps(pusher), task.taskId, connectionId),
      drainSubscription(deps(pusher), task.taskId, connectionId),
      drainSubscription(deps(pusher), task.taskId, connectionId),
    ]);
    // Assess
    const messages = pusher.to(connectionId);
    expect(progressSeqs(messages)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(statuses(messages)).toHaveLength(1);
    expect(messages.at(-1)?.type).toBe('status');
  });

  it('delivers an entry written while another drainer holds the lease (dirty flag), without a further drain', async () => {
    // Prepare
    const task = await runningTask(2);
    const connectionId = await subscribed(task.taskId, 0);
    const pusher = new RecordingPusher();
    const concurrent: Awaited<ReturnType<typeof drainSubscription>>[] = [];
    pusher.onPost = async (_connectionId, message) => {
      if (!progressSeqs([message]).includes(1)) return;
      // Mid-push of entry 1 the worker writes entry 3 and drains; the lease is held by us.
      await append(task.taskId, 3);
      concurrent.push(await drainSubscription(deps(pusher), task.taskId, connectionId));
    };
    // Act
    await drainSubscription(deps(pusher), task.taskId, connectionId);
    // Assess
    expect(concurrent).toEqual(['done']);
    expect(progressSeqs(pusher.to(connectionId))).toEqual([1, 2, 3]);
  });

  it('keeps two subscribers of one task independent', async () => {
    // Prepare
    const task = await runningTask(4);
    await tasks.finish(task.taskId, WORKER, { status: 'succeeded', result: {} }, new Date().toISOString());
    const early = await subscribed(task.taskId, 0);
    const late = await subscribed(task.taskId, 3);
    const pusher = new RecordingPusher(1);
    // Act
    await Promise.all([drainSubscription(deps(pusher), task.taskId, early), drainSubscription(deps(pusher), task.taskId, late)]);
    // Assess
    expect(progressSeqs(pusher.to(early))).toEqual([1, 2, 3, 4]);
    expect(progressSeqs(pusher.to(late))).toEqual([4]);
    expect(statuses(pusher.to(early))).toHaveLength(1);
    expect(statuses(pusher.to(late))).toHaveLength(1);
  });

  it('does nothing for a connection that is not subscribed', async () => {
    // Prepare
    const task = await runningTask(2);
    const pusher = new RecordingPusher();
    // Act
    const outcome = await drainSubscription(deps(pusher), task.taskId, 'conn-never-subscribed');
    // Assess
    expect(outcome).toBe('done');
    expect(pusher.sent).toEqual([]);
  });

  it('removes every item of a connection that answers gone (410)', async () => {
    // Prepare
    const task = await runningTask(3);
    const other = await runningTask(1);
    const connectionId = await subscribed(task.taskId, 0);
    await connections.subscribe(other.taskId, connectionId, TENANT, 0);
    const pusher = new RecordingPusher();
    pusher.gone.add(connectionId);
    // Act
    const outcome = await drainSubscription(deps(pusher), task.taskId, connectionId);
    // Assess
    expect(outcome).toBe('gone');
    expect(pusher.sent).toEqual([]);
    expect(await connections.getConnection(connectionId)).toBeUndefined();
    expect(await connections.listSubscribers(task.taskId)).not.toContain(connectionId);
    expect(await connections.listSubscribers(other.taskId)).not.toContain(connectionId);
    const { Items = [] } = await dynamo.docClient.send(
      new QueryCommand({
        TableName: dynamo.connectionsTable,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': ConnectionKeys.connection(connectionId).pk },
      }),
    );
    expect(Items).toEqual([]);
  });

  it('leaves the other subscribers of the task alone when one connection is gone', async () => {
    // Prepare
    const task = await runningTask(1);
    const goneConnection = await subscribed(task.taskId, 0);
    const liveConnection = await subscribed(task.taskId, 0);
    const pusher = new RecordingPusher();
    pusher.gone.add(goneConnection);
    // Act
    await drainSubscription(deps(pusher), task.taskId, goneConnection);
    await drainSubscription(deps(pusher), task.taskId, liveConnection);
    // Assess
    expect(await connections.listSubscribers(task.taskId)).toEqual([liveConnection]);
    expect(progressSeqs(pusher.to(liveConnection))).toEqual([1]);
  });

  it('pushes the entry the worker just committed without reading the task or the log; a lagging subscriber still reads', async () => {
    // Prepare: the worker has just written entry 3; one subscriber is up to date, one joined late
    const task = await runningTask(3);
    const current = await subscribed(task.taskId, 2);
    const lagging = await subscribed(task.taskId, 0);
    const reads = { get: 0, listProgress: 0 };
    const countingTasks = Object.assign(Object.create(tasks) as DynamoTaskStore, {
      get: (taskId: string) => (reads.get++, tasks.get(taskId)),
      listProgress: (taskId: string, after: number, limit: number) => (reads.listProgress++, tasks.listProgress(taskId, after, limit)),
    });
    const latest = { seq: 3, data: { text: 't3' }, at: new Date().toISOString() };
    const known = { task: { taskId: task.taskId, status: 'running' as const, progressSeq: 3 }, latest };
    const pusher = new RecordingPusher();
    // Act
    await drainSubscription({ tasks: countingTasks, connections, pusher }, task.taskId, current, {}, known);
    const readsForCurrent = { ...reads };
    await drainSubscription({ tasks: countingTasks, connections, pusher }, task.taskId, lagging, {}, known);
    // Assess
    expect(readsForCurrent).toEqual({ get: 0, listProgress: 0 });
    expect(pusher.to(current)).toEqual([{ type: 'progress', taskId: task.taskId, seq: 3, data: { text: 't3' } }]);
    expect(reads.listProgress).toBeGreaterThan(0);
    expect(progressSeqs(pusher.to(lagging))).toEqual([1, 2, 3]);
    // the cursor was recorded by the release alone: a second drain pushes nothing
    await drainSubscription(deps(pusher), task.taskId, current);
    expect(progressSeqs(pusher.to(current))).toEqual([3]);
  });
});
