import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, localS3, startHarness, type Harness } from './harness.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('analytics export: masked at the perimeter', () => {
  let harness: Harness;
  let s3: S3Client;
  let bucket: string;
  beforeAll(async () => {
    harness = await startHarness();
    const local = localS3(harness);
    s3 = local.s3;
    bucket = local.bucket('AnalyticsExport');
  });
  afterAll(async () => harness?.stop());

  const rowsFor = async (taskId: string) => {
    for (let i = 0; i < 100; i++) {
      const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'events/' }));
      for (const object of Contents) {
        const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key! }))).Body!.transformToString();
        const rows = body.trim().split('\n').map((line) => JSON.parse(line)).filter((row) => row.taskId === taskId);
        if (rows.length) return { key: object.Key!, rows };
      }
      await sleep(200);
    }
    throw new Error(`no analytics row for ${taskId}`);
  };

  it('writes date-partitioned NDJSON with the sensitive fields keyed-hashed per tenant', async () => {
    // Prepare: the same prompt from two tenants.
    const { httpApi, devTenant } = harness.runtime.endpoints;
    const other = await harness.newTenant('analytics-other');
    const prompt = 'my medical history is private';
    const submit = (apiKey: string) => call(`${httpApi}/v1/tasks`, { apiKey, body: { type: 'completion', input: { prompt, maxTokens: 5, model: 'sim-fast' } } });
    const mine = (await submit(devTenant.apiKey)).body.taskId;
    const mineAgain = (await submit(devTenant.apiKey)).body.taskId;
    const theirs = (await submit(other.apiKey)).body.taskId;
    // Act
    const [a, b, c] = [await rowsFor(mine), await rowsFor(mineAgain), await rowsFor(theirs)];
    // Assess
    const row = a.rows[0];
    expect(a.key).toMatch(/^events\/dt=\d{4}-\d\d-\d\d\/hour=\d\d\/.+\.ndjson$/);
    expect(row).toMatchObject({ event: 'Task Succeeded', taskId: mine, tenantId: devTenant.id, type: 'completion', status: 'succeeded', attempts: 1 });
    expect(row.input.prompt).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(row.result.text).toMatch(/^hmac-sha256:/);
    expect(row.input.maxTokens).toBe(5);
    expect(JSON.stringify(a.rows)).not.toContain('medical');
    expect(b.rows[0].input.prompt).toBe(row.input.prompt);
    expect(c.rows[0].input.prompt).not.toBe(row.input.prompt);
  }, 60_000); // the export gathers events for up to 10 s (the analytics event source's batching window)
});
