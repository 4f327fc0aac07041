import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, localS3, startHarness, type Harness } from './harness.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('tasks.export: the batch class exports a tenant\u2019s task history', () => {
  let harness: Harness;
  let s3: S3Client;
  let bucket: string;
  beforeAll(async () => {
    harness = await startHarness();
    const local = localS3(harness);
    s3 = local.s3;
    bucket = local.bucket('TaskExports');
  });
  afterAll(async () => harness?.stop());

  const settled = async (apiKey: string, taskId: string) => {
    for (let i = 0; i < 150; i++) {
      const { body } = await call(`${harness.runtime.endpoints.httpApi}/v1/tasks/${taskId}`, { apiKey });
      if (['succeeded', 'failed', 'cancelled'].includes(body.status)) return body;
      await sleep(200);
    }
    throw new Error(`${taskId} did not finish`);
  };

  it('runs on the batch worker, reports numeric progress and writes only this tenant\u2019s tasks as NDJSON, never inputs or results', async () => {
    // Prepare: three finished tasks of one tenant, one of another.
    const http = harness.runtime.endpoints.httpApi;
    const tenant = await harness.newTenant('exporter');
    const other = await harness.newTenant('bystander');
    const submit = (apiKey: string, prompt: string) => call(`${http}/v1/tasks`, { apiKey, body: { type: 'completion', input: { prompt, maxTokens: 3, model: 'sim-fast' } } });
    const mine = [];
    for (const prompt of ['secret plan one', 'secret plan two', 'secret plan three']) mine.push((await submit(tenant.apiKey, prompt)).body.taskId as string);
    const theirs = (await submit(other.apiKey, 'not yours')).body.taskId as string;
    for (const id of mine) await settled(tenant.apiKey, id);
    await settled(other.apiKey, theirs);
    const batchWorker = [...harness.runtime.functions.values()].find((fn) => fn.config.environment.WORKLOAD_CLASS === 'batch')!;
    const batchRunsBefore = batchWorker.stats.invocations;
    // Act
    const submitted = await call(`${http}/v1/tasks`, { apiKey: tenant.apiKey, body: { type: 'tasks.export', input: { status: 'succeeded' } } });
    const done = await settled(tenant.apiKey, submitted.body.taskId);
    const events = await call(`${http}/v1/tasks/${submitted.body.taskId}/events?after=0`, { apiKey: tenant.apiKey });
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: done.result.key }));
    const body = await object.Body!.transformToString();
    const rows = body.trim().split('\n').map((line) => JSON.parse(line));
    const invalid = await call(`${http}/v1/tasks`, { apiKey: tenant.apiKey, body: { type: 'tasks.export', input: { limit: 1_000_000 } } });
    // Assess
    expect(submitted.status).toBe(202);
    expect(done.status).toBe('succeeded');
    expect(batchWorker.stats.invocations).toBeGreaterThan(batchRunsBefore);
    expect(done.result).toMatchObject({ bucket, key: `exports/${tenant.tenantId}/${submitted.body.taskId}.ndjson`, tasks: 3 });
    expect(done.result.bytes).toBe(Buffer.byteLength(body));
    expect(object.ContentType).toBe('application/x-ndjson');
    expect(rows.map((row) => row.taskId)).toEqual([...mine].reverse());
    expect(rows.every((row) => row.status === 'succeeded' && row.type === 'completion')).toBe(true);
    expect(body).not.toContain(theirs);
    expect(body).not.toContain('secret plan');
    expect(rows.every((row) => !('input' in row) && !('result' in row))).toBe(true);
    const last = events.body.items.at(-1).data;
    expect(last).toEqual({ done: 3, total: 3 });
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('content-type')).toBe('application/problem+json');
  });
  it('hands the exporting tenant a short-lived URL of its NDJSON; other tenants and other task types get 404, an unfinished export 409', async () => {
    // Prepare: two finished tasks of one tenant, one of another, and the tenant's export of them.
    const http = harness.runtime.endpoints.httpApi;
    const tenant = await harness.newTenant('downloader');
    const other = await harness.newTenant('download-bystander');
    const submit = (apiKey: string, body: unknown) => call(`${http}/v1/tasks`, { apiKey, body });
    const completion = (prompt: string) => ({ type: 'completion', input: { prompt, maxTokens: 3, model: 'sim-fast' } });
    const mine = [(await submit(tenant.apiKey, completion('first'))).body.taskId as string, (await submit(tenant.apiKey, completion('second'))).body.taskId as string];
    const theirs = (await submit(other.apiKey, completion('theirs'))).body.taskId as string;
    for (const id of mine) await settled(tenant.apiKey, id);
    await settled(other.apiKey, theirs);
    const exportId = (await submit(tenant.apiKey, { type: 'tasks.export', input: { status: 'succeeded' } })).body.taskId as string;
    const exported = await settled(tenant.apiKey, exportId);
    const scoped = (await call(`${http}/v1/tokens`, { apiKey: tenant.apiKey, body: { taskIds: [exportId] } })).body.token as string;
    // Act
    const download = await call(`${http}/v1/tasks/${exportId}/download`, { apiKey: tenant.apiKey });
    const object = await fetch(download.body.url);
    const ndjson = await object.text();
    const viaScopedToken = await call(`${http}/v1/tasks/${exportId}/download`, { apiKey: scoped });
    const foreign = await call(`${http}/v1/tasks/${exportId}/download`, { apiKey: other.apiKey });
    const notExport = await call(`${http}/v1/tasks/${mine[0]}/download`, { apiKey: tenant.apiKey });
    const running = (await submit(tenant.apiKey, { type: 'tasks.export', input: {} })).body.taskId as string;
    const tooEarly = await call(`${http}/v1/tasks/${running}/download`, { apiKey: tenant.apiKey });
    await settled(tenant.apiKey, running);
    // Assess
    expect(exported.status).toBe('succeeded');
    expect(download.status).toBe(200);
    expect(download.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(download.body).sort()).toEqual(['expiresAt', 'url']);
    const url = new URL(download.body.url);
    expect(decodeURIComponent(url.pathname)).toBe(`/${bucket}/exports/${tenant.tenantId}/${exportId}.ndjson`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(download.body.expiresAt) - Date.now()).toBeGreaterThan(250_000);
    expect(Date.parse(download.body.expiresAt) - Date.now()).toBeLessThanOrEqual(300_000);
    expect(object.status).toBe(200);
    expect(object.headers.get('content-type')).toBe('application/x-ndjson');
    expect(Buffer.byteLength(ndjson)).toBe(exported.result.bytes);
    expect(ndjson.trim().split('\n').map((line) => JSON.parse(line).taskId)).toEqual([...mine].reverse());
    expect(ndjson).not.toContain(theirs);
    expect(viaScopedToken.status).toBe(200);
    expect(foreign.status).toBe(404);
    expect(foreign.headers.get('content-type')).toBe('application/problem+json');
    expect(notExport.status).toBe(404);
    expect(notExport.body.detail).toBe(`Task ${mine[0]} is a completion task; only tasks.export tasks have a download.`);
    // Submitted a moment ago, the export is queued or running, or (on a fast machine) already done.
    expect([409, 200]).toContain(tooEarly.status);
    if (tooEarly.status === 409) expect(tooEarly.body.detail).toMatch(/^The export is still (queued|running)/);
  });
});
