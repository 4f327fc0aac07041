import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../../lambdas/core/auth.ts';
import { newTaskId } from '../../lambdas/core/ids.ts';
import type { HttpResult } from '../../lambdas/handlers/http/http.ts';
import { TaskKeys } from '../../lambdas/store/keys.ts';
import { DynamoTaskStore } from '../../lambdas/store/task-store.ts';
import { DynamoTenantStore } from '../../lambdas/store/tenant-store.ts';
import { fakeContext } from '../support/lambda-context.ts';
import { getEventsEvent, getTaskEvent, httpAuthorizerEvent } from '../support/http-events.ts';
import { type LocalDynamo, startLocalDynamo, useLocalAwsEnv } from '../support/local-dynamo.ts';
import { taskRecord } from '../support/tasks.ts';

/**
 * The HTTP authorizer and the read handlers against a real DynamoDB API (dynalite in-process).
 * The SDK clients are created at module scope, so the environment is set before the handler
 * modules are imported.
 */

let dynamo: LocalDynamo;
let tasks: DynamoTaskStore;
let acme: { tenantId: string; apiKey: string; keyId: string };
let globex: { tenantId: string; apiKey: string; keyId: string };
let authorizer: typeof import('../../lambdas/handlers/http/authorizer.ts').handler;
let getTask: typeof import('../../lambdas/handlers/http/get-task.ts').handler;
let getEvents: typeof import('../../lambdas/handlers/http/get-events.ts').handler;

beforeAll(async () => {
  dynamo = await startLocalDynamo();
  useLocalAwsEnv({ dynamoEndpoint: dynamo.endpoint, tasksTable: dynamo.tasksTable, connectionsTable: dynamo.connectionsTable });
  ({ handler: authorizer } = await import('../../lambdas/handlers/http/authorizer.ts'));
  ({ handler: getTask } = await import('../../lambdas/handlers/http/get-task.ts'));
  ({ handler: getEvents } = await import('../../lambdas/handlers/http/get-events.ts'));
  const tenants = new DynamoTenantStore(dynamo.tasksTable, dynamo.docClient);
  acme = await createTenant(tenants, 'acme');
  globex = await createTenant(tenants, 'globex');
  tasks = new DynamoTaskStore(dynamo.tasksTable, dynamo.docClient);
});

afterAll(async () => {
  await dynamo?.stop();
});

const bodyOf = (result: HttpResult): Record<string, any> => JSON.parse(result.body ?? 'null') as Record<string, any>;
const header = (result: HttpResult, name: string): string | undefined => {
  const entry = Object.entries(result.headers ?? {}).find(([key]) => key.toLowerCase() === name.toLowerCase());
  return entry === undefined ? undefined : String(entry[1]);
};
const expectProblem = (result: HttpResult, status: number): Record<string, any> => {
  expect(result.statusCode).toBe(status);
  expect(header(result, 'content-type')).toBe('application/problem+json');
  const problem = bodyOf(result);
  expect(problem).toMatchObject({ status, type: expect.stringMatching(/^https:\/\//), title: expect.any(String), detail: expect.any(String) });
  expect(JSON.stringify(problem)).not.toMatch(/at .*\.ts:\d+/);
  // No cache (CloudFront, a proxy, the browser) may ever replay an error.
  expect(header(result, 'cache-control')).toBe('no-store');
  return problem;
};
/** The `s-maxage` of a result's Cache-Control. */
const sMaxAgeOf = (result: HttpResult): number => Number(/s-maxage=(\d+)/.exec(header(result, 'cache-control') ?? '')?.[1]);
/** An event whose authorizer context says the verdict on the credential stands until `validUntil`. */
const withValidUntil = <T extends { requestContext: unknown }>(event: T, validUntil: number): T => {
  (event.requestContext as { authorizer: { lambda: Record<string, string> } }).authorizer.lambda.validUntil = String(validUntil);
  return event;
};

describe('HTTP authorizer', () => {
  it('marks a request with a valid API key authenticated, with its tenant', async () => {
    // Prepare
    const event = httpAuthorizerEvent({ authorization: `Bearer ${acme.apiKey}` });
    // Act
    const result = await authorizer(event);
    // Assess
    expect(result).toEqual({ isAuthorized: true, context: { authenticated: 'true', tenantId: acme.tenantId, keyId: acme.keyId, validUntil: expect.stringMatching(/^\d+$/) } });
  });

  it('says until when its verdict on an API key stands: the end of its cached lookup (API_KEY_CACHE_SECONDS, default 60 s)', async () => {
    // Prepare
    const tenants = new DynamoTenantStore(dynamo.tasksTable, dynamo.docClient);
    const fresh = await createTenant(tenants, 'verdict');
    const before = Date.now();
    // Act
    const first = await authorizer(httpAuthorizerEvent({ authorization: `Bearer ${fresh.apiKey}` }));
    const cached = await authorizer(httpAuthorizerEvent({ authorization: `Bearer ${fresh.apiKey}` }));
    const after = Date.now();
    // Assess
    const validUntil = Number(first.context.validUntil);
    expect(validUntil).toBeGreaterThanOrEqual(before + 60_000);
    expect(validUntil).toBeLessThanOrEqual(after + 60_000);
    expect(cached.context.validUntil).toBe(first.context.validUntil);
  });

  it('resolves each key to its own tenant', async () => {
    // Prepare
    const event = httpAuthorizerEvent({ authorization: `Bearer ${globex.apiKey}` });
    // Act
    const result = await authorizer(event);
    // Assess
    expect(result.context).toEqual({ authenticated: 'true', tenantId: globex.tenantId, keyId: globex.keyId, validUntil: expect.stringMatching(/^\d+$/) });
  });

  it.each<[string, () => Record<string, string>]>([
    ['no Authorization header', () => ({})],
    ['an empty Authorization header', () => ({ authorization: '' })],
    ['another scheme', () => ({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` })],
    ['garbage', () => ({ authorization: 'Bearer !!not-a-key!!' })],
    ['a well-formed but unknown key', () => ({ authorization: `Bearer ofk_${'0'.repeat(26)}_${'A'.repeat(43)}` })],
    ['a valid key without the Bearer scheme', () => ({ authorization: acme.apiKey })],
  ])('passes %s through as unauthenticated', async (_name, headers) => {
    // Prepare
    const event = httpAuthorizerEvent(headers());
    // Act
    const result = await authorizer(event);
    // Assess
    expect(result).toEqual({ isAuthorized: true, context: { authenticated: 'false' } });
  });

  it('rejects a valid key with its last character changed', async () => {
    // Prepare
    const mutated = `${acme.apiKey.slice(0, -1)}${acme.apiKey.endsWith('A') ? 'B' : 'A'}`;
    // Act
    const result = await authorizer(httpAuthorizerEvent({ authorization: `Bearer ${mutated}` }));
    // Assess
    expect(result).toEqual({ isAuthorized: true, context: { authenticated: 'false' } });
  });
});

describe('GET /v1/tasks/{id}', () => {
  it('answers 401 problem+json when the authorizer did not authenticate the request', async () => {
    // Prepare
    const task = taskRecord({ tenantId: acme.tenantId });
    await tasks.create(task);
    // Act
    const unauthenticated = await getTask(getTaskEvent(task.taskId, { tenantId: null }), fakeContext());
    const noAuthorizer = await getTask(getTaskEvent(task.taskId, { noAuthorizer: true }), fakeContext());
    // Assess
    expectProblem(unauthenticated, 401);
    expectProblem(noAuthorizer, 401);
    expect(header(unauthenticated, 'www-authenticate')).toMatch(/^Bearer/);
    expect(unauthenticated.body).not.toContain('"queued"');
    expect(unauthenticated.body).not.toContain('completion');
  });

  it('answers the same 404 for an unknown id, a malformed id and another tenant\'s task', async () => {
    // Prepare
    const foreign = taskRecord({ tenantId: globex.tenantId });
    await tasks.create(foreign);
    // Act
    const unknown = await getTask(getTaskEvent(newTaskId(), { tenantId: acme.tenantId }), fakeContext());
    const malformed = await getTask(getTaskEvent('not-a-task-id', { tenantId: acme.tenantId }), fakeContext());
    const otherTenant = await getTask(getTaskEvent(foreign.taskId, { tenantId: acme.tenantId }), fakeContext());
    // Assess
    const problems = [unknown, malformed, otherTenant].map((result) => expectProblem(result, 404));
    const withoutInstance = problems.map(({ instance: _instance, ...rest }) => rest);
    expect(withoutInstance[1]).toEqual(withoutInstance[0]);
    expect(withoutInstance[2]).toEqual(withoutInstance[0]);
    expect(otherTenant.body).not.toContain(globex.tenantId);
  });

  it('lets the owner read the same task that another tenant gets 404 for', async () => {
    // Prepare
    const foreign = taskRecord({ tenantId: globex.tenantId });
    await tasks.create(foreign);
    // Act
    const owner = await getTask(getTaskEvent(foreign.taskId, { tenantId: globex.tenantId }), fakeContext());
    // Assess
    expect(owner.statusCode).toBe(200);
  });

  it('answers 200 with the task view, an ETag and a short shared max-age for a queued task', async () => {
    // Prepare
    const task = taskRecord({ tenantId: acme.tenantId, sessionId: 'chat-1' });
    await tasks.create(task);
    // Act
    const result = await getTask(getTaskEvent(task.taskId, { tenantId: acme.tenantId }), fakeContext());
    // Assess
    expect(result.statusCode).toBe(200);
    expect(header(result, 'content-type')).toBe('application/json');
    expect(header(result, 'etag')).toMatch(/^"[^"]+"$/);
    expect(header(result, 'cache-control')).toContain('s-maxage=1');
    expect(header(result, 'cache-control')).not.toContain('immutable');
    const body = bodyOf(result);
    expect(body).toMatchObject({
      taskId: task.taskId,
      type: 'completion',
      status: 'queued',
      sessionId: 'chat-1',
      progress: { seq: 0 },
      attempts: 0,
      createdAt: task.createdAt,
      updatedAt: task.updatedAt,
    });
    expect(body).not.toHaveProperty('tenantId');
    expect(body).not.toHaveProperty('input');
  });

  it('serves a succeeded task as immutable, with its result', async () => {
    // Prepare
    const finishedAt = new Date().toISOString();
    const task = taskRecord({
      tenantId: acme.tenantId,
      status: 'succeeded',
      result: { text: 'done' },
      attempts: 1,
      progressSeq: 3,
      startedAt: finishedAt,
      finishedAt,
    });
    await tasks.create(task);
    // Act
    const result = await getTask(getTaskEvent(task.taskId, { tenantId: acme.tenantId }), fakeContext());
    // Assess
    expect(result.statusCode).toBe(200);
    expect(header(result, 'cache-control')).toContain('immutable');
    expect(bodyOf(result)).toMatchObject({ status: 'succeeded', result: { text: 'done' }, progress: { seq: 3 }, finishedAt });
  });

  it('keeps a terminal task a year in the caller’s browser but at most the revocation window (60 s) at the edge', async () => {
    // Prepare
    const task = taskRecord({ tenantId: acme.tenantId, status: 'succeeded', result: { text: 'done' }, attempts: 1 });
    await tasks.create(task);
    // Act
    const result = await getTask(getTaskEvent(task.taskId, { tenantId: acme.tenantId }), fakeContext());
    // Assess
    expect(header(result, 'cache-control')).toMatch(/(^|, )max-age=31536000(,|$)/);
    expect(header(result, 'cache-control')).not.toMatch(/\bpublic\b/);
    expect(sMaxAgeOf(result)).toBe(60);
  });

  it('never lets the edge keep a read past the authorizer’s verdict on the credential (validUntil), a 304 included', async () => {
    // Prepare
    const task = taskRecord({ tenantId: acme.tenantId, status: 'succeeded', result: { text: 'done' }, attempts: 1 });
    await tasks.create(task);
    const etag = header(await getTask(getTaskEvent(task.taskId, { tenantId: acme.tenantId }), fakeContext()), 'etag')!;
    // Act
    const soon = await getTask(withValidUntil(getTaskEvent(task.taskId, { tenantId: acme.tenantId }), Date.now() + 12_500), fakeContext());
    const revalidated = await getTask(withValidUntil(getTaskEvent(task.taskId, { tenantId: acme.tenantId, headers: { 'if-none-match': etag } }), Date.now() + 7_500), fakeContext());
    const later = await getTask(withValidUntil(getTaskEvent(task.taskId, { tenantId: acme.tenantId }), Date.now() + 3_600_000), fakeContext());
    const ended = await getTask(withValidUntil(getTaskEvent(task.taskId, { tenantId: acme.tenantId }), Date.now() - 1_000), fakeContext());
    // Assess
    expect(soon.statusCode).toBe(200);
    expect(sMaxAgeOf(soon)).toBe(12);
    expect(revalidated.statusCode).toBe(304);
    expect(sMaxAgeOf(revalidated)).toBe(7);
    expect(sMaxAgeOf(later)).toBe(60);
    expect(sMaxAgeOf(ended)).toBe(0);
    expect(header(ended, 'cache-control')).toContain('immutable');
  });

  it('answers 304 without a body when If-None-Match carries the current ETag, 200 when it does not', async () => {
    // Prepare
    const task = taskRecord({ tenantId: acme.tenantId });
    await tasks.create(task);
    const first = await getTask(getTaskEvent(task.taskId, { tenantId: acme.tenantId }), fakeContext());
    const etag = header(first, 'etag')!;
    // Act
    const matching = await getTask(getTaskEvent(task.taskId, { tenantId: acme.tenantId, headers: { 'if-none-match': etag } }), fakeContext());
    const weak = await getTask(getTaskEvent(task.taskId, { tenantId: acme.tenantId, headers: { 'if-none-match': `W/${etag}` } }), fakeContext());
    const stale = await getTask(getTaskEvent(task.taskId, { tenantId: acme.tenantId, headers: { 'if-none-match': '"stale"' } }), fakeContext());
    // Assess
    expect(matching.statusCode).toBe(304);
    expect(matching.body ?? '').toBe('');
    expect(header(matching, 'etag')).toBe(etag);
    expect(weak.statusCode).toBe(304);
    expect(stale.statusCode).toBe(200);
  });

  it('changes the ETag when the task changes', async () => {
    // Prepare
    const task = taskRecord({ tenantId: acme.tenantId });
    await tasks.create(task);
    const before = await getTask(getTaskEvent(task.taskId, { tenantId: acme.tenantId }), fakeContext());
    await tasks.claim(task.taskId, 'worker-1', Date.now() + 60_000, new Date().toISOString());
    // Act
    const after = await getTask(getTaskEvent(task.taskId, { tenantId: acme.tenantId, headers: { 'if-none-match': header(before, 'etag')! } }), fakeContext());
    // Assess
    expect(after.statusCode).toBe(200);
    expect(bodyOf(after).status).toBe('running');
    expect(header(after, 'etag')).not.toBe(header(before, 'etag'));
  });

  it('accepts the context the authorizer produced for a real key', async () => {
    // Prepare
    const task = taskRecord({ tenantId: acme.tenantId });
    await tasks.create(task);
    const auth = await authorizer(httpAuthorizerEvent({ authorization: `Bearer ${acme.apiKey}` }));
    // Act
    const result = await getTask(getTaskEvent(task.taskId, { tenantId: auth.context.tenantId ?? null }), fakeContext());
    // Assess
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result).taskId).toBe(task.taskId);
  });
});

describe('GET /v1/tasks/{id}/events', () => {
  /** A running task with committed entries 1..count and one uncommitted entry above them. */
  const runningTaskWithProgress = async (count: number) => {
    const task = taskRecord({ tenantId: acme.tenantId });
    await tasks.create(task);
    await tasks.claim(task.taskId, 'worker-1', Date.now() + 60_000, new Date().toISOString());
    for (let seq = 1; seq <= count; seq++) {
      expect(await tasks.appendProgress(task.taskId, 'worker-1', { seq, data: { text: `t${seq}` }, at: new Date().toISOString() })).toBe('ok');
    }
    // Written by a worker that died before advancing progressSeq: not committed, never served.
    await dynamo.docClient.send(
      new PutCommand({
        TableName: dynamo.tasksTable,
        Item: { ...TaskKeys.progress(task.taskId, count + 1), entity: 'progress', seq: count + 1, data: { text: 'uncommitted' }, at: new Date().toISOString() },
      }),
    );
    return task;
  };

  it('pages through the committed log with after, limit and nextAfter', async () => {
    // Prepare
    const task = await runningTaskWithProgress(5);
    // Act
    const pages: Record<string, any>[] = [];
    let after: string | undefined;
    for (let i = 0; i < 10; i++) {
      const query: Record<string, string> = { limit: '2', ...(after !== undefined ? { after } : {}) };
      const result = await getEvents(getEventsEvent(task.taskId, { tenantId: acme.tenantId, query }), fakeContext());
      expect(result.statusCode).toBe(200);
      const page = bodyOf(result);
      pages.push(page);
      if (page.nextAfter === undefined) break;
      after = String(page.nextAfter);
    }
    // Assess
    expect(pages.map((page) => page.items.map((item: { seq: number }) => item.seq))).toEqual([[1, 2], [3, 4], [5]]);
    expect(pages.map((page) => page.nextAfter)).toEqual([2, 4, undefined]);
    expect(pages[0]?.items[0]).toMatchObject({ seq: 1, data: { text: 't1' }, at: expect.any(String) });
    expect(pages.every((page) => page.complete === false)).toBe(true);
  });

  it('answers the entries after N with the default limit, never the uncommitted one', async () => {
    // Prepare
    const task = await runningTaskWithProgress(4);
    // Act
    const result = await getEvents(getEventsEvent(task.taskId, { tenantId: acme.tenantId, query: { after: '1' } }), fakeContext());
    // Assess
    const page = bodyOf(result);
    expect(page.items.map((item: { seq: number }) => item.seq)).toEqual([2, 3, 4]);
    expect(page).not.toHaveProperty('nextAfter');
    expect(JSON.stringify(page)).not.toContain('uncommitted');
    expect(header(result, 'cache-control')).toContain('s-maxage=1');
  });

  it('marks the log complete and immutable once a terminal task is fully read', async () => {
    // Prepare
    const task = await runningTaskWithProgress(2);
    expect(await tasks.finish(task.taskId, 'worker-1', { status: 'succeeded', result: { text: 't1t2' } }, new Date().toISOString())).toBe(true);
    // Act
    const result = await getEvents(getEventsEvent(task.taskId, { tenantId: acme.tenantId }), fakeContext());
    // Assess
    expect(bodyOf(result)).toMatchObject({ taskId: task.taskId, complete: true });
    expect(header(result, 'cache-control')).toContain('immutable');
  });

  it.each([
    ['a non-numeric after', { after: 'abc' }],
    ['a negative after', { after: '-1' }],
    ['a fractional after', { after: '1.5' }],
    ['a limit over the maximum', { limit: '5000' }],
    ['a non-numeric limit', { limit: 'ten' }],
  ])('answers 400 problem+json for %s', async (_name, query) => {
    // Prepare
    const task = await runningTaskWithProgress(1);
    // Act
    const result = await getEvents(getEventsEvent(task.taskId, { tenantId: acme.tenantId, query }), fakeContext());
    // Assess
    expectProblem(result, 400);
  });

  it('answers 404 for another tenant\'s task and 401 without authentication', async () => {
    // Prepare
    const task = await runningTaskWithProgress(1);
    // Act
    const foreign = await getEvents(getEventsEvent(task.taskId, { tenantId: globex.tenantId }), fakeContext());
    const anonymous = await getEvents(getEventsEvent(task.taskId, { tenantId: null }), fakeContext());
    // Assess
    expectProblem(foreign, 404);
    expectProblem(anonymous, 401);
  });
});
