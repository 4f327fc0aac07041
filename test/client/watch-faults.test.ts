import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WatchEvent } from '../../client/sdk/index.ts';
import { startHarness, type Harness } from '../e2e/harness.ts';
import { clientFor, collect, range } from './support.ts';

/**
 * The real WebSocket, with faults injected between it and the SDK: it loses the progress entries
 * whose seq is listed (as a lossy proxy would; with `once`, only their first delivery over any of
 * its connections), whether they travel alone or in a `progressBatch`, and records what the SDK
 * sends and receives.
 */
const lossyWebSocket = (seqs: ReadonlySet<number>, log: { sent: unknown[]; received: Record<string, unknown>[] }, { once = false } = {}) => {
  const drop = new Set(seqs);
  const lose = (seq: number): boolean => {
    if (!drop.has(seq)) return false;
    if (once) drop.delete(seq);
    return true;
  };
  return class LossyWebSocket extends WebSocket {
    public override send(data: string): void {
      log.sent.push(JSON.parse(data));
      super.send(data);
    }
    public override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void {
      if (type !== 'message' || !listener) return super.addEventListener(type as keyof WebSocketEventMap, listener as EventListener, options);
      const deliver = typeof listener === 'function' ? listener : listener.handleEvent.bind(listener);
      super.addEventListener(
        'message',
        (event) => {
          const message = JSON.parse(String((event as MessageEvent).data)) as Record<string, unknown>;
          log.received.push(message);
          if (message.type === 'progress' && lose(message.seq as number)) return;
          if (message.type === 'progressBatch') {
            const entries = message.entries as { seq: number }[];
            const kept = entries.filter((entry) => !lose(entry.seq));
            if (kept.length === 0) return;
            if (kept.length < entries.length) return deliver(new MessageEvent('message', { data: JSON.stringify({ ...message, entries: kept }) }));
          }
          deliver(event);
        },
        options,
      );
    }
  };
};

const seqsOf = (events: readonly WatchEvent[]) => events.flatMap((event) => (event.kind === 'progress' ? [event.seq] : []));

describe('client SDK watch: faults between the socket and the SDK', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => harness?.stop());

  it('fills entries lost in transit from the events endpoint: each once, in order, no gap reported', async () => {
    // Prepare
    const log = { sent: [] as unknown[], received: [] as Record<string, unknown>[] };
    const client = clientFor(harness, { WebSocket: lossyWebSocket(new Set([2, 5, 6]), log) });
    const task = await client.submit('completion', { prompt: 'lossy proxy', maxTokens: 150, model: 'sim-1' });
    // Act
    const events = await collect(client.watch<'completion'>(task.taskId));
    // Assess
    const final = await client.get<'completion'>(task.taskId);
    expect(final.progress.seq).toBeGreaterThan(6);
    const receivedSeqs = log.received.flatMap((message) =>
      message.type === 'progress' ? [message.seq] : message.type === 'progressBatch' ? (message.entries as { seq: number }[]).map((entry) => entry.seq) : [],
    );
    expect(receivedSeqs).toEqual(expect.arrayContaining([2, 5, 6]));
    expect(events.some((event) => event.kind === 'gap')).toBe(false);
    expect(seqsOf(events)).toEqual(range(1, final.progress.seq));
    expect(events.flatMap((event) => (event.kind === 'progress' ? [event.data.text] : [])).join('')).toBe(final.result!.text);
    expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'succeeded' });
  });

  it('treats a failed fill as a drop, never a gap: it reconnects and the replay brings the lost entry', async () => {
    // Prepare: seq 3 is lost in transit once, and the events endpoint is unreachable for this client
    const log = { sent: [] as unknown[], received: [] as Record<string, unknown>[] };
    const noEvents: typeof fetch = (input, init) => (String(input).includes('/events') ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init));
    const client = clientFor(harness, { WebSocket: lossyWebSocket(new Set([3]), log, { once: true }), fetch: noEvents, retry: { maxAttempts: 2, baseDelayMs: 10 }, watch: { reconnectBaseDelayMs: 20 } });
    const task = await client.submit('completion', { prompt: 'lossy and cut off', maxTokens: 100, model: 'sim-1' });
    // Act
    const events = await collect(client.watch<'completion'>(task.taskId));
    // Assess
    const final = await client.get<'completion'>(task.taskId);
    expect(events.some((event) => event.kind === 'gap')).toBe(false);
    expect(seqsOf(events)).toEqual(range(1, final.progress.seq));
    const subscriptions = log.sent.filter((message) => (message as { action?: string }).action === 'subscribe');
    expect(subscriptions.length).toBeGreaterThanOrEqual(2);
    expect(subscriptions[1]).toMatchObject({ after: 2 });
    expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'succeeded' });
  });

  it('ends with ConnectionLostError at the last entry it yielded when an entry can be obtained neither way', async () => {
    // Prepare: seq 3 is always lost in transit, and the events endpoint is unreachable
    const log = { sent: [] as unknown[], received: [] as Record<string, unknown>[] };
    const noEvents: typeof fetch = (input, init) => (String(input).includes('/events') ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init));
    const client = clientFor(harness, { WebSocket: lossyWebSocket(new Set([3]), log), fetch: noEvents, retry: { maxAttempts: 1 }, watch: { maxReconnectAttempts: 2, reconnectBaseDelayMs: 20 } });
    const task = await client.submit('completion', { prompt: 'lost for good', maxTokens: 100, model: 'sim-1' });
    const events: WatchEvent[] = [];
    // Act
    const outcome = (async () => {
      for await (const event of client.watch(task.taskId)) events.push(event);
    })();
    // Assess
    await expect(outcome).rejects.toMatchObject({ name: 'ConnectionLostError', lastSeq: 2 });
    expect(seqsOf(events)).toEqual([1, 2]);
    expect(events.some((event) => event.kind === 'gap' || event.kind === 'status')).toBe(false);
  });

  it('keeps the connection alive with ping while it waits', async () => {
    // Prepare
    const log = { sent: [] as unknown[], received: [] as Record<string, unknown>[] };
    const client = clientFor(harness, { WebSocket: lossyWebSocket(new Set(), log), watch: { pingIntervalMs: 200 } });
    const task = await client.submit('completion', { prompt: 'keep me alive', maxTokens: 80, model: 'sim-1' });
    // Act
    const events = await collect(client.watch(task.taskId));
    // Assess
    expect(log.sent.filter((message) => (message as { action?: string }).action === 'ping').length).toBeGreaterThan(0);
    expect(log.received.filter((message) => message.type === 'pong').length).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'succeeded' });
  });
});
