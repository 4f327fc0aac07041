import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startHarness, type Harness } from './harness.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('session ordering', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => harness?.stop());

  const waitAll = async (apiKey: string, ids: string[]) => {
    const done = new Map<string, any>();
    for (let i = 0; i < 300 && done.size < ids.length; i++) {
      for (const id of ids.filter((candidate) => !done.has(candidate))) {
        const read = await call(`${harness.runtime.endpoints.httpApi}/v1/tasks/${id}`, { apiKey });
        if (['succeeded', 'failed', 'cancelled'].includes(read.body.status)) done.set(id, read.body);
      }
      await sleep(100);
    }
    return ids.map((id) => done.get(id));
  };

  it('runs the tasks of one session one at a time in submit order, other sessions in parallel', async () => {
    // Prepare
    const { httpApi, devTenant } = harness.runtime.endpoints;
    const apiKey = devTenant.apiKey;
    const submit = (sessionId: string, i: number) =>
      call(`${httpApi}/v1/tasks`, { apiKey, body: { type: 'completion', sessionId, input: { prompt: `${sessionId} turn ${i}`, maxTokens: 25, model: 'sim-1' } } });
    // Act: four turns of one conversation submitted back to back, and another conversation.
    const ordered: string[] = [];
    for (const i of [1, 2, 3, 4]) ordered.push((await submit('chat-a', i)).body.taskId);
    const parallel = (await submit('chat-b', 1)).body.taskId;
    const [a1, a2, a3, a4] = await waitAll(apiKey, ordered);
    const [b1] = await waitAll(apiKey, [parallel]);
    // Assess
    const turns = [a1, a2, a3, a4];
    expect(turns.map((task) => task.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    for (let i = 1; i < turns.length; i++) {
      expect(Date.parse(turns[i].startedAt)).toBeGreaterThanOrEqual(Date.parse(turns[i - 1].finishedAt));
    }
    expect(b1.status).toBe('succeeded');
    expect(Date.parse(b1.startedAt)).toBeLessThan(Date.parse(a4.startedAt));
  });

  it('a cancelled turn lets the next one run', async () => {
    // Prepare
    const { httpApi, devTenant } = harness.runtime.endpoints;
    const apiKey = devTenant.apiKey;
    const body = (i: number, maxTokens: number) => ({ type: 'completion', sessionId: 'chat-c', input: { prompt: `turn ${i}`, maxTokens, model: 'sim-1' } });
    const first = (await call(`${httpApi}/v1/tasks`, { apiKey, body: body(1, 2000) })).body.taskId;
    const second = (await call(`${httpApi}/v1/tasks`, { apiKey, body: body(2, 5) })).body.taskId;
    await sleep(500);
    const waiting = await call(`${httpApi}/v1/tasks/${second}`, { apiKey });
    // Act
    await call(`${httpApi}/v1/tasks/${first}/cancel`, { apiKey, method: 'POST' });
    const [next] = await waitAll(apiKey, [second]);
    // Assess
    expect(waiting.body.status).toBe('queued');
    expect(next.status).toBe('succeeded');
  });
});
