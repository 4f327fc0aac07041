import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, hashIdempotencyKey } from '../../lambdas/core/idempotency.ts';
import { newTaskId } from '../../lambdas/core/ids.ts';
import { asyncApiDocument } from '../../lambdas/contract/asyncapi.ts';
import { openApiDocument } from '../../lambdas/contract/openapi.ts';
import { DynamoIdempotencyStore } from '../../lambdas/store/idempotency-store.ts';
import { call, startHarness, type Harness } from '../e2e/harness.ts';
import { OpenApiContract } from './openapi-contract.ts';

/**
 * Contract tests of the HTTP API: real requests against the local runtime, every response
 * validated against the OpenAPI document the runtime itself serves (status declared, required
 * headers present, headers and body matching their schemas). The last test fails if a documented
 * (route, status) pair was never exercised, or if any response had a status the document does not
 * declare.
 */

const INFLIGHT_LIMIT = 2;
const completion = (prompt: string, maxTokens = 5, model = 'sim-fast') => ({ type: 'completion', input: { prompt, maxTokens, model } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('HTTP API contract: every documented (route, status) pair, validated against /v1/openapi.json', { timeout: 120_000 }, () => {
  let harness: Harness;
  let http: string;
  let contract: OpenApiContract;
  let servedDocument: unknown;

  /** A request whose response must validate against the document (`path`: the documented template). */
  const exchange = async (method: string, path: string, url: string, init: Parameters<typeof call>[1] = {}) => {
    const response = await call(`${http}${url}`, { method, ...init });
    contract.check(method, path, response);
    return response;
  };

  /** Polls a task until it is terminal (tasks here are short: a few simulated tokens), for up to a minute. */
  const settled = async (apiKey: string, taskId: string) => {
    for (let i = 0; i < 600; i++) {
      const { body } = await call(`${http}/v1/tasks/${taskId}`, { apiKey });
      if (['succeeded', 'failed', 'cancelled'].includes(body?.status)) return body;
      await sleep(100);
    }
    throw new Error(`task ${taskId} did not settle`);
  };

  beforeAll(async () => {
    harness = await startHarness({ functionEnvironment: { TENANT_INFLIGHT_LIMIT: String(INFLIGHT_LIMIT) } });
    http = harness.runtime.endpoints.httpApi;
    // Validate against the document the runtime serves, not only the module that builds it.
    servedDocument = (await call(`${http}/v1/openapi.json`)).body;
    contract = new OpenApiContract(servedDocument as Record<string, unknown>);
  });
  afterAll(async () => harness?.stop());

  it('serves the OpenAPI and AsyncAPI documents publicly, revalidated by ETag', async () => {
    // Act
    const openApi = await exchange('GET', '/v1/openapi.json', '/v1/openapi.json');
    const withBadCredential = await exchange('GET', '/v1/openapi.json', '/v1/openapi.json', { apiKey: 'ofk_not-a-key' });
    const openApiAgain = await exchange('GET', '/v1/openapi.json', '/v1/openapi.json', { headers: { 'if-none-match': openApi.headers.get('etag')! } });
    const asyncApi = await exchange('GET', '/v1/asyncapi.json', '/v1/asyncapi.json');
    const asyncApiAgain = await exchange('GET', '/v1/asyncapi.json', '/v1/asyncapi.json', { headers: { 'if-none-match': asyncApi.headers.get('etag')! } });
    // Assess
    expect(openApi.status).toBe(200);
    expect(openApi.headers.get('content-type')).toBe('application/json');
    expect(openApi.headers.get('cache-control')).toMatch(/max-age=\d{4,}/);
    expect(servedDocument).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
    expect(withBadCredential.status).toBe(200);
    expect(openApiAgain.status).toBe(304);
    expect(asyncApi.status).toBe(200);
    expect(asyncApi.body).toEqual(JSON.parse(JSON.stringify(asyncApiDocument())));
    expect(asyncApiAgain.status).toBe(304);
  });

  it('POST /v1/tasks: 202 (fresh and replayed), 400, 401, 413, 415, 422', async () => {
    // Prepare
    const { apiKey } = await harness.newTenant('contract-submit');
    const body = completion('contract submit');
    const invalidBodies = [
      { type: 'nope', input: {} },
      { type: 'completion', input: { prompt: 42 } },
      { type: 'completion', input: { prompt: 'x', maxTokens: 0 } },
      { type: 'completion', input: { prompt: 'x' }, extra: true },
      { type: 'completion', input: { prompt: 'x' }, sessionId: 'spaces are not allowed' },
    ];
    // Act
    const accepted = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body, headers: { 'idempotency-key': 'contract-1' } });
    const replayed = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body, headers: { 'idempotency-key': 'contract-1' } });
    const reused = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: completion('another body'), headers: { 'idempotency-key': 'contract-1' } });
    const invalid = [];
    for (const invalidBody of invalidBodies) invalid.push(await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: invalidBody }));
    const notJson = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: '{"type": "completion",' });
    const badKey = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body, headers: { 'idempotency-key': 'x'.repeat(256) } });
    const anonymous = await exchange('POST', '/v1/tasks', '/v1/tasks', { body });
    const unknownKey = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey: 'ofk_unknown', body });
    const tooLarge = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: completion('x'.repeat(140_000)) });
    const form = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: 'prompt=hi', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    // Assess
    expect(contract.requestBodyErrors('POST', '/v1/tasks', body)).toBeUndefined();
    expect([accepted.status, replayed.status]).toEqual([202, 202]);
    expect(accepted.headers.get('location')).toBe(`/v1/tasks/${accepted.body.taskId}`);
    expect(accepted.headers.get('idempotent-replayed')).toBeNull();
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(reused.status).toBe(422);
    expect(invalid.map((response) => response.status)).toEqual(invalidBodies.map(() => 400));
    // What the server refuses, the document refuses too.
    for (const invalidBody of invalidBodies) expect(contract.requestBodyErrors('POST', '/v1/tasks', invalidBody)).toBeDefined();
    expect([notJson.status, badKey.status]).toEqual([400, 400]);
    expect([anonymous.status, unknownKey.status]).toEqual([401, 401]);
    expect(tooLarge.status).toBe(413);
    expect(form.status).toBe(415);
    await settled(apiKey, accepted.body.taskId);
  });

  it('POST /v1/tasks: 409 while a request with the same Idempotency-Key is still in flight', async () => {
    // Prepare: the state a concurrent first request leaves while it runs: the key claimed, not completed.
    const { tenantId, apiKey } = await harness.newTenant('contract-in-flight');
    const body = completion('in flight');
    const tasksTable = harness.runtime.template.ofType('AWS::DynamoDB::Table').find(([id]) => id.startsWith('StorageTasks'))![0];
    const store = new DynamoIdempotencyStore(harness.runtime.template.resolveString({ Ref: tasksTable }, 'test'), DynamoDBDocumentClient.from(harness.runtime.dynamo.client));
    const claim = await store.claim(tenantId, hashIdempotencyKey('in-flight-1'), fingerprint(body), newTaskId());
    // Act
    const conflict = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body, headers: { 'idempotency-key': 'in-flight-1' } });
    // Assess
    expect(claim.kind).toBe('owner');
    expect(conflict.status).toBe(409);
    expect(Number(conflict.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('POST /v1/tasks: 429 with Retry-After once the tenant has as many tasks in flight as it may', async () => {
    // Prepare
    const { apiKey } = await harness.newTenant('contract-admission');
    const long = completion('hold a slot', 2000, 'sim-1');
    const held = [];
    for (let i = 0; i < INFLIGHT_LIMIT; i++) held.push(await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: long }));
    // Act
    const refused = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: long });
    for (const task of held) await exchange('POST', '/v1/tasks/{id}/cancel', `/v1/tasks/${task.body.taskId}/cancel`, { apiKey });
    // Assess
    expect(held.map((response) => response.status)).toEqual(held.map(() => 202));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('GET /v1/tasks/{id} and /events: 200 while live and once terminal, 304, 400, 401, 404', async () => {
    // Prepare
    const { apiKey } = await harness.newTenant('contract-read');
    const other = await harness.newTenant('contract-read-other');
    const { body: task } = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: completion('read me', 60, 'sim-1') });
    // Act
    const live = await exchange('GET', '/v1/tasks/{id}', `/v1/tasks/${task.taskId}`, { apiKey });
    const liveEvents = await exchange('GET', '/v1/tasks/{id}/events', `/v1/tasks/${task.taskId}/events`, { apiKey });
    await settled(apiKey, task.taskId);
    const done = await exchange('GET', '/v1/tasks/{id}', `/v1/tasks/${task.taskId}`, { apiKey });
    const notModified = await exchange('GET', '/v1/tasks/{id}', `/v1/tasks/${task.taskId}`, { apiKey, headers: { 'if-none-match': done.headers.get('etag')! } });
    const page = await exchange('GET', '/v1/tasks/{id}/events', `/v1/tasks/${task.taskId}/events?after=0&limit=2`, { apiKey });
    const rest = await exchange('GET', '/v1/tasks/{id}/events', `/v1/tasks/${task.taskId}/events?after=${page.body.nextAfter}&limit=1000`, { apiKey });
    const eventsNotModified = await exchange('GET', '/v1/tasks/{id}/events', `/v1/tasks/${task.taskId}/events?after=${page.body.nextAfter}&limit=1000`, {
      apiKey,
      headers: { 'if-none-match': rest.headers.get('etag')! },
    });
    const badAfter = await exchange('GET', '/v1/tasks/{id}/events', `/v1/tasks/${task.taskId}/events?after=-1`, { apiKey });
    const badLimit = await exchange('GET', '/v1/tasks/{id}/events', `/v1/tasks/${task.taskId}/events?limit=1001`, { apiKey });
    const anonymous = await exchange('GET', '/v1/tasks/{id}', `/v1/tasks/${task.taskId}`);
    const anonymousEvents = await exchange('GET', '/v1/tasks/{id}/events', `/v1/tasks/${task.taskId}/events`);
    const foreign = await exchange('GET', '/v1/tasks/{id}', `/v1/tasks/${task.taskId}`, { apiKey: other.apiKey });
    const malformed = await exchange('GET', '/v1/tasks/{id}', '/v1/tasks/not-a-task-id', { apiKey });
    const foreignEvents = await exchange('GET', '/v1/tasks/{id}/events', `/v1/tasks/${task.taskId}/events`, { apiKey: other.apiKey });
    // Assess
    expect([live.status, liveEvents.status, done.status, page.status, rest.status]).toEqual([200, 200, 200, 200, 200]);
    expect(live.headers.get('cache-control')).toContain('s-maxage=1');
    expect(done.body.status).toBe('succeeded');
    expect(done.headers.get('cache-control')).toContain('immutable');
    expect([notModified.status, eventsNotModified.status]).toEqual([304, 304]);
    expect(page.body.items.map((entry: { seq: number }) => entry.seq)).toEqual([1, 2]);
    expect(rest.body.complete).toBe(true);
    expect([badAfter.status, badLimit.status]).toEqual([400, 400]);
    expect([anonymous.status, anonymousEvents.status]).toEqual([401, 401]);
    expect([foreign.status, malformed.status, foreignEvents.status]).toEqual([404, 404, 404]);
  });

  it('GET /v1/tasks: 200, 304, 400, 401', async () => {
    // Prepare
    const { apiKey } = await harness.newTenant('contract-list');
    const { body: task } = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: completion('list me') });
    await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: completion('list me too') });
    await settled(apiKey, task.taskId);
    // Act
    const first = await exchange('GET', '/v1/tasks', '/v1/tasks?limit=1', { apiKey });
    const second = await exchange('GET', '/v1/tasks', `/v1/tasks?limit=1&cursor=${first.body.nextCursor}`, { apiKey });
    const succeeded = await exchange('GET', '/v1/tasks', '/v1/tasks?status=succeeded', { apiKey });
    const again = await exchange('GET', '/v1/tasks', `/v1/tasks?limit=1&cursor=${first.body.nextCursor}`, { apiKey, headers: { 'if-none-match': second.headers.get('etag')! } });
    const badStatus = await exchange('GET', '/v1/tasks', '/v1/tasks?status=done', { apiKey });
    const badCursor = await exchange('GET', '/v1/tasks', '/v1/tasks?cursor=not%20a%20cursor', { apiKey });
    const anonymous = await exchange('GET', '/v1/tasks', '/v1/tasks');
    // Assess
    expect([first.status, second.status, succeeded.status]).toEqual([200, 200, 200]);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    expect(second.body.items.map((item: { taskId: string }) => item.taskId)).toEqual([task.taskId]);
    expect(again.status).toBe(304);
    expect([badStatus.status, badCursor.status]).toEqual([400, 400]);
    expect(anonymous.status).toBe(401);
  });

  it('POST /v1/tasks/{id}/cancel: 202, 200 when already cancelled, 401, 404, 409 once finished', async () => {
    // Prepare
    const { apiKey } = await harness.newTenant('contract-cancel');
    const { body: long } = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: completion('cancel me', 2000, 'sim-1') });
    const { body: short } = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: completion('finish first', 3) });
    await settled(apiKey, short.taskId);
    // Act
    const cancelled = await exchange('POST', '/v1/tasks/{id}/cancel', `/v1/tasks/${long.taskId}/cancel`, { apiKey });
    const again = await exchange('POST', '/v1/tasks/{id}/cancel', `/v1/tasks/${long.taskId}/cancel`, { apiKey });
    const finished = await exchange('POST', '/v1/tasks/{id}/cancel', `/v1/tasks/${short.taskId}/cancel`, { apiKey });
    const anonymous = await exchange('POST', '/v1/tasks/{id}/cancel', `/v1/tasks/${long.taskId}/cancel`);
    const unknown = await exchange('POST', '/v1/tasks/{id}/cancel', `/v1/tasks/${newTaskId()}/cancel`, { apiKey });
    // Assess
    expect(cancelled.status).toBe(202);
    expect(cancelled.body.status).toBe('cancelled');
    expect(again.status).toBe(200);
    expect(finished.status).toBe(409);
    expect(anonymous.status).toBe(401);
    expect(unknown.status).toBe(404);
  });

  it('GET /v1/tasks/{id}/download: 200 (API key and a token scoped to the export), 401, 404, 409', async () => {
    // Prepare: a succeeded export, a completion, and an export cancelled before it ran (one task in flight at a time: the limit is 2).
    const { apiKey } = await harness.newTenant('contract-download');
    const other = await harness.newTenant('contract-download-other');
    const { body: exported } = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: { type: 'tasks.export', input: {} } });
    const finished = await settled(apiKey, exported.taskId);
    const { body: notExport } = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: completion('not an export') });
    await settled(apiKey, notExport.taskId);
    let cancelledExport: string | undefined;
    for (let attempt = 0; attempt < 5 && !cancelledExport; attempt++) {
      const { body: submitted } = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: { type: 'tasks.export', input: { limit: 1 } } });
      const cancel = await exchange('POST', '/v1/tasks/{id}/cancel', `/v1/tasks/${submitted.taskId}/cancel`, { apiKey });
      if (cancel.status === 202) cancelledExport = submitted.taskId;
    }
    const { body: scoped } = await exchange('POST', '/v1/tokens', '/v1/tokens', { apiKey, body: { taskIds: [exported.taskId] } });
    // Act
    const download = await exchange('GET', '/v1/tasks/{id}/download', `/v1/tasks/${exported.taskId}/download`, { apiKey });
    const withScopedToken = await exchange('GET', '/v1/tasks/{id}/download', `/v1/tasks/${exported.taskId}/download`, { apiKey: scoped.token });
    const object = await fetch(download.body.url);
    const ndjson = await object.text();
    const anonymous = await exchange('GET', '/v1/tasks/{id}/download', `/v1/tasks/${exported.taskId}/download`);
    const foreign = await exchange('GET', '/v1/tasks/{id}/download', `/v1/tasks/${exported.taskId}/download`, { apiKey: other.apiKey });
    const unknown = await exchange('GET', '/v1/tasks/{id}/download', `/v1/tasks/${newTaskId()}/download`, { apiKey });
    const malformed = await exchange('GET', '/v1/tasks/{id}/download', '/v1/tasks/not-a-task-id/download', { apiKey });
    const wrongType = await exchange('GET', '/v1/tasks/{id}/download', `/v1/tasks/${notExport.taskId}/download`, { apiKey });
    const outOfScope = await exchange('GET', '/v1/tasks/{id}/download', `/v1/tasks/${notExport.taskId}/download`, { apiKey: scoped.token });
    const cancelled = await exchange('GET', '/v1/tasks/{id}/download', `/v1/tasks/${cancelledExport}/download`, { apiKey });
    // Assess
    expect([download.status, withScopedToken.status]).toEqual([200, 200]);
    expect(download.headers.get('cache-control')).toBe('no-store');
    expect(Date.parse(download.body.expiresAt) - Date.now()).toBeGreaterThan(200_000);
    expect(finished.status).toBe('succeeded');
    expect(object.status).toBe(200);
    expect(object.headers.get('content-type')).toBe('application/x-ndjson');
    expect(Buffer.byteLength(ndjson)).toBe(finished.result.bytes);
    expect(ndjson.trim().split('\n').map((line) => JSON.parse(line).taskId)).toHaveLength(finished.result.tasks);
    expect(anonymous.status).toBe(401);
    expect([foreign.status, unknown.status, malformed.status, wrongType.status, outOfScope.status]).toEqual([404, 404, 404, 404, 404]);
    expect(wrongType.body.detail).toContain('only tasks.export tasks have a download');
    expect(cancelledExport).toBeDefined();
    expect(cancelled.status).toBe(409);
    expect(cancelled.body.detail).toContain('cancelled');
  });

  it('POST /v1/tokens: 201 with and without a body, 400, 401, 403, 413, 415', async () => {
    // Prepare
    const { apiKey } = await harness.newTenant('contract-tokens');
    const { body: task } = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: completion('scope me') });
    const scope = { taskIds: [task.taskId], ttlSeconds: 300 };
    // Act
    const scoped = await exchange('POST', '/v1/tokens', '/v1/tokens', { apiKey, body: scope });
    const tenantWide = await exchange('POST', '/v1/tokens', '/v1/tokens', { apiKey });
    const readWithToken = await exchange('GET', '/v1/tasks/{id}', `/v1/tasks/${task.taskId}`, { apiKey: scoped.body.token });
    const mintedByToken = await exchange('POST', '/v1/tokens', '/v1/tokens', { apiKey: tenantWide.body.token, body: { ttlSeconds: 300 } });
    const tooShort = await exchange('POST', '/v1/tokens', '/v1/tokens', { apiKey, body: { ttlSeconds: 5 } });
    const notTaskIds = await exchange('POST', '/v1/tokens', '/v1/tokens', { apiKey, body: { taskIds: ['nope'] } });
    const anonymous = await exchange('POST', '/v1/tokens', '/v1/tokens', { body: {} });
    const tooLarge = await exchange('POST', '/v1/tokens', '/v1/tokens', { apiKey, body: { taskIds: ['x'.repeat(140_000)] } });
    const text = await exchange('POST', '/v1/tokens', '/v1/tokens', { apiKey, body: 'ttl=300', headers: { 'content-type': 'text/plain' } });
    // Assess
    expect(contract.requestBodyErrors('POST', '/v1/tokens', scope)).toBeUndefined();
    expect(contract.requestBodyErrors('POST', '/v1/tokens', { ttlSeconds: 5 })).toBeDefined();
    expect([scoped.status, tenantWide.status]).toEqual([201, 201]);
    expect(readWithToken.status).toBe(200);
    expect(mintedByToken.status).toBe(403);
    expect([tooShort.status, notTaskIds.status]).toEqual([400, 400]);
    expect(anonymous.status).toBe(401);
    expect(tooLarge.status).toBe(413);
    expect(text.status).toBe(415);
  });

  it('/v1/webhooks: 201, 200, 204, 400, 401, 404, 413, 415', async () => {
    // Prepare: a tenant that runs no tasks, so nothing is ever delivered; the URL is a closed loopback port.
    const { apiKey } = await harness.newTenant('contract-webhooks');
    const registration = { url: 'http://127.0.0.1:9/hooks', events: ['Task Succeeded'] };
    // Act
    const created = await exchange('POST', '/v1/webhooks', '/v1/webhooks', { apiKey, body: registration });
    const listed = await exchange('GET', '/v1/webhooks', '/v1/webhooks', { apiKey });
    const deleted = await exchange('DELETE', '/v1/webhooks/{id}', `/v1/webhooks/${created.body.webhookId}`, { apiKey });
    const deletedAgain = await exchange('DELETE', '/v1/webhooks/{id}', `/v1/webhooks/${created.body.webhookId}`, { apiKey });
    const badUrl = await exchange('POST', '/v1/webhooks', '/v1/webhooks', { apiKey, body: { url: 'ftp://example.com/hook' } });
    const badEvent = await exchange('POST', '/v1/webhooks', '/v1/webhooks', { apiKey, body: { url: 'http://127.0.0.1:9/x', events: ['Task Exploded'] } });
    const tooLarge = await exchange('POST', '/v1/webhooks', '/v1/webhooks', { apiKey, body: { url: `http://127.0.0.1:9/${'x'.repeat(140_000)}` } });
    const text = await exchange('POST', '/v1/webhooks', '/v1/webhooks', { apiKey, body: 'url=x', headers: { 'content-type': 'text/plain' } });
    const anonymousList = await exchange('GET', '/v1/webhooks', '/v1/webhooks');
    const anonymousCreate = await exchange('POST', '/v1/webhooks', '/v1/webhooks', { body: registration });
    const anonymousDelete = await exchange('DELETE', '/v1/webhooks/{id}', `/v1/webhooks/${created.body.webhookId}`);
    // Assess
    expect(contract.requestBodyErrors('POST', '/v1/webhooks', registration)).toBeUndefined();
    expect(contract.requestBodyErrors('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/x', events: ['Task Exploded'] })).toBeDefined();
    expect(created.status).toBe(201);
    expect(listed.body.items.map((item: { webhookId: string }) => item.webhookId)).toEqual([created.body.webhookId]);
    expect([deleted.status, deletedAgain.status]).toEqual([204, 404]);
    expect([badUrl.status, badEvent.status]).toEqual([400, 400]);
    expect(tooLarge.status).toBe(413);
    expect(text.status).toBe(415);
    expect([anonymousList.status, anonymousCreate.status, anonymousDelete.status]).toEqual([401, 401, 401]);
  });

  it('answers 403 to a task-scoped client token that tries to change anything', async () => {
    // Prepare
    const { apiKey } = await harness.newTenant('contract-scope');
    const { body: task } = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: completion('scoped read') });
    const { body: token } = await exchange('POST', '/v1/tokens', '/v1/tokens', { apiKey, body: { taskIds: [task.taskId] } });
    // Act
    const submit = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey: token.token, body: completion('not allowed') });
    const cancel = await exchange('POST', '/v1/tasks/{id}/cancel', `/v1/tasks/${task.taskId}/cancel`, { apiKey: token.token });
    const listWebhooks = await exchange('GET', '/v1/webhooks', '/v1/webhooks', { apiKey: token.token });
    const createWebhook = await exchange('POST', '/v1/webhooks', '/v1/webhooks', { apiKey: token.token, body: { url: 'http://127.0.0.1:9/x' } });
    const deleteWebhook = await exchange('DELETE', '/v1/webhooks/{id}', '/v1/webhooks/whk_01KAQ8Z4J6W2M3N5P7R9S1T3V5', { apiKey: token.token });
    // Assess
    expect([submit.status, cancel.status, listWebhooks.status, createWebhook.status, deleteWebhook.status]).toEqual([403, 403, 403, 403, 403]);
    await settled(apiKey, task.taskId);
  });

  it('GET /v1/queues: 200 (API key and tenant-wide token), 304, 401, 403 for a task-scoped token', async () => {
    // Prepare
    const { apiKey } = await harness.newTenant('contract-queues');
    const { body: task } = await exchange('POST', '/v1/tasks', '/v1/tasks', { apiKey, body: completion('queue depths') });
    const { body: tenantWide } = await exchange('POST', '/v1/tokens', '/v1/tokens', { apiKey });
    const { body: scoped } = await exchange('POST', '/v1/tokens', '/v1/tokens', { apiKey, body: { taskIds: [task.taskId] } });
    await settled(apiKey, task.taskId);
    // Act
    const depths = await exchange('GET', '/v1/queues', '/v1/queues', { apiKey });
    const withToken = await exchange('GET', '/v1/queues', '/v1/queues', { apiKey: tenantWide.token });
    // Depths move while other work drains: revalidate until two reads agree (a matching ETag answers 304).
    let revalidated = await exchange('GET', '/v1/queues', '/v1/queues', { apiKey, headers: { 'if-none-match': depths.headers.get('etag')! } });
    for (let i = 0; i < 50 && revalidated.status !== 304; i++) {
      const current = await exchange('GET', '/v1/queues', '/v1/queues', { apiKey });
      revalidated = await exchange('GET', '/v1/queues', '/v1/queues', { apiKey, headers: { 'if-none-match': current.headers.get('etag')! } });
    }
    const anonymous = await exchange('GET', '/v1/queues', '/v1/queues');
    const forbidden = await exchange('GET', '/v1/queues', '/v1/queues', { apiKey: scoped.token });
    // Assess
    expect([depths.status, withToken.status]).toEqual([200, 200]);
    expect(depths.body.items.map((item: { class: string }) => item.class)).toEqual(['interactive', 'batch', 'integrations', 'analytics']);
    expect(depths.headers.get('cache-control')).toContain('s-maxage=1');
    expect(revalidated.status).toBe(304);
    expect(anonymous.status).toBe(401);
    expect(forbidden.status).toBe(403);
  });

  it('exercised every documented (route, status) pair, and every status it saw is documented', () => {
    // Assess: runs last (tests in a file run in order).
    expect(contract.undeclaredStatuses).toEqual([]);
    expect(contract.unexercised).toEqual([]);
    expect(contract.documentedPairs.length).toBeGreaterThan(40);
  });
});
