import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, entriesIn, startHarness, streamOf, WsClient, type Harness } from './harness.ts';

const completion = (prompt: string, maxTokens = 20, model = 'sim-fast') => ({ type: 'completion', input: { prompt, maxTokens, model } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('task lifecycle: listing and cancel', () => {
  let harness: Harness;
  let http: string;
  let apiKey: string;
  beforeAll(async () => {
    harness = await startHarness();
    http = harness.runtime.endpoints.httpApi;
    apiKey = harness.runtime.endpoints.devTenant.apiKey;
  });
  afterAll(async () => harness?.stop());

  it('lists the tenant\u2019s tasks newest first with cursor pagination and a status filter', async () => {
    // Prepare
    const tenant = await harness.newTenant('lister');
    const ids: string[] = [];
    for (const i of [1, 2, 3]) ids.push((await call(`${http}/v1/tasks`, { apiKey: tenant.apiKey, body: completion(`list ${i}`, 5) })).body.taskId);
    // Act
    const first = await call(`${http}/v1/tasks?limit=2`, { apiKey: tenant.apiKey });
    const second = await call(`${http}/v1/tasks?limit=2&cursor=${first.body.nextCursor}`, { apiKey: tenant.apiKey });
    let succeeded = await call(`${http}/v1/tasks?status=succeeded`, { apiKey: tenant.apiKey });
    for (let i = 0; i < 50 && succeeded.body.items.length < 3; i++) {
      await sleep(200);
      succeeded = await call(`${http}/v1/tasks?status=succeeded`, { apiKey: tenant.apiKey });
    }
    const cancelledOnly = await call(`${http}/v1/tasks?status=cancelled`, { apiKey: tenant.apiKey });
    const foreignCursor = await call(`${http}/v1/tasks?limit=2&cursor=${first.body.nextCursor}`, { apiKey });
    const badStatus = await call(`${http}/v1/tasks?status=done`, { apiKey: tenant.apiKey });
    // Assess
    expect(first.status).toBe(200);
    expect(first.body.items.map((task: { taskId: string }) => task.taskId)).toEqual([ids[2], ids[1]]);
    expect(second.body.items.map((task: { taskId: string }) => task.taskId)).toEqual([ids[0]]);
    expect(succeeded.body.items.map((task: { taskId: string }) => task.taskId)).toEqual([...ids].reverse());
    expect(succeeded.body.items[0]).not.toHaveProperty('result');
    expect(cancelledOnly.body.items).toEqual([]);
    expect(foreignCursor.status).toBe(400);
    expect(badStatus.status).toBe(400);
    expect(badStatus.headers.get('content-type')).toBe('application/problem+json');
  });

  it('cancels a running task: it stops at its next progress write and subscribers see cancelled', async () => {
    // Prepare: a long streaming task, watched from the start.
    const { body: task } = await call(`${http}/v1/tasks`, { apiKey, body: completion('cancel me while I talk', 1000, 'sim-1') });
    const client = await WsClient.connect(`${harness.runtime.endpoints.webSocketApi}?token=${apiKey}`);
    client.send({ action: 'subscribe', taskId: task.taskId });
    await client.waitFor((message) => entriesIn(message).some((entry) => entry.seq >= 2));
    // Act
    const cancelled = await call(`${http}/v1/tasks/${task.taskId}/cancel`, { apiKey, method: 'POST' });
    const status = await client.waitFor((message) => message.type === 'status');
    const seqAtCancel = (await call(`${http}/v1/tasks/${task.taskId}`, { apiKey })).body.progress.seq;
    await sleep(1_000);
    const later = await call(`${http}/v1/tasks/${task.taskId}`, { apiKey });
    const again = await call(`${http}/v1/tasks/${task.taskId}/cancel`, { apiKey, method: 'POST' });
    await client.close();
    // Assess
    expect(cancelled.status).toBe(202);
    expect(cancelled.body.status).toBe('cancelled');
    expect(status.status).toBe('cancelled');
    expect(later.body.status).toBe('cancelled');
    expect(later.body.progress.seq).toBe(seqAtCancel);
    expect(later.body.progress.seq).toBeLessThan(100);
    expect(again.status).toBe(200);
    const stream = streamOf(client, task.taskId);
    expect(stream.seqs).toEqual(stream.seqs.map((_, i) => i + 1));
    expect(stream.status).toHaveLength(1);
  });

  it('writes structured JSON logs with task, tenant and correlation ids, EMF metrics of the whole lifecycle, and never logs credentials', async () => {
    // Prepare
    const correlationId = `corr-observe-${Date.now()}`;
    const { body: task } = await call(`${http}/v1/tasks`, { apiKey, body: completion('observe me', 5), headers: { 'x-correlation-id': correlationId } });
    const { body: untagged } = await call(`${http}/v1/tasks`, { apiKey, body: completion('observe me too', 5), headers: { 'x-correlation-id': 'bad id\twith spaces' } });
    for (const id of [task.taskId, untagged.taskId]) {
      for (let i = 0; i < 50 && (await call(`${http}/v1/tasks/${id}`, { apiKey })).body.status !== 'succeeded'; i++) await sleep(100);
    }
    // Act: metrics are flushed when the worker invocation ends, a moment after the task succeeded.
    const metricNames = ['TasksSubmitted', 'AckLatency', 'TasksStarted', 'TaskAttempts', 'QueueAge', 'TasksSucceeded', 'TaskDuration'];
    let log = '';
    for (let i = 0; i < 100; i++) {
      log = readFileSync(path.join(harness.dir, 'runtime.log'), 'utf8');
      if (metricNames.every((name) => log.includes(`"${name}"`))) break;
      await sleep(100);
    }
    const records = log
      .split('\n')
      .map((line) => line.slice(line.indexOf('{')))
      .filter((line) => line.startsWith('{'))
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return undefined;
        }
      })
      .filter((record): record is Record<string, unknown> => record !== undefined);
    const workerLines = (taskId: string) => records.filter((record) => record.taskId === taskId && record.level !== undefined && String(record.function_name ?? '').includes('InteractiveWorker'));
    // Assess
    for (const name of metricNames) expect(log, name).toMatch(new RegExp(`"_aws":\\{[^]*"${name}"`));
    const tagged = workerLines(task.taskId);
    expect(tagged.length).toBeGreaterThan(0);
    for (const line of tagged) expect(line).toMatchObject({ taskId: task.taskId, tenantId: harness.runtime.endpoints.devTenant.id, correlationId, taskType: 'completion' });
    // A malformed correlation header is replaced by the gateway's request id, never echoed.
    const fallback = workerLines(untagged.taskId);
    expect(fallback.length).toBeGreaterThan(0);
    expect(fallback[0]!.correlationId).toMatch(/^[A-Za-z0-9._:\/=+-]{1,128}$/);
    expect(log).not.toContain('bad id');
    const secretPart = apiKey.slice(apiKey.indexOf('_', 4) + 1);
    expect(secretPart.length).toBeGreaterThan(30);
    expect(log).not.toContain(apiKey);
    expect(log).not.toContain(secretPart);
  });

  it('refuses to cancel a finished task (409) and hides other tenants\u2019 tasks (404)', async () => {
    // Prepare
    const { body: task } = await call(`${http}/v1/tasks`, { apiKey, body: completion('finish first', 3) });
    let read = await call(`${http}/v1/tasks/${task.taskId}`, { apiKey });
    for (let i = 0; i < 50 && read.body.status !== 'succeeded'; i++) {
      await sleep(100);
      read = await call(`${http}/v1/tasks/${task.taskId}`, { apiKey });
    }
    const other = await harness.newTenant('canceller');
    // Act
    const conflict = await call(`${http}/v1/tasks/${task.taskId}/cancel`, { apiKey, method: 'POST' });
    const foreign = await call(`${http}/v1/tasks/${task.taskId}/cancel`, { apiKey: other.apiKey, method: 'POST' });
    // Assess
    expect(conflict.status).toBe(409);
    expect(conflict.body.detail).toContain('succeeded');
    expect(foreign.status).toBe(404);
  });
});

describe('task lifecycle: Idempotency-Key', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => harness?.stop());

  it('replays the original task for the same key and body, per tenant; 422 for another body; 400 for a bad key', async () => {
    // Prepare
    const { httpApi, devTenant } = harness.runtime.endpoints;
    const other = await harness.newTenant('idem-other');
    const body = completion('exactly once', 5);
    const headers = { 'idempotency-key': 'order-42' };
    // Act
    const first = await call(`${httpApi}/v1/tasks`, { apiKey: devTenant.apiKey, body, headers });
    const retry = await call(`${httpApi}/v1/tasks`, { apiKey: devTenant.apiKey, body: { input: body.input, type: body.type }, headers });
    const otherBody = await call(`${httpApi}/v1/tasks`, { apiKey: devTenant.apiKey, body: completion('something else', 5), headers });
    const otherTenant = await call(`${httpApi}/v1/tasks`, { apiKey: other.apiKey, body, headers });
    const badKey = await call(`${httpApi}/v1/tasks`, { apiKey: devTenant.apiKey, body, headers: { 'idempotency-key': 'x'.repeat(300) } });
    const listed = await call(`${httpApi}/v1/tasks`, { apiKey: devTenant.apiKey });
    // Assess
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.status).toBe(202);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.taskId).toBe(first.body.taskId);
    expect(retry.headers.get('location')).toBe(first.headers.get('location'));
    expect(otherBody.status).toBe(422);
    expect(otherBody.headers.get('content-type')).toBe('application/problem+json');
    expect(otherTenant.status).toBe(202);
    expect(otherTenant.body.taskId).not.toBe(first.body.taskId);
    expect(badKey.status).toBe(400);
    expect(listed.body.items.filter((task: { taskId: string }) => task.taskId === first.body.taskId)).toHaveLength(1);
  });
});

describe('task lifecycle: per-tenant admission control', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ functionEnvironment: { TENANT_INFLIGHT_LIMIT: '2' } });
  });
  afterAll(async () => harness?.stop());

  it('answers 429 with Retry-After at the limit, frees slots as tasks end, and never starves another tenant', async () => {
    // Prepare
    const { httpApi, devTenant } = harness.runtime.endpoints;
    const apiKey = devTenant.apiKey;
    const other = await harness.newTenant('admission-other');
    const long = completion('hold a slot', 2000, 'sim-1');
    const a = await call(`${httpApi}/v1/tasks`, { apiKey, body: long });
    const b = await call(`${httpApi}/v1/tasks`, { apiKey, body: long });
    // Act
    const refused = await call(`${httpApi}/v1/tasks`, { apiKey, body: long });
    const otherTenant = await call(`${httpApi}/v1/tasks`, { apiKey: other.apiKey, body: completion('independent', 3) });
    await call(`${httpApi}/v1/tasks/${a.body.taskId}/cancel`, { apiKey, method: 'POST' });
    const afterCancel = await call(`${httpApi}/v1/tasks`, { apiKey, body: completion('fits again', 3) });
    await call(`${httpApi}/v1/tasks/${b.body.taskId}/cancel`, { apiKey, method: 'POST' });
    // Assess
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(otherTenant.status).toBe(202);
    expect(afterCancel.status).toBe(202);
  });
});

describe('task lifecycle: a queued task cancelled before any worker polls never starts', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ eventSources: false });
  });
  afterAll(async () => harness?.stop());

  it('stays cancelled, with no attempt and no progress, once workers drain the queue', async () => {
    // Prepare
    const { httpApi, devTenant } = harness.runtime.endpoints;
    const { body: task } = await call(`${httpApi}/v1/tasks`, { apiKey: devTenant.apiKey, body: completion('never run', 10) });
    // Act
    const cancelled = await call(`${httpApi}/v1/tasks/${task.taskId}/cancel`, { apiKey: devTenant.apiKey, method: 'POST' });
    await harness.runtime.eventBridge.idle();
    for (const source of harness.runtime.eventSources) source.start();
    const worker = [...harness.runtime.functions.values()].find((fn) => fn.config.logicalId.startsWith('InteractiveWorker'))!;
    for (let i = 0; i < 100 && worker.stats.invocations === 0; i++) await sleep(100);
    await worker.drain(5_000);
    const read = await call(`${httpApi}/v1/tasks/${task.taskId}`, { apiKey: devTenant.apiKey });
    // Assess
    expect(cancelled.status).toBe(202);
    expect(worker.stats.invocations).toBeGreaterThan(0);
    expect(read.body).toMatchObject({ status: 'cancelled', attempts: 0, progress: { seq: 0 } });
    expect(read.body.startedAt).toBeUndefined();
  });
});
