import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { OffloadClient, type ConnectionEvent, type WatchEvent } from '../../client/sdk/index.ts';
import { collect, range } from './support.ts';

/**
 * The SDK's `watch` against a scripted WebSocket server speaking the replay protocol: entries in
 * `progress` and `progressBatch` messages (with the duplicates a replay may carry), and a
 * `replayPaused` that the SDK must answer with a subscription after the last entry it yielded.
 */

const TASK = 'tsk_01KAQ8Z4J6W2M3N5P7R9S1T3V5';
type Script = (subscribe: { taskId: string; after: number }, send: (message: unknown) => void) => void;

let server: WebSocketServer | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server that answers each `subscribe` with what the script sends, recording every client message. */
const scriptedServer = async (script: Script) => {
  const received: Record<string, unknown>[] = [];
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  server = wss;
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (socket: ServerSocket) => {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      received.push(message);
      if (message.action === 'subscribe') script(message as { taskId: string; after: number }, (reply) => socket.send(JSON.stringify(reply)));
    });
  });
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/live`;
  return { url, received, connections: () => wss.clients.size };
};

const entries = (from: number, to: number) => range(from, to).map((seq) => ({ seq, data: { text: `t${seq} ` } }));
// A client token: an API key would first be exchanged for one at the (absent) HTTP API.
const clientOf = (url: string) => new OffloadClient({ endpoint: 'http://127.0.0.1:9', webSocketUrl: url, credential: 'oft_test' });
const seqsOf = (events: readonly WatchEvent[]) => events.flatMap((event) => (event.kind === 'progress' ? [event.seq] : []));

describe('client SDK watch: batched replay and continuation', () => {
  it('yields every entry of progress and progressBatch messages once, in order, dropping replayed duplicates', async () => {
    // Prepare
    const { url } = await scriptedServer(({ after }, send) => {
      send({ type: 'subscribed', taskId: TASK, after });
      send({ type: 'progressBatch', taskId: TASK, entries: entries(1, 4) });
      send({ type: 'progress', taskId: TASK, seq: 4, data: { text: 't4 ' } });
      send({ type: 'progressBatch', taskId: TASK, entries: entries(3, 7) });
      send({ type: 'progress', taskId: TASK, seq: 8, data: { text: 't8 ' } });
      send({ type: 'status', taskId: TASK, status: 'succeeded', result: { text: 'done' } });
    });
    // Act
    const events = await collect(clientOf(url).watch(TASK));
    // Assess
    expect(seqsOf(events)).toEqual(range(1, 8));
    expect(events.flatMap((event) => (event.kind === 'progress' ? [(event.data as { text: string }).text] : [])).join('')).toBe(range(1, 8).map((seq) => `t${seq} `).join(''));
    expect(events.at(-1)).toEqual({ kind: 'status', taskId: TASK, status: 'succeeded', result: { text: 'done' } });
  });

  it('answers replayPaused by subscribing again after the last entry it yielded, on the same connection, until the status', async () => {
    // Prepare: the server pauses twice, each time after a batch of three
    const { url, received } = await scriptedServer(({ after }, send) => {
      send({ type: 'subscribed', taskId: TASK, after });
      if (after < 6) {
        send({ type: 'progressBatch', taskId: TASK, entries: entries(after + 1, after + 3) });
        send({ type: 'replayPaused', taskId: TASK, nextAfter: after + 3 });
        return;
      }
      send({ type: 'progressBatch', taskId: TASK, entries: entries(7, 9) });
      send({ type: 'status', taskId: TASK, status: 'succeeded', result: { text: 'done' } });
    });
    const connectionEvents: ConnectionEvent[] = [];
    // Act
    const events = await collect(clientOf(url).watch(TASK, { onConnection: (event) => connectionEvents.push(event) }));
    // Assess
    expect(seqsOf(events)).toEqual(range(1, 9));
    expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'succeeded' });
    expect(received.filter((message) => message.action === 'subscribe')).toEqual([
      { action: 'subscribe', taskId: TASK, after: 0 },
      { action: 'subscribe', taskId: TASK, after: 3 },
      { action: 'subscribe', taskId: TASK, after: 6 },
    ]);
    expect(connectionEvents).toEqual([{ type: 'subscribed', after: 0, connection: 1 }]);
  });

  it('resumes after what it yielded, not after nextAfter, so an entry lost in transit is replayed rather than skipped', async () => {
    // Prepare: of the two batches before the pause, the second (entries 3-4) is lost in transit
    const { url, received } = await scriptedServer(({ after }, send) => {
      send({ type: 'subscribed', taskId: TASK, after });
      if (after === 0) {
        send({ type: 'progressBatch', taskId: TASK, entries: entries(1, 2) });
        send({ type: 'replayPaused', taskId: TASK, nextAfter: 4 });
        return;
      }
      send({ type: 'progressBatch', taskId: TASK, entries: entries(after + 1, 5) });
      send({ type: 'status', taskId: TASK, status: 'succeeded' });
    });
    // Act
    const events = await collect(clientOf(url).watch(TASK));
    // Assess
    expect(received.filter((message) => message.action === 'subscribe').map((message) => message.after)).toEqual([0, 2]);
    expect(seqsOf(events)).toEqual(range(1, 5));
    expect(events.some((event) => event.kind === 'gap')).toBe(false);
  });
});
