import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, isProgress, startHarness, streamOf, WsClient, type Harness } from './harness.ts';

const completion = (prompt: string, maxTokens = 40, model = 'sim-fast') => ({ type: 'completion', input: { prompt, maxTokens, model } });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('foundation: submit over HTTP, stream over WebSocket, under the local runtime', () => {
  let harness: Harness;
  let http: string;
  let ws: string;
  let apiKey: string;

  beforeAll(async () => {
    harness = await startHarness();
    ({ httpApi: http, webSocketApi: ws } = harness.runtime.endpoints);
    apiKey = harness.runtime.endpoints.devTenant.apiKey;
  });
  afterAll(async () => harness?.stop());

  it('writes endpoints.json with the documented shape', () => {
    // Act
    const endpoints = JSON.parse(readFileSync(path.join(harness.dir, 'endpoints.json'), 'utf8'));
    // Assess
    expect(Object.keys(endpoints).sort()).toEqual(['cdn', 'dashboard', 'devTenant', 'httpApi', 'resources', 'services', 'webSocketApi']);
    expect(Object.keys(endpoints.services)).toEqual(expect.arrayContaining(['apigatewaymanagementapi', 'dynamodb', 'eventbridge', 'sqs']));
    expect(endpoints.devTenant).toEqual({ id: expect.any(String), apiKey: expect.stringMatching(/^ofk_/) });
    expect(endpoints.webSocketApi).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/live$/);
    expect(endpoints.resources.tasksTable).toEqual(expect.any(String));
    expect(Object.keys(endpoints.resources.queues).sort()).toEqual(['analytics', 'batch', 'integrations', 'interactive']);
    expect(endpoints.resources.queues.interactive).toEqual({ url: expect.stringContaining('InteractiveQueue'), deadLetterUrl: expect.stringContaining('InteractiveDlq') });
  });

  it('acknowledges a submit with 202, the task id and Location before any work runs', async () => {
    // Act
    const response = await call(`${http}/v1/tasks`, { apiKey, body: completion('ack me', 200, 'sim-1') });
    // Assess
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ taskId: expect.stringMatching(/^tsk_/), status: 'queued', progress: { seq: 0 }, attempts: 0 });
    expect(response.headers.get('location')).toBe(`/v1/tasks/${response.body.taskId}`);
  });

  it('streams every progress entry exactly once, in order, then the final status; the text equals the result', async () => {
    // Prepare
    const client = await WsClient.connect(`${ws}?token=${apiKey}`);
    const { body: task } = await call(`${http}/v1/tasks`, { apiKey, body: completion('stream me please', 120, 'sim-1') });
    // Act
    client.send({ action: 'subscribe', taskId: task.taskId, after: 0 });
    const status = await client.waitFor((message) => message.type === 'status' && message.taskId === task.taskId);
    await client.close();
    // Assess
    const stream = streamOf(client, task.taskId);
    expect(status.status).toBe('succeeded');
    expect(stream.status).toHaveLength(1);
    expect(stream.seqs.length).toBeGreaterThan(1);
    expect(stream.seqs).toEqual(range(1, stream.seqs.length));
    expect(stream.violations).toEqual([]);
    expect(stream.text).toBe(status.result.text);
    expect(status.result.usage.completionTokens).toBe(120);
    const last = client.messages.findLastIndex(isProgress);
    expect(client.messages.findIndex((message) => message.type === 'status')).toBeGreaterThan(last);
  });

  it('replays entries after N and the final status to a late subscriber', async () => {
    // Prepare
    const { body: task } = await call(`${http}/v1/tasks`, { apiKey, body: completion('late subscriber', 60) });
    const first = await WsClient.connect(`${ws}?token=${apiKey}`);
    first.send({ action: 'subscribe', taskId: task.taskId });
    const done = await first.waitFor((message) => message.type === 'status');
    await first.close();
    const total = streamOf(first, task.taskId).seqs.length;
    const after = Math.floor(total / 2);
    // Act
    const late = await WsClient.connect(`${ws}?token=${apiKey}`);
    late.send({ action: 'subscribe', taskId: task.taskId, after });
    await late.waitFor((message) => message.type === 'status');
    await late.close();
    // Assess
    const replay = streamOf(late, task.taskId);
    expect(replay.seqs).toEqual(range(after + 1, total));
    expect(replay.status).toEqual([done]);
  });

  it('delivers to many concurrent subscribers of many tasks without gaps or duplicates', async () => {
    // Prepare
    const tasks = await Promise.all(range(1, 12).map((i) => call(`${http}/v1/tasks`, { apiKey, body: completion(`parallel ${i}`, 80) })));
    const clients = await Promise.all(tasks.map(() => WsClient.connect(`${ws}?token=${apiKey}`)));
    // Act
    clients.forEach((client, i) => client.send({ action: 'subscribe', taskId: tasks[i]!.body.taskId, after: 0 }));
    const statuses = await Promise.all(clients.map((client) => client.waitFor((message) => message.type === 'status', 60_000)));
    await Promise.all(clients.map((client) => client.close()));
    // Assess
    clients.forEach((client, i) => {
      const stream = streamOf(client, tasks[i]!.body.taskId);
      expect(stream.seqs).toEqual(range(1, stream.seqs.length));
      expect(stream.violations).toEqual([]);
      expect(stream.text).toBe(statuses[i].result.text);
    });
  });

  it('serves the task with ETag, 304 on If-None-Match, a Cache-Control that suits the state, and the events log', async () => {
    // Prepare
    const { body: task } = await call(`${http}/v1/tasks`, { apiKey, body: completion('read me', 60, 'sim-1') });
    const running = await call(`${http}/v1/tasks/${task.taskId}`, { apiKey });
    const client = await WsClient.connect(`${ws}?token=${apiKey}`);
    client.send({ action: 'subscribe', taskId: task.taskId });
    await client.waitFor((message) => message.type === 'status');
    await client.close();
    // Act
    const done = await call(`${http}/v1/tasks/${task.taskId}`, { apiKey });
    const notModified = await call(`${http}/v1/tasks/${task.taskId}`, { apiKey, headers: { 'if-none-match': done.headers.get('etag')! } });
    const events = await call(`${http}/v1/tasks/${task.taskId}/events?after=1&limit=2`, { apiKey });
    // Assess
    // At most a second at the edge while running; 0 when the authorizer's cached verdict on the key ends within that second.
    expect(running.headers.get('cache-control')).toMatch(/\bs-maxage=[01]\b/);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ taskId: task.taskId, type: 'completion', status: 'succeeded', attempts: 1, result: { text: expect.any(String) } });
    expect(done.body.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(done.headers.get('cache-control')).toContain('immutable');
    expect(done.headers.get('etag')).toMatch(/^".+"$/);
    expect(notModified.status).toBe(304);
    expect(events.status).toBe(200);
    expect(events.body.items.map((entry: { seq: number }) => entry.seq)).toEqual([2, 3]);
    expect(events.body.nextAfter).toBe(3);
  });

  it('caches terminal reads at the edge per credential', async () => {
    // Prepare
    const { cdn } = harness.runtime.endpoints;
    const { body: task } = await call(`${http}/v1/tasks`, { apiKey, body: completion('cache me', 10) });
    const client = await WsClient.connect(`${ws}?token=${apiKey}`);
    client.send({ action: 'subscribe', taskId: task.taskId });
    await client.waitFor((message) => message.type === 'status');
    await client.close();
    const other = await harness.newTenant('edge-other');
    // Act
    const first = await call(`${cdn}/v1/tasks/${task.taskId}`, { apiKey });
    const second = await call(`${cdn}/v1/tasks/${task.taskId}`, { apiKey });
    const otherTenant = await call(`${cdn}/v1/tasks/${task.taskId}`, { apiKey: other.apiKey });
    // Assess
    expect(first.headers.get('x-cache')).toMatch(/^Miss/);
    expect(second.headers.get('x-cache')).toMatch(/^Hit/);
    expect(second.body).toEqual(first.body);
    expect(otherTenant.status).toBe(404);
    expect(otherTenant.headers.get('x-cache')).toMatch(/^Miss/);
  });

  describe('errors are problem+json', () => {
    const expectProblem = (response: { status: number; headers: Headers; body: any }, status: number) => {
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.body).toMatchObject({ type: expect.stringContaining('/problems/'), title: expect.any(String), status, detail: expect.any(String) });
      expect(JSON.stringify(response.body)).not.toMatch(/at .*\.(m?js|ts):\d+/);
    };

    it('401 without a key and with an invalid key', async () => {
      expectProblem(await call(`${http}/v1/tasks`, { body: completion('x') }), 401);
      expectProblem(await call(`${http}/v1/tasks`, { apiKey: 'ofk_nope', body: completion('x') }), 401);
      expectProblem(await call(`${http}/v1/tasks/tsk_01M849C7620B60EW7584K8WCF2`, { apiKey: apiKey.slice(0, -2) + 'xx' }), 401);
    });

    it('400 for invalid JSON, an unknown type and input failing the schema', async () => {
      expectProblem(await call(`${http}/v1/tasks`, { apiKey, body: '{"type": "completion",' }), 400);
      expectProblem(await call(`${http}/v1/tasks`, { apiKey, body: { type: 'nope', input: {} } }), 400);
      expectProblem(await call(`${http}/v1/tasks`, { apiKey, body: { type: 'completion', input: { prompt: 42 } } }), 400);
      expectProblem(await call(`${http}/v1/tasks`, { apiKey, body: { type: 'completion', input: { prompt: 'x', model: 'gpt-unknown' } } }), 400);
    });

    it('404 for unknown ids, malformed ids and other tenants\u2019 tasks', async () => {
      const { body: task } = await call(`${http}/v1/tasks`, { apiKey, body: completion('mine') });
      const other = await harness.newTenant('other');
      expectProblem(await call(`${http}/v1/tasks/tsk_01M849C7620B60EW7584K8WCF2`, { apiKey }), 404);
      expectProblem(await call(`${http}/v1/tasks/..%2F..%2Fetc`, { apiKey }), 404);
      expectProblem(await call(`${http}/v1/tasks/${task.taskId}`, { apiKey: other.apiKey }), 404);
      expectProblem(await call(`${http}/v1/tasks/${task.taskId}/events`, { apiKey: other.apiKey }), 404);
    });

    it('415 for a non-JSON body and 413 for an oversized one', async () => {
      expectProblem(await call(`${http}/v1/tasks`, { apiKey, body: 'prompt=hi', headers: { 'content-type': 'text/plain' } }), 415);
      expectProblem(await call(`${http}/v1/tasks`, { apiKey, body: completion('x'.repeat(200_000)) }), 413);
    });
  });

  describe('WebSocket API', () => {
    it('submits over the socket: ack with the request id, then the stream, same as HTTP', async () => {
      // Prepare
      const client = await WsClient.connect(`${ws}?token=${apiKey}`);
      // Act
      client.send({ action: 'submit', type: 'completion', input: { prompt: 'over the socket', maxTokens: 15, model: 'sim-fast' }, requestId: 'r-1' });
      const ack = await client.waitFor((message) => message.type === 'ack');
      client.send({ action: 'subscribe', taskId: ack.taskId });
      const status = await client.waitFor((message) => message.type === 'status');
      client.send({ action: 'submit', type: 'completion', input: { prompt: 7 }, requestId: 'r-2' });
      const rejected = await client.waitFor((message) => message.type === 'error' && message.requestId === 'r-2');
      await client.close();
      // Assess
      expect(ack).toEqual({ type: 'ack', requestId: 'r-1', taskId: expect.stringMatching(/^tsk_/) });
      expect(status.status).toBe('succeeded');
      expect(streamOf(client, ack.taskId).text).toBe(status.result.text);
      expect(rejected.status).toBe(400);
    });

    it('rejects the handshake without a token (401) and with a bad one (403)', async () => {
      await expect(WsClient.connect(ws)).rejects.toMatchObject({ statusCode: 401 });
      await expect(WsClient.connect(`${ws}?token=ofk_bad`)).rejects.toMatchObject({ statusCode: 403 });
    });

    it('answers ping with pong, unknown actions and bad subscribes with error messages', async () => {
      // Prepare
      const client = await WsClient.connect(`${ws}?token=${apiKey}`);
      const other = await harness.newTenant('ws-other');
      const { body: foreign } = await call(`${http}/v1/tasks`, { apiKey: other.apiKey, body: completion('not yours') });
      // Act
      client.send({ action: 'ping' });
      const pong = await client.waitFor((message) => message.type === 'pong');
      client.send({ action: 'dance' });
      const unknown = await client.waitFor((message) => message.type === 'error' && /Unknown action/.test(message.detail));
      client.send({ action: 'subscribe', taskId: foreign.taskId });
      const notFound = await client.waitFor((message) => message.type === 'error' && message.status === 404);
      client.send({ action: 'subscribe', taskId: 7 });
      const invalid = await client.waitFor((message) => message.type === 'error' && message.status === 400 && !/Unknown action/.test(message.detail));
      await client.close();
      // Assess
      expect(pong).toEqual({ type: 'pong' });
      expect(unknown.status).toBe(400);
      expect(notFound.title).toBe('Not found');
      expect(invalid.detail).toContain('taskId');
      expect(client.messages.filter(isProgress)).toEqual([]);
    });
  });
});
