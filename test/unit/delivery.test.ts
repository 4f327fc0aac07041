import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifySubscribers, replayTask, type DeliveryDeps } from '../../lambdas/core/delivery.ts';
import { LiveDelivery, type LiveDeliveryDeps } from '../../lambdas/core/live-delivery.ts';
import type { ProgressEntry } from '../../lambdas/core/model.ts';
import type { Pusher, ServerMessage } from '../../lambdas/core/ports.ts';
import { ConnectionKeys, TaskKeys } from '../../lambdas/store/keys.ts';
import { DynamoConnectionStore } from '../../lambdas/store/connection-store.ts';
import { DynamoTaskStore } from '../../lambdas/store/task-store.ts';
import { type LocalDynamo, startLocalDynamo } from '../support/local-dynamo.ts';
import { RecordingPusher } from '../support/recording-pusher.ts';
import { taskRecord } from '../support/tasks.ts';
import { deduplicated, progressSeqs, wireRuleViolations } from '../support/wire-rule.ts';

/**
 * Progress delivery on the real DynamoDB stores (dynalite) with an in-memory push transport: the
 * replay from a subscription's `after` (subscribe handler, cancel), the worker's live sender, and
 * the wire rule when both send to one connection at once.
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
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A running task with `count` committed progress entries. */
const runningTask = async (count: number) => {
  const task = taskRecord({ tenantId: TENANT });
  await tasks.create(task);
  await tasks.claim(task.taskId, WORKER, Date.now() + 60_000, new Date().toISOString());
  for (let seq = 1; seq <= count; seq++) await append(task.taskId, seq);
  return task;
};
const entry = (seq: number): ProgressEntry => ({ seq, data: { text: `t${seq}` }, at: new Date().toISOString() });
const append = async (taskId: string, seq: number): Promise<ProgressEntry> => {
  const written = entry(seq);
  expect(await tasks.appendProgress(taskId, WORKER, written)).toBe('ok');
  return written;
};
const subscribed = async (taskId: string, after: number, credentialExpiresAt?: number): Promise<string> => {
  const connectionId = newConnectionId();
  await connections.putConnection({ connectionId, tenantId: TENANT, connectedAt: new Date().toISOString() });
  await connections.subscribe({ taskId, connectionId, tenantId: TENANT, after, ...(credentialExpiresAt !== undefined ? { credentialExpiresAt } : {}) });
  return connectionId;
};
const statuses = (messages: ServerMessage[]) => messages.filter((message) => message.type === 'status');
const deps = (pusher: Pusher): DeliveryDeps => ({ tasks, connections, pusher });
const liveDeps = (pusher: Pusher, errors: unknown[] = []): LiveDeliveryDeps => ({ tasks, connections, pusher, onError: (error) => errors.push(error) });
const connectionItems = async (connectionId: string) =>
  (
    await dynamo.docClient.send(
      new QueryCommand({ TableName: dynamo.connectionsTable, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': ConnectionKeys.connection(connectionId).pk } }),
    )
  ).Items ?? [];

describe('replayTask: the subscribe handler replays from the client\u2019s after', () => {
  it('pushes the entries after `after` in order, in one batch, then the terminal status once', async () => {
    // Prepare
    const task = await runningTask(5);
    await tasks.finish(task.taskId, WORKER, { status: 'succeeded', result: { text: 'all' } }, new Date().toISOString());
    const connectionId = await subscribed(task.taskId, 2);
    const pusher = new RecordingPusher();
    // Act
    const outcome = await replayTask(deps(pusher), { taskId: task.taskId, connectionId, after: 2 });
    // Assess
    expect(outcome).toBe('done');
    expect(pusher.to(connectionId)).toEqual([
      { type: 'progressBatch', taskId: task.taskId, entries: [3, 4, 5].map((seq) => ({ seq, data: { text: `t${seq}` } })) },
      { type: 'status', taskId: task.taskId, status: 'succeeded', result: { text: 'all' } },
    ]);
  });

  it('reads the task again after the subscription is written: an entry and the terminal state committed meanwhile are delivered', async () => {
    // Prepare: the handler read the task (2 entries, running) before writing the subscription
    const task = await runningTask(2);
    const known = (await tasks.get(task.taskId))!;
    const connectionId = await subscribed(task.taskId, 0);
    await append(task.taskId, 3);
    await tasks.finish(task.taskId, WORKER, { status: 'failed', error: { code: 'Boom', message: 'model crashed' } }, new Date().toISOString());
    const pusher = new RecordingPusher();
    // Act
    await replayTask(deps(pusher), { taskId: task.taskId, connectionId, after: 0 }, {}, known);
    // Assess
    const messages = pusher.to(connectionId);
    expect(progressSeqs(messages)).toEqual([1, 2, 3]);
    expect(messages.at(-1)).toEqual({ type: 'status', taskId: task.taskId, status: 'failed', error: { code: 'Boom', message: 'model crashed' } });
    expect(statuses(messages)).toHaveLength(1);
  });

  it('sends no status while the task runs, and never an entry above the committed progressSeq', async () => {
    // Prepare: entry 3 is in the log but not committed (the fence did not advance)
    const task = await runningTask(2);
    await dynamo.docClient.send(new PutCommand({ TableName: dynamo.tasksTable, Item: { ...TaskKeys.progress(task.taskId, 3), entity: 'progress', ...entry(3) } }));
    const connectionId = await subscribed(task.taskId, 0);
    const pusher = new RecordingPusher();
    // Act
    await replayTask(deps(pusher), { taskId: task.taskId, connectionId, after: 0 });
    // Assess
    expect(progressSeqs(pusher.to(connectionId))).toEqual([1, 2]);
    expect(statuses(pusher.to(connectionId))).toEqual([]);
  });

  it('reads pages smaller than the log without skipping or repeating entries', async () => {
    // Prepare
    const task = await runningTask(7);
    await tasks.finish(task.taskId, WORKER, { status: 'succeeded', result: {} }, new Date().toISOString());
    const connectionId = await subscribed(task.taskId, 0);
    const pusher = new RecordingPusher();
    // Act
    await replayTask(deps(pusher), { taskId: task.taskId, connectionId, after: 0 }, { pageSize: 2 });
    // Assess
    expect(progressSeqs(pusher.to(connectionId))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(statuses(pusher.to(connectionId))).toHaveLength(1);
  });

  it('removes every item of a connection that answers gone (410)', async () => {
    // Prepare
    const task = await runningTask(3);
    const other = await runningTask(1);
    const connectionId = await subscribed(task.taskId, 0);
    await connections.subscribe({ taskId: other.taskId, connectionId, tenantId: TENANT, after: 0 });
    const pusher = new RecordingPusher();
    pusher.gone.add(connectionId);
    // Act
    const outcome = await replayTask(deps(pusher), { taskId: task.taskId, connectionId, after: 0 });
    // Assess
    expect(outcome).toBe('gone');
    expect(pusher.sent).toEqual([]);
    expect(await connections.listSubscribers(task.taskId)).not.toContain(connectionId);
    expect(await connections.listSubscribers(other.taskId)).not.toContain(connectionId);
    expect(await connectionItems(connectionId)).toEqual([]);
  });
});

describe('notifySubscribers: the cancel path', () => {
  it('gives each subscription a replay from its own after and the status; an expired one is removed instead', async () => {
    // Prepare: a queued task (no worker) with three subscribers, one of them on an expired token
    const task = taskRecord({ tenantId: TENANT });
    await tasks.create(task);
    const early = await subscribed(task.taskId, 0);
    const late = await subscribed(task.taskId, 0);
    const expired = await subscribed(task.taskId, 0, Date.now() - 1_000);
    await tasks.cancel(task.taskId, new Date().toISOString());
    const pusher = new RecordingPusher();
    const errors: unknown[] = [];
    // Act
    await notifySubscribers(deps(pusher), task.taskId, (error) => errors.push(error));
    // Assess
    expect(errors).toEqual([]);
    for (const connectionId of [early, late]) expect(pusher.to(connectionId)).toEqual([{ type: 'status', taskId: task.taskId, status: 'cancelled' }]);
    expect(pusher.to(expired).map((message) => message.type)).toEqual(['error']);
    expect(pusher.closed).toEqual([expired]);
    expect((await connections.listSubscribers(task.taskId)).sort()).toEqual([early, late].sort());
  });
});

describe('LiveDelivery: the running worker is the only live sender', () => {
  it('replays a new subscriber from its after out of memory, then pushes live entries, then the status after all of them', async () => {
    // Prepare: entries 1..4 written by this attempt before anyone subscribed
    const task = await runningTask(0);
    const pusher = new RecordingPusher();
    const reads = { listProgress: 0 };
    const countingTasks = { listProgress: (taskId: string, after: number, limit: number) => (reads.listProgress++, tasks.listProgress(taskId, after, limit)) };
    const live = new LiveDelivery({ ...liveDeps(pusher), tasks: countingTasks }, task.taskId, 0, [], { refreshMs: 0 });
    for (let seq = 1; seq <= 4; seq++) live.progress(await append(task.taskId, seq));
    await live.settled();
    const connectionId = await subscribed(task.taskId, 1);
    // Act
    for (let seq = 5; seq <= 6; seq++) {
      live.progress(await append(task.taskId, seq));
      await live.settled();
    }
    await tasks.finish(task.taskId, WORKER, { status: 'succeeded', result: { text: 'done' } }, new Date().toISOString());
    await live.finish({ taskId: task.taskId, status: 'succeeded', progressSeq: 6, result: { text: 'done' } });
    // Assess
    const messages = pusher.to(connectionId);
    expect(progressSeqs(messages)).toEqual([2, 3, 4, 5, 6]);
    expect(messages.at(-1)).toEqual({ type: 'status', taskId: task.taskId, status: 'succeeded', result: { text: 'done' } });
    expect(statuses(messages)).toHaveLength(1);
    expect(reads.listProgress).toBe(0);
    expect(wireRuleViolations(messages, 1, 6)).toEqual([]);
  });

  it('reads the log for a subscriber that resumes before what it holds in memory', async () => {
    // Prepare: a 1-byte buffer keeps only the newest entry
    const task = await runningTask(0);
    const pusher = new RecordingPusher();
    const live = new LiveDelivery(liveDeps(pusher), task.taskId, 0, [], { refreshMs: 0, bufferBytes: 1 });
    for (let seq = 1; seq <= 5; seq++) live.progress(await append(task.taskId, seq));
    await live.settled();
    const connectionId = await subscribed(task.taskId, 0);
    // Act
    live.progress(await append(task.taskId, 6));
    await live.settled();
    // Assess
    expect(progressSeqs(pusher.to(connectionId))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('never pushes to a subscription whose credential expired: it removes it and closes the connection', async () => {
    // Prepare: two subscribers; one token expires while the task runs
    const task = await runningTask(0);
    let now = Date.now();
    const pusher = new RecordingPusher();
    const live = new LiveDelivery(liveDeps(pusher), task.taskId, 0, [], { refreshMs: 0, now: () => now });
    const valid = await subscribed(task.taskId, 0);
    const expiring = await subscribed(task.taskId, 0, now + 1_000);
    const alreadyExpired = await subscribed(task.taskId, 0, now - 1);
    live.progress(await append(task.taskId, 1));
    await live.settled();
    const beforeExpiry = progressSeqs(pusher.to(expiring));
    // Act: the clock passes the token's expiry; the task writes on and ends
    now += 2_000;
    for (let seq = 2; seq <= 3; seq++) {
      live.progress(await append(task.taskId, seq));
      await live.settled();
    }
    await tasks.finish(task.taskId, WORKER, { status: 'succeeded', result: {} }, new Date().toISOString());
    await live.finish({ taskId: task.taskId, status: 'succeeded', progressSeq: 3, result: {} });
    await sleep(20); // the removal runs off the connection's chain
    // Assess
    expect(beforeExpiry).toEqual([1]);
    expect(progressSeqs(pusher.to(expiring))).toEqual([1]);
    expect(statuses(pusher.to(expiring))).toEqual([]);
    expect(pusher.to(alreadyExpired).map((message) => message.type)).toEqual(['error']);
    expect(pusher.closed.sort()).toEqual([expiring, alreadyExpired].sort());
    expect(await connections.listSubscribers(task.taskId)).toEqual([valid]);
    expect(progressSeqs(pusher.to(valid))).toEqual([1, 2, 3]);
    expect(statuses(pusher.to(valid))).toHaveLength(1);
  });

  it('removes a connection that answers 410 and goes on with the others; the task never sees a failure', async () => {
    // Prepare
    const task = await runningTask(0);
    const pusher = new RecordingPusher();
    const errors: unknown[] = [];
    const live = new LiveDelivery(liveDeps(pusher, errors), task.taskId, 0, [], { refreshMs: 0 });
    const goneConnection = await subscribed(task.taskId, 0);
    const liveConnection = await subscribed(task.taskId, 0);
    pusher.gone.add(goneConnection);
    // Act
    for (let seq = 1; seq <= 3; seq++) {
      live.progress(await append(task.taskId, seq));
      await live.settled();
    }
    await tasks.finish(task.taskId, WORKER, { status: 'succeeded', result: {} }, new Date().toISOString());
    const finished = live.finish({ taskId: task.taskId, status: 'succeeded', progressSeq: 3, result: {} });
    // Assess
    await expect(finished).resolves.toBeUndefined();
    expect(errors).toEqual([]);
    expect(pusher.to(goneConnection)).toEqual([]);
    expect(await connectionItems(goneConnection)).toEqual([]);
    expect(await connections.listSubscribers(task.taskId)).toEqual([liveConnection]);
    expect(progressSeqs(pusher.to(liveConnection))).toEqual([1, 2, 3]);
  });

  it('stops pushing to a connection once its next query no longer finds the subscription', async () => {
    // Prepare
    const task = await runningTask(0);
    const pusher = new RecordingPusher();
    const live = new LiveDelivery(liveDeps(pusher), task.taskId, 0, [], { refreshMs: 0 });
    const connectionId = await subscribed(task.taskId, 0);
    live.progress(await append(task.taskId, 1));
    await live.settled();
    // Act
    await connections.unsubscribe(task.taskId, connectionId);
    for (let seq = 2; seq <= 4; seq++) {
      live.progress(await append(task.taskId, seq));
      await live.settled();
    }
    await live.close();
    // Assess: entry 2 may have gone out before the query noticed; nothing after it
    expect(progressSeqs(pusher.to(connectionId)).filter((seq) => seq > 2)).toEqual([]);
  });

  it('keeps the wire rule while it live-pushes and a subscribe replay runs on the same connection', async () => {
    // Prepare: 20 entries already written by this attempt; pushes are slow so the senders interleave
    const task = await runningTask(0);
    const pusher = new RecordingPusher(2);
    const tagged = (tag: string, counts: Record<string, number>): Pusher => ({
      post: (connectionId, message) => ((counts[tag] = (counts[tag] ?? 0) + 1), pusher.post(connectionId, message)),
    });
    const counts: Record<string, number> = {};
    const live = new LiveDelivery({ ...liveDeps(tagged('worker', counts)) }, task.taskId, 0, [], { refreshMs: 0, maxBatchBytes: 64 });
    for (let seq = 1; seq <= 20; seq++) live.progress(await append(task.taskId, seq));
    await live.settled();
    // Act: the subscribe handler (read, write the subscription, replay one entry per message) while the worker writes on
    const handler = (async () => {
      const known = (await tasks.get(task.taskId))!;
      const connectionId = await subscribed(task.taskId, 0);
      await replayTask({ tasks, connections, pusher: tagged('handler', counts) }, { taskId: task.taskId, connectionId, after: 0 }, { maxBatchBytes: 64 }, known);
      return connectionId;
    })();
    for (let seq = 21; seq <= 40; seq++) {
      live.progress(await append(task.taskId, seq));
      await sleep(3);
    }
    const connectionId = await handler;
    await tasks.finish(task.taskId, WORKER, { status: 'succeeded', result: { text: 'ok' } }, new Date().toISOString());
    await live.finish({ taskId: task.taskId, status: 'succeeded', progressSeq: 40, result: { text: 'ok' } });
    // Assess: both senders pushed to the connection, the wire rule held, the SDK sees each entry once
    const messages = pusher.to(connectionId);
    expect(counts.worker).toBeGreaterThan(0);
    expect(counts.handler).toBeGreaterThan(0);
    expect(wireRuleViolations(messages, 0, 40)).toEqual([]);
    expect(deduplicated(messages)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(statuses(messages).length).toBeGreaterThanOrEqual(1);
  });
});
