import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startHarness, type Harness } from './harness.ts';

/** Per-tenant request-rate limits (authorizer token buckets), and what unauthenticated calls cost. */

const RATE = 1;
const BURST = 4;

describe('per-tenant rate limits and cheap anonymous requests', () => {
  let harness: Harness;
  let http: string;
  let apiKey: string;
  const dynamoCalls = (): number => Object.entries(harness.runtime.counter.snapshot()).reduce((sum, [key, n]) => (key.startsWith('dynamodb:') ? sum + n : sum), 0);
  beforeAll(async () => {
    // Schedules slowed down: no background DynamoDB traffic while calls are counted.
    harness = await startHarness({ functionEnvironment: { TENANT_RATE_LIMIT: String(RATE), TENANT_BURST_LIMIT: String(BURST) }, scheduleTimeScale: 1000 });
    http = harness.runtime.endpoints.httpApi;
    apiKey = harness.runtime.endpoints.devTenant.apiKey;
  });
  afterAll(async () => harness?.stop());

  it('answers 429 problem+json with Retry-After once a tenant spends its burst, doing nothing, and leaves other tenants alone', async () => {
    // Prepare
    const other = await harness.newTenant('rate-limit-other');
    // Act: a burst and more, in a row.
    const statuses: number[] = [];
    for (let i = 0; i < BURST + 3; i++) statuses.push((await call(`${http}/v1/tasks`, { apiKey })).status);
    const callsBefore = dynamoCalls();
    const limited = await call(`${http}/v1/tasks`, { apiKey });
    const limitedCost = dynamoCalls() - callsBefore;
    const otherTenant = await call(`${http}/v1/tasks`, { apiKey: other.apiKey });
    // Assess
    expect(statuses.slice(0, BURST)).toEqual(Array(BURST).fill(200));
    expect(statuses.slice(BURST)).toContain(429);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toBe('application/problem+json');
    expect(limited.body).toMatchObject({ status: 429, title: 'Too many requests', type: expect.stringContaining('rate-limited') });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limitedCost).toBe(0);
    expect(otherTenant.status).toBe(200);
  });

  it('refills: the tenant is admitted again after Retry-After', async () => {
    // Prepare
    let refused = await call(`${http}/v1/tasks`, { apiKey });
    for (let i = 0; i < 2 * BURST && refused.status === 200; i++) refused = await call(`${http}/v1/tasks`, { apiKey });
    expect(refused.status).toBe(429);
    // Act
    await new Promise((resolve) => setTimeout(resolve, Number(refused.headers.get('retry-after')) * 1000 + 100));
    const admitted = await call(`${http}/v1/tasks`, { apiKey });
    // Assess
    expect(admitted.status).toBe(200);
  });

  it('answers missing or malformed credentials with 401 without any DynamoDB call', async () => {
    // Prepare
    const before = dynamoCalls();
    // Act
    const responses = [
      await call(`${http}/v1/tasks`),
      await call(`${http}/v1/tasks`, { headers: { authorization: 'Bearer' } }),
      await call(`${http}/v1/tasks`, { headers: { authorization: `Basic ${Buffer.from(`x:${apiKey}`).toString('base64')}` } }),
      await call(`${http}/v1/tasks`, { headers: { authorization: 'Bearer not-a-key' } }),
      await call(`${http}/v1/tasks`, { headers: { authorization: `Bearer ${'A'.repeat(8192)}` } }),
    ];
    // Assess
    expect(responses.map((response) => response.status)).toEqual([401, 401, 401, 401, 401]);
    expect(dynamoCalls() - before).toBe(0);
  });
});
