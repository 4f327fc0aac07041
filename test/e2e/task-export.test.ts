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
});
