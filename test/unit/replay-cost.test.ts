import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayTask, type DeliveryDeps, type DeliveryOptions } from '../../lambdas/core/delivery.ts';
import { LiveDelivery, type LiveTimers } from '../../lambdas/core/live-delivery.ts';
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
  await connections.subscribe({ taskId, connectionId, tenantId: TENANT, after });
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
    const outcome = await replayTask(deps, { taskId: task.taskId, connectionId, after: 0 }, options);
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
    let after = 0;
    for (let i = 0; i < 100; i++) {
      const [startMs, startPosts] = [clock.ms, pusher.sent.length];
      const outcome = await replayTask(deps, { taskId: task.taskId, connectionId, after }, options);
      invocations.push({ outcome, modelledMs: clock.ms - startMs, posts: pusher.sent.length - startPosts });
      if (outcome !== 'paused') break;
      const pause = pusher.to(connectionId).at(-1) as { type: string; taskId: string; nextAfter: number };
      expect(pause).toEqual({ type: 'replayPaused', taskId: task.taskId, nextAfter: entriesOf(pusher.to(connectionId)).at(-1)!.seq });
      await connections.subscribe({ taskId: task.taskId, connectionId, tenantId: TENANT, after: pause.nextAfter });
      after = pause.nextAfter;
    }
    // Assess
    const messages = pusher.to(connectionId);
    console.info('replay paused by its budget', { entries: entries.length, invocations: invocations.length, messages: messages.length, maxInvocationMs: Math.max(...invocations.map((i) => i.modelledMs)) });
    expect(invocations.length).toBeGreaterThan(2);
    expect(invocations.at(-1)!.outcome).toBe('done');
    expect(entriesOf(messages).map((entry) => entry.seq)).toEqual(entries.map((entry) => entry.seq));
    expect(messages.filter((message) => message.type === 'status')).toHaveLength(1);
    expect(messages.at(-1)?.type).toBe('status');
    // A paused invocation overruns its budget by at most one batch, one page read and the pause message.
    for (const invocation of invocations) expect(invocation.modelledMs).toBeLessThanOrEqual(500 + 2 * COST.postToConnectionMs + COST.storeCallMs);
    expect(Math.max(...messages.map(bytesOf))).toBeLessThanOrEqual(FRAME_BYTES);
  });

  it('leaves no bookkeeping behind when it pauses: the worker\'s live sender replays the subscription from its after', async () => {
    // Prepare: a running task, 200 entries of 1 KB, a replay paused after a few batches
    const { task, entries } = await finishedTask(200, () => ({ text: ''.padEnd(1_000, 'z') }), { running: true });
    const connectionId = await subscribed(task.taskId, 0);
    const clock = new ModelledClock();
    const { pusher, deps } = meteredReplay(clock);
    const paused = await replayTask(deps, { taskId: task.taskId, connectionId, after: 0 }, { now: clock.now, budgetMs: 50 });
    const sentBeforeWrite = entriesOf(pusher.to(connectionId)).length;
    // Act: the worker (holding the attempt's entries in memory) commits entry 201 and pushes it
    const live = new LiveDelivery({ tasks, connections, pusher, onError: (error) => expect.fail(String(error)) }, task.taskId, 200, entries, { refreshMs: 0 });
    const latest = { seq: 201, data: { text: 'live' }, at: new Date().toISOString() };
    expect(await tasks.appendProgress(task.taskId, WORKER, latest)).toBe('ok');
    live.progress(latest);
    await live.settled();
    // Assess: duplicates of what the replay sent, nothing skipped, nothing out of order
    expect(paused).toBe('paused');
    expect(sentBeforeWrite).toBeGreaterThan(0);
    expect(sentBeforeWrite).toBeLessThan(200);
    const seqs = entriesOf(pusher.to(connectionId)).map((entry) => entry.seq);
    expect(seqs.slice(sentBeforeWrite)).toEqual(Array.from({ length: 201 }, (_, i) => i + 1));
  });

  it('sends an entry too large to share a frame alone, as a plain progress message, and batches the rest around it', async () => {
    // Prepare: entry 3 is 40 KB, over one frame; the others are small
    const { task, entries } = await finishedTask(5, (seq) => ({ text: seq === 3 ? 'y'.repeat(40_000) : `t${seq}` }));
    const connectionId = await subscribed(task.taskId, 0);
    const pusher = new RecordingPusher();
    // Act
    await replayTask({ tasks, connections, pusher }, { taskId: task.taskId, connectionId, after: 0 });
    // Assess
    const messages = pusher.to(connectionId);
    expect(messages.map((message) => message.type)).toEqual(['progressBatch', 'progress', 'progressBatch', 'status']);
    expect(entriesOf(messages).map((entry) => entry.seq)).toEqual(entries.map((entry) => entry.seq));
    expect(messages[1]).toEqual({ type: 'progress', taskId: task.taskId, seq: 3, data: entries[2]!.data });
  });

  it('costs the worker no store writes and at most one subscriber query per five entries, with one subscriber', async () => {
    // Prepare: one subscriber; a write every 200 ms for 10 s on a modelled clock; every store call counted
    const task = taskRecord({ tenantId: TENANT });
    await tasks.create(task);
    await tasks.claim(task.taskId, WORKER, Date.now() + 60_000, new Date().toISOString());
    const connectionId = await subscribed(task.taskId, 0);
    const calls: Record<string, number> = {};
    const counted = <T extends object>(store: T, prefix: string): T =>
      new Proxy(store, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver) as unknown;
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            calls[`${prefix}.${String(property)}`] = (calls[`${prefix}.${String(property)}`] ?? 0) + 1;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    const clock = new ModelledClock();
    const timers = new ModelledTimers(clock);
    const pusher = new RecordingPusher();
    const live = new LiveDelivery(
      { tasks: counted<TaskStore>(tasks, 'tasks'), connections: counted<ConnectionStore>(connections, 'connections'), pusher, onError: (error) => expect.fail(String(error)) },
      task.taskId,
      0,
      [],
      { now: clock.now, timers, refreshMs: 1_000 },
    );
    const ENTRIES = 50;
    // Act
    for (let seq = 1; seq <= ENTRIES; seq++) {
      await timers.advance(200);
      const entry = { seq, data: chunk(seq), at: new Date().toISOString() };
      expect(await tasks.appendProgress(task.taskId, WORKER, entry)).toBe('ok');
      live.progress(entry);
      await live.settled();
    }
    const whileRunning = { ...calls };
    await tasks.finish(task.taskId, WORKER, { status: 'succeeded', result: { text: 'done' } }, new Date().toISOString());
    await live.finish({ taskId: task.taskId, status: 'succeeded', progressSeq: ENTRIES, result: { text: 'done' } });
    // Assess
    const queries = whileRunning['connections.listSubscriptions'] ?? 0;
    const writes = Object.entries(calls).filter(([name]) => /^connections\.(subscribe|unsubscribe|removeConnection|putConnection)$/.test(name));
    console.info('live delivery, one subscriber', { entries: ENTRIES, storeCalls: calls, queriesPerEntry: queries / ENTRIES, pushes: pusher.sent.length });
    expect(queries).toBeLessThanOrEqual(ENTRIES / 5);
    expect(calls['connections.listSubscriptions']).toBe(queries + 1); // once more after the terminal write
    expect(writes).toEqual([]);
    expect(calls['tasks.listProgress'] ?? 0).toBe(0);
    expect(Object.keys(calls).sort()).toEqual(['connections.listSubscriptions']);
    expect(pusher.to(connectionId).map((message) => message.type)).toEqual([...Array.from({ length: ENTRIES }, () => 'progress'), 'status']);
  });
});

/** Timers on the modelled clock: `advance` moves the clock and runs what fell due. */
class ModelledTimers implements LiveTimers {
  private pending: { at: number; callback: () => void; handle: number }[] = [];
  private handles = 0;
  public constructor(private readonly clock: ModelledClock) {}
  public set(callback: () => void, ms: number): unknown {
    const handle = ++this.handles;
    this.pending.push({ at: this.clock.ms + ms, callback, handle });
    return handle;
  }
  public clear(handle: unknown): void {
    this.pending = this.pending.filter((timer) => timer.handle !== handle);
  }
  public async advance(ms: number): Promise<void> {
    this.clock.spend(ms);
    const due = this.pending.filter((timer) => timer.at <= this.clock.ms);
    this.pending = this.pending.filter((timer) => timer.at > this.clock.ms);
    for (const timer of due) timer.callback();
  }
}
