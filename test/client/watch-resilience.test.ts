import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionEvent, WatchEvent } from '../../client/sdk/index.ts';
import { startHarness, type Harness } from '../e2e/harness.ts';
import { clientFor, killSubscribers, range, sleep } from './support.ts';

describe('client SDK watch: resumes across repeated server-side disconnects', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => harness?.stop());

  it('delivers every progress entry exactly once and in order, then the status, while its connection is killed at least 5 times', async () => {
    // Prepare: a long streaming task (~1200 tokens at ~40 tokens/s: about 30 s of progress)
    const client = clientFor(harness, { watch: { reconnectBaseDelayMs: 100 } });
    const task = await client.submit('completion', { prompt: 'a long answer streamed through many disconnects', maxTokens: 1200, model: 'sim-1' });
    const connections: ConnectionEvent[] = [];
    const events: WatchEvent<{ text: string }, { text: string }>[] = [];
    let kills = 0;
    let finished = false;
    // Act: consume the watch while, each time it is subscribed again, the server closes its connection mid-stream
    const consumer = (async () => {
      for await (const event of client.watch<'completion'>(task.taskId, { onConnection: (event) => connections.push(event) })) events.push(event);
      finished = true;
    })();
    const killer = (async () => {
      let seen = 0;
      while (!finished && kills < 7) {
        const subscribed = connections.filter((event) => event.type === 'subscribed').length;
        const progressed = events.length;
        if (subscribed > seen && progressed > 0) {
          await sleep(700 + Math.floor(Math.random() * 600));
          const current = await client.get(task.taskId);
          if (current.status !== 'running') break;
          const closed = await killSubscribers(harness, task.taskId);
          if (closed > 0) {
            kills++;
            seen = subscribed;
          }
        }
        await sleep(50);
      }
    })();
    await Promise.all([consumer, killer]);
    // Assess
    const final = await client.get<'completion'>(task.taskId);
    const progress = events.filter((event) => event.kind === 'progress');
    const status = events.at(-1)!;
    expect(kills).toBeGreaterThanOrEqual(5);
    expect(connections.filter((event) => event.type === 'disconnected').length).toBeGreaterThanOrEqual(kills);
    expect(connections.filter((event) => event.type === 'subscribed').length).toBeGreaterThan(kills);
    expect(events.some((event) => event.kind === 'gap')).toBe(false);
    expect(progress.map((event) => event.seq)).toEqual(range(1, final.progress.seq));
    expect(progress.map((event) => event.data.text).join('')).toBe(final.result!.text);
    expect(status).toMatchObject({ kind: 'status', status: 'succeeded', result: { text: final.result!.text } });
    expect(events.filter((event) => event.kind === 'status')).toHaveLength(1);
  }, 180_000);
});
