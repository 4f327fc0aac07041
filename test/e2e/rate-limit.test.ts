import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startHarness, WsClient, type Harness } from './harness.ts';

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
  it('answers credential-less requests through the CDN at the edge: no API request, no Lambda invocation', async () => {
    // Prepare
    const cdn = harness.runtime.endpoints.cdn;
    const invocations = () => [...harness.runtime.functions.values()].reduce((sum, fn) => sum + fn.stats.invocations, 0);
    const before = { invocations: invocations(), dynamo: dynamoCalls() };
    // Act
    const responses = [
      await call(`${cdn}/v1/tasks`),
      await call(`${cdn}/v1/tasks`, { method: 'POST', body: { type: 'completion', input: { prompt: 'hi' } } }),
      await call(`${cdn}/v1/webhooks`, { headers: { authorization: 'Bearer not-a-key' } }),
      await call(`${cdn}/v1/tokens`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`x:${apiKey}`).toString('base64')}` } }),
    ];
    const cost = { invocations: invocations() - before.invocations, dynamo: dynamoCalls() - before.dynamo };
    // Assess
    expect(responses.map((response) => response.status)).toEqual([401, 401, 401, 401]);
    for (const response of responses) {
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.headers.get('x-cache')).toBe('FunctionGeneratedResponse from cloudfront');
      expect(response.body).toMatchObject({ status: 401, title: 'Unauthorized' });
    }
    expect(cost).toEqual({ invocations: 0, dynamo: 0 });
  });
});

describe('per-tenant rate limits on WebSocket messages', () => {
  // Each function instance keeps its own buckets (see core/rate-limit.ts) and the local runtime may
  // spread a connection's messages over a few warm environments, so the limit here is low enough
  // that a handful of instances cannot hide it.
  const WS_RATE = 0.1;
  const WS_BURST = 2;
  const MESSAGES = 24;
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ functionEnvironment: { TENANT_RATE_LIMIT: String(WS_RATE), TENANT_BURST_LIMIT: String(WS_BURST) }, scheduleTimeScale: 1000 });
  });
  afterAll(async () => harness?.stop());

  it('answers a message over the tenant\'s limit with error 429 naming the wait, and does nothing for it', async () => {
    // Prepare
    const dynamoCalls = (): number => Object.entries(harness.runtime.counter.snapshot()).reduce((sum, [key, n]) => (key.startsWith('dynamodb:') ? sum + n : sum), 0);
    const client = await WsClient.connect(`${harness.runtime.endpoints.webSocketApi}?token=${harness.runtime.endpoints.devTenant.apiKey}`);
    const answer = (requestId: string) => client.waitFor((message: any) => message.requestId === requestId);
    try {
      // Act: invalid submits (answered 400 without touching DynamoDB), one after another.
      const statuses: number[] = [];
      for (let i = 0; i < MESSAGES; i++) {
        client.send({ action: 'submit', requestId: `r${i}`, type: 'no-such-type', input: {} });
        statuses.push((await answer(`r${i}`)).status);
      }
      const callsBefore = dynamoCalls();
      client.send({ action: 'submit', requestId: 'valid', type: 'completion', input: { prompt: 'hi' } });
      const last = await answer('valid');
      const lastCost = dynamoCalls() - callsBefore;
      // Assess
      expect(statuses.slice(0, WS_BURST)).toEqual(Array(WS_BURST).fill(400));
      expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(MESSAGES / 2);
      expect(last).toMatchObject({ type: 'error', status: 429, title: 'Too many requests' });
      expect(last.detail).toMatch(/retry after \d+ s/);
      expect(lastCost).toBe(0);
    } finally {
      await client.close();
    }
  });
});
