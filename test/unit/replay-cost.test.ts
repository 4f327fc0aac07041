import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainSubscription, type DeliveryDeps, type DeliveryOptions } from '../../lambdas/core/delivery.ts';
import type { ProgressEntry } from '../../lambdas/core/model.ts';
import type { ConnectionStore, ServerMessage, TaskStore } from '../../lambdas/core/ports.ts';
import { TaskKeys } from '../../lambdas/store/keys.ts';
import { DynamoConnectionStore } from '../../lambdas/store/connection-store.ts';
import { DynamoTaskStore } from '../../lambdas/store/task-store.ts';
import { type LocalDynamo, startLocalDynamo } from '../support/local-dynamo.ts';
import { RecordingPusher } from '../support/recording-pusher.ts';
import { taskRecord } from '../support/tasks.ts';

/**
 * What a replay costs. The subscribe function has 10 s (lib/constructs/offload-function.ts); on AWS
 * a `PostToConnection` takes 5-20 ms and a DynamoDB call a few ms. The stores are the real ones
 * (dynalite) and the clock is modelled: every push and every store call adds its cost to it, so
 * the time a replay would take on AWS is measured without waiting for it.
 */

/** Modelled costs, at the slow end of what AWS answers in. */
const COST = { postToConnectionMs: 20, storeCallMs: 10 } as const;
/** The subscribe function's timeout. */
const FUNCTION_TIMEOUT_MS = 10_000;
/** API Gateway's WebSocket frame size quota: a batch must fit one frame. */
const FRAME_BYTES = 32 * 1024;

const TENANT = 'ten_replay';
const WORKER = 'worker-replay';
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

/** A clock that only moves when something is paid for. */
class ModelledClock {
  public ms = 0;
  public readonly now = (): number => this.ms;
  public spend(ms: number): void {
    this.ms += ms;
  }
}

/** A store whose every call costs `ms` on the clock. */
const metered = <T extends object>(store: T, clock: ModelledClock, ms: number): T =>
  new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        clock.spend(ms);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });

/** A completion-like chunk: one to eight short tokens. */
const chunk = (seq: number) => ({ text: ' token'.repeat(1 + (seq % 8)) });

/** A task whose log holds `count` entries (written in batches, then committed at once), finished unless `running`. */
const finishedTask = async (count: number, data: (seq: number) => unknown = chunk, { running = false } = {}) => {
  const task = taskRecord({ tenantId: TENANT });
  await tasks.create(task);
  await tasks.claim(task.taskId, WORKER, Date.now() + 60_000, new Date().toISOString());
  const at = new Date().toISOString();
  const entries: ProgressEntry[] = Array.from({ length: count }, (_, i) => ({ seq: i + 1, data: data(i + 1), at }));
  for (let i = 0; i < count - 1; i += 25) {
    const items = entries.slice(i, Math.min(i + 25, count - 1)).map((entry) => ({ PutRequest: { Item: { ...TaskKeys.progress(task.taskId, entry.seq), entity: 'progress', ...entry } } }));
    await dynamo.docClient.send(new BatchWriteCommand({ RequestItems: { [dynamo.tasksTable]: items } }));
  }
  expect(await tasks.appendProgress(task.taskId, WORKER, entries.at(-1)!)).toBe('ok');
  if (!running) await tasks.finish(task.taskId, WORKER, { status: 'succeeded', result: { text: 'done' } }, new Date().toISOString());
  return { task, entries };
};

let connectionCounter = 0;
const subscribed = async (taskId: string, after: number): Promise<string> => {
  const connectionId = `conn-replay-${++connectionCounter}`;
  await connections.putConnection({ connectionId, tenantId: TENANT, connectedAt: new Date().toISOString() });
  await connections.subscribe(taskId, connectionId, TENANT, after);
  return connectionId;
};

/** A replay on metered stores and a pusher whose every PostToConnection costs its modelled time. */
const meteredReplay = (clock: ModelledClock) => {
  const pusher = new RecordingPusher();
  pusher.onPost = async () => clock.spend(COST.postToConnectionMs);
  const deps: DeliveryDeps = {
    tasks: metered<TaskStore>(tasks, clock, COST.storeCallMs),
    connections: metered<ConnectionStore>(connections, clock, COST.storeCallMs),
    pusher,
  };
  return { pusher, deps };
};

/** The entries a client received, whatever messages carried them, in arrival order. */
const entriesOf = (messages: readonly ServerMessage[]): { seq: number; data: unknown }[] =>
  messages.flatMap((message) => {
    if (message.type === 'progress') return [{ seq: message.seq, data: message.data }];
    const batch = message as { type: string; entries?: { seq: number; data: unknown }[] };
    return batch.type === 'progressBatch' && batch.entries ? batch.entries : [];
  });
const bytesOf = (message: ServerMessage) => Buffer.byteLength(JSON.stringify(message));

describe('replay cost', () => {
  it('replays 2,000 entries in a bounded number of PostToConnection calls, well within the function timeout', async () => {
    // Prepare
    const { task, entries } = await finishedTask(2_000);
    const connectionId = await subscribed(task.taskId, 0);
    const clock = new ModelledClock();
    const { pusher, deps } = meteredReplay(clock);
    const options: Partial<DeliveryOptions> = { now: clock.now };
    // Act
    const outcome = await drainSubscription(deps, task.taskId, connectionId, options);
    // Assess
    const messages = pusher.to(connectionId);
    const received = entriesOf(messages);
    const report = { entries: entries.length, messages: messages.length, postToConnection: pusher.sent.length, modelledMs: clock.ms };
    console.info('replay of a finished task, after=0', report);
    expect(outcome).toBe('done');
    expect(received.map((entry) => entry.seq)).toEqual(entries.map((entry) => entry.seq));
    expect(received.map((entry) => entry.data)).toEqual(entries.map((entry) => entry.data));
    expect(messages.at(-1)).toEqual({ type: 'status', taskId: task.taskId, status: 'succeeded', result: { text: 'done' } });
    expect(messages.filter((message) => message.type === 'status')).toHaveLength(1);
    expect(Math.max(...messages.map(bytesOf))).toBeLessThanOrEqual(FRAME_BYTES);
    expect(report.postToConnection).toBeLessThanOrEqual(entries.length / 100);
    expect(report.modelledMs).toBeLessThan(FUNCTION_TIMEOUT_MS / 4);
  });

  it('pauses when its time budget runs out, and a subscription after nextAfter delivers the rest: each entry once, in order', async () => {
    // Prepare: 1 KB entries, so that 2,000 of them need many messages
    const { task, entries } = await finishedTask(2_000, (seq) => ({ text: `${seq}:`.padEnd(1_000, 'x') }));
    const connectionId = await subscribed(task.taskId, 0);
    const clock = new ModelledClock();
    const { pusher, deps } = meteredReplay(clock);
    const options: Partial<DeliveryOptions> = { now: clock.now, budgetMs: 500 };
    // Act: every pause is answered as the SDK does, with a subscribe after the last entry received
    const invocations: { outcome: string; modelledMs: number; posts: number }[] = [];
    for (let i = 0; i < 100; i++) {
      const [startMs, startPosts] = [clock.ms, pusher.sent.length];
      const outcome = await drainSubscription(deps, task.taskId, connectionId, options);
      invocations.push({ outcome, modelledMs: clock.ms - startMs, posts: pusher.sent.length - startPosts });
      if (outcome !== 'paused') break;
      const pause = pusher.to(connectionId).at(-1) as { type: string; taskId: string; nextAfter: number };
      expect(pause).toEqual({ type: 'replayPaused', taskId: task.taskId, nextAfter: entriesOf(pusher.to(connectionId)).at(-1)!.seq });
      await connections.subscribe(task.taskId, connectionId, TENANT, pause.nextAfter);
    }
    // Assess
    const messages = pusher.to(connectionId);
    console.info('replay paused by its budget', { entries: entries.length, invocations: invocations.length, messages: messages.length, maxInvocationMs: Math.max(...invocations.map((i) => i.modelledMs)) });
    expect(invocations.length).toBeGreaterThan(2);
    expect(invocations.at(-1)!.outcome).toBe('done');
    expect(entriesOf(messages).map((entry) => entry.seq)).toEqual(entries.map((entry) => entry.seq));
    expect(messages.filter((message) => message.type === 'status')).toHaveLength(1);
    expect(messages.at(-1)?.type).toBe('status');
    // A paused invocation overruns its budget by at most one batch, the pause message and the release.
    for (const invocation of invocations) expect(invocation.modelledMs).toBeLessThanOrEqual(500 + 2 * COST.postToConnectionMs + 3 * COST.storeCallMs + COST.postToConnectionMs);
    expect(Math.max(...messages.map(bytesOf))).toBeLessThanOrEqual(FRAME_BYTES);
  });

  it('lets the subscription go with its cursor when it pauses: the worker\'s next write carries on from there', async () => {
    // Prepare: a running task, 200 entries of 1 KB, a replay paused after a few batches
    const { task } = await finishedTask(200, () => ({ text: ''.padEnd(1_000, 'z') }), { running: true });
    const at = new Date().toISOString();
    const connectionId = await subscribed(task.taskId, 0);
    const clock = new ModelledClock();
    const { pusher, deps } = meteredReplay(clock);
    const paused = await drainSubscription(deps, task.taskId, connectionId, { now: clock.now, budgetMs: 50 });
    const sentBeforeWrite = entriesOf(pusher.to(connectionId)).length;
    // Act: the worker commits entry 201 and drains, as it does after every write (no new subscribe)
    const latest = { seq: 201, data: { text: 'live' }, at };
    expect(await tasks.appendProgress(task.taskId, WORKER, latest)).toBe('ok');
    const resumed = await drainSubscription({ tasks, connections, pusher }, task.taskId, connectionId, {}, { task: { taskId: task.taskId, status: 'running', progressSeq: 201 }, latest });
    // Assess
    expect(paused).toBe('paused');
    expect(sentBeforeWrite).toBeGreaterThan(0);
    expect(sentBeforeWrite).toBeLessThan(200);
    expect(resumed).toBe('done');
    expect(entriesOf(pusher.to(connectionId)).map((entry) => entry.seq)).toEqual(Array.from({ length: 201 }, (_, i) => i + 1));
  });

  it('sends an entry too large to share a frame alone, as a plain progress message, and batches the rest around it', async () => {
    // Prepare: entry 3 is 40 KB, over one frame; the others are small
    const { task, entries } = await finishedTask(5, (seq) => ({ text: seq === 3 ? 'y'.repeat(40_000) : `t${seq}` }));
    const connectionId = await subscribed(task.taskId, 0);
    const pusher = new RecordingPusher();
    // Act
    await drainSubscription({ tasks, connections, pusher }, task.taskId, connectionId);
    // Assess
    const messages = pusher.to(connectionId);
    expect(messages.map((message) => message.type)).toEqual(['progressBatch', 'progress', 'progressBatch', 'status']);
    expect(entriesOf(messages).map((entry) => entry.seq)).toEqual(entries.map((entry) => entry.seq));
    expect(messages[1]).toEqual({ type: 'progress', taskId: task.taskId, seq: 3, data: entries[2]!.data });
  });
});
