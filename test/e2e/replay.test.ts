import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffloadClient } from '../../client/sdk/index.ts';
import { call, startHarness, streamOf, WsClient, type Harness } from './harness.ts';

/**
 * A subscriber replaying a long, finished task from the start, through the local runtime: the
 * subscribe function (10 s timeout, as deployed) sends the log in `progressBatch` messages, so the
 * WebSocket messages and `PostToConnection` calls are a small fraction of the entries. Workers
 * write progress without coalescing (`PROGRESS_INTERVAL_MS=0`), so a completion has about one
 * entry per token: a log of about a thousand entries.
 */

const POSTS = 'apigatewaymanagementapi:PostToConnection';
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('replay of a long task', { timeout: 180_000 }, () => {
  let harness: Harness;
  let http: string;
  let ws: string;
  let apiKey: string;
  let task: { taskId: string; result: { text: string }; progress: { seq: number } };

  beforeAll(async () => {
    harness = await startHarness({ functionEnvironment: { PROGRESS_INTERVAL_MS: '0' } });
    ({ httpApi: http, webSocketApi: ws } = harness.runtime.endpoints);
    apiKey = harness.runtime.endpoints.devTenant.apiKey;
    const submitted = await call(`${http}/v1/tasks`, { apiKey, body: { type: 'completion', input: { prompt: 'a long replay', maxTokens: 1_000, model: 'sim-fast' } } });
    for (let i = 0; i < 600; i++) {
      const current = await call(`${http}/v1/tasks/${submitted.body.taskId}`, { apiKey });
      if (current.body.status === 'succeeded') {
        task = current.body;
        break;
      }
      expect(current.body.status).toMatch(/queued|running/);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(task).toBeDefined();
  });
  afterAll(async () => harness?.stop());

  it('sends every entry once, in order, in far fewer WebSocket messages than entries, then the status', async () => {
    // Prepare
    const client = await WsClient.connect(`${ws}?token=${apiKey}`);
    const postsBefore = harness.runtime.counter.snapshot()[POSTS] ?? 0;
    const started = Date.now();
    // Act
    client.send({ action: 'subscribe', taskId: task.taskId, after: 0 });
    const status = await client.waitFor((message) => message.type === 'status', 30_000);
    const elapsedMs = Date.now() - started;
    const posts = (harness.runtime.counter.snapshot()[POSTS] ?? 0) - postsBefore;
    await client.close();
    // Assess
    const stream = streamOf(client, task.taskId);
    console.info('replay through the local runtime', { entries: task.progress.seq, messages: client.messages.length, progressMessages: stream.messages, postToConnection: posts, elapsedMs });
    expect(task.progress.seq).toBeGreaterThanOrEqual(500);
    expect(stream.seqs).toEqual(range(1, task.progress.seq));
    expect(stream.text).toBe(task.result.text);
    expect(stream.status).toEqual([status]);
    expect(client.messages.at(-1)).toBe(status);
    expect(client.messages.filter((message) => message.type === 'replayPaused')).toEqual([]);
    expect(stream.messages).toBeLessThanOrEqual(task.progress.seq / 50); // before: one message per entry
    expect(posts).toBe(client.messages.length); // subscribed, the batches, the status: nothing else pushed
  });

  it('lets the SDK watch the finished task from the start: each entry once, in order, then the status', async () => {
    // Prepare
    const client = new OffloadClient({ endpoint: http, webSocketUrl: ws, credential: apiKey });
    // Act
    const seqs: number[] = [];
    let text = '';
    let last: unknown;
    for await (const event of client.watch<'completion'>(task.taskId)) {
      if (event.kind === 'progress') {
        seqs.push(event.seq);
        text += event.data.text;
      }
      last = event;
    }
    // Assess
    expect(seqs).toEqual(range(1, task.progress.seq));
    expect(text).toBe(task.result.text);
    expect(last).toMatchObject({ kind: 'status', status: 'succeeded' });
  });
});
