import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mintClientToken } from '../../lambdas/core/client-token.ts';
import { localCredentials } from '../../local/engines/credentials.ts';
import { scanLogFiles } from '../support/credential-scan.ts';
import { runtimeLogFiles } from '../support/runtime-state.ts';
import { call, entriesIn, isProgress, startHarness, WsClient, type Harness } from './harness.ts';

/**
 * Tenant isolation over the whole API surface: with tenant B's credentials (API key, tenant-wide
 * client token, scoped client token, a token B minted naming A's task ids), every path on A's task
 * ids answers exactly as for a task that does not exist; listings never show A's tasks; B changes
 * nothing of A's. Task-scoped tokens are read/watch-only. And no credential issued during the run
 * ever appears in a log. (`tokens.test.ts` covers minting, scoped reads and forged tokens.)
 */

const NEVER_EXISTED = 'tsk_01HZZZZZZZZZZZZZZZZZZZZZZZ';
const UNKNOWN_WEBHOOK = 'whk_01HZZZZZZZZZZZZZZZZZZZZZZZ';
const completion = (prompt: string, maxTokens = 5, model = 'sim-fast') => ({ type: 'completion', input: { prompt, maxTokens, model } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a response looks like once a task id in it is replaced by a placeholder. */
const shapeOf = (response: { status: number; headers: Headers; text: string }, id: string) => ({
  status: response.status,
  contentType: response.headers.get('content-type'),
  cacheControl: response.headers.get('cache-control'),
  etag: response.headers.get('etag'),
  body: response.text.replaceAll(id, '{id}'),
});

describe('tenant isolation and credential hygiene', () => {
  let harness: Harness;
  let http: string;
  let cdn: string;
  let ws: string;
  let a: { tenantId: string; apiKey: string };
  let b: { tenantId: string; apiKey: string };
  /** A's finished task, A's long-running task, B's task. */
  let aDone: string;
  let aRunning: string;
  let bTask: string;
  let aWebhook: string;
  /** Every credential and secret issued during the run, for the log scan. */
  const issued: Record<string, string> = {};
  const mint = async (apiKey: string, body: unknown, label: string): Promise<string> => {
    const response = await call(`${http}/v1/tokens`, { apiKey, body });
    if (response.status !== 201) throw new Error(`minting ${label} answered ${response.status}`);
    issued[label] = response.body.token as string;
    return response.body.token as string;
  };
  const waitFor = async (apiKey: string, taskId: string, done: (status: string) => boolean) => {
    for (let i = 0; i < 300; i++) {
      const { body } = await call(`${http}/v1/tasks/${taskId}`, { apiKey });
      if (done(body?.status)) return body;
      await sleep(200);
    }
    throw new Error(`task ${taskId} never reached the awaited state`);
  };

  beforeAll(async () => {
    harness = await startHarness();
    ({ httpApi: http, cdn, webSocketApi: ws } = harness.runtime.endpoints);
    a = await harness.newTenant('isolation-a');
    b = await harness.newTenant('isolation-b');
    Object.assign(issued, { aApiKey: a.apiKey, bApiKey: b.apiKey, devApiKey: harness.runtime.endpoints.devTenant.apiKey });
    aDone = (await call(`${http}/v1/tasks`, { apiKey: a.apiKey, body: completion('a, finished') })).body.taskId;
    bTask = (await call(`${http}/v1/tasks`, { apiKey: b.apiKey, body: completion('b, finished') })).body.taskId;
    // Long enough (thousands of tokens at ~40/s) to still run when B tries to cancel it.
    aRunning = (await call(`${http}/v1/tasks`, { apiKey: a.apiKey, body: completion('a, still running', 3_000, 'sim-1') })).body.taskId;
    await waitFor(a.apiKey, aDone, (status) => status === 'succeeded');
    await waitFor(b.apiKey, bTask, (status) => status === 'succeeded');
    await waitFor(a.apiKey, aRunning, (status) => status === 'running');
    const hook = await call(`${http}/v1/webhooks`, { apiKey: a.apiKey, body: { url: 'http://127.0.0.1:9/a-only', events: ['Task Failed'] } });
    aWebhook = hook.body.webhookId;
    issued.aWebhookSecret = hook.body.secret;
    // Warm A's entries at the edge, so a cached copy would be there to leak.
    for (const path of [`/v1/tasks/${aDone}`, `/v1/tasks/${aDone}/events`]) await call(`${cdn}${path}`, { apiKey: a.apiKey });
  }, 180_000);
  afterAll(async () => {
    if (aRunning) await call(`${http}/v1/tasks/${aRunning}/cancel`, { apiKey: a.apiKey, method: 'POST' }).catch(() => undefined);
    await harness?.stop();
  });

  describe('B on A\u2019s task ids: exactly the answer for a task that never existed', () => {
    const httpPaths: { name: string; method: string; path: (id: string) => string; base: () => string }[] = [
      { name: 'GET /v1/tasks/{id}', method: 'GET', path: (id) => `/v1/tasks/${id}`, base: () => http },
      { name: 'GET /v1/tasks/{id} at the edge', method: 'GET', path: (id) => `/v1/tasks/${id}`, base: () => cdn },
      { name: 'GET /v1/tasks/{id}/events', method: 'GET', path: (id) => `/v1/tasks/${id}/events`, base: () => http },
      { name: 'GET /v1/tasks/{id}/events?after=0&limit=5', method: 'GET', path: (id) => `/v1/tasks/${id}/events?after=0&limit=5`, base: () => http },
      { name: 'GET /v1/tasks/{id}/events at the edge', method: 'GET', path: (id) => `/v1/tasks/${id}/events`, base: () => cdn },
      { name: 'POST /v1/tasks/{id}/cancel', method: 'POST', path: (id) => `/v1/tasks/${id}/cancel`, base: () => http },
    ];

    it.each(['apiKey', 'tenantToken', 'scopedToken'] as const)('with B\u2019s %s, every HTTP path on A\u2019s tasks answers like an unknown id', async (kind) => {
      // Prepare
      const credential =
        kind === 'apiKey' ? b.apiKey : kind === 'tenantToken' ? await mint(b.apiKey, { ttlSeconds: 600 }, 'bTenantToken') : await mint(b.apiKey, { taskIds: [bTask], ttlSeconds: 600 }, 'bScopedToken');
      const expectedStatus = kind === 'scopedToken' ? { cancel: 403, read: 404 } : { cancel: 404, read: 404 };
      for (const target of httpPaths) {
        for (const id of [aDone, aRunning]) {
          // Act
          const foreign = await call(`${target.base()}${target.path(id)}`, { apiKey: credential, method: target.method });
          const unknown = await call(`${target.base()}${target.path(NEVER_EXISTED)}`, { apiKey: credential, method: target.method });
          // Assess
          expect(shapeOf(foreign, id), `${target.name} on ${id}`).toEqual(shapeOf(unknown, NEVER_EXISTED));
          expect(foreign.status, target.name).toBe(target.method === 'POST' ? expectedStatus.cancel : expectedStatus.read);
        }
      }
    });

    it('an ETag of A\u2019s task in If-None-Match gets B a 404, never a 304', async () => {
      // Prepare
      const etag = (await call(`${http}/v1/tasks/${aDone}`, { apiKey: a.apiKey })).headers.get('etag')!;
      // Act
      const direct = await call(`${http}/v1/tasks/${aDone}`, { apiKey: b.apiKey, headers: { 'if-none-match': etag } });
      const edge = await call(`${cdn}/v1/tasks/${aDone}`, { apiKey: b.apiKey, headers: { 'if-none-match': etag } });
      const wildcard = await call(`${http}/v1/tasks/${aDone}`, { apiKey: b.apiKey, headers: { 'if-none-match': '*' } });
      // Assess
      expect([direct.status, edge.status, wildcard.status]).toEqual([404, 404, 404]);
    });

    it('a token B mints naming A\u2019s task is minted as for an unknown id, and reads and watches nothing', async () => {
      // Act
      const naming = await call(`${http}/v1/tokens`, { apiKey: b.apiKey, body: { taskIds: [aDone], ttlSeconds: 300 } });
      const unknownMint = await call(`${http}/v1/tokens`, { apiKey: b.apiKey, body: { taskIds: [NEVER_EXISTED], ttlSeconds: 300 } });
      issued.bNamingAToken = naming.body.token;
      issued.bNamingUnknownToken = unknownMint.body.token;
      const read = await call(`${http}/v1/tasks/${aDone}`, { apiKey: naming.body.token });
      const readUnknown = await call(`${http}/v1/tasks/${NEVER_EXISTED}`, { apiKey: unknownMint.body.token });
      const listed = await call(`${http}/v1/tasks`, { apiKey: naming.body.token });
      const client = await WsClient.connect(`${ws}?token=${naming.body.token}`);
      client.send({ action: 'subscribe', taskId: aDone });
      const refused = await client.waitFor((message) => message.type === 'error');
      await client.close();
      // Assess
      expect([naming.status, unknownMint.status]).toEqual([201, 201]);
      expect(Object.keys(naming.body).sort()).toEqual(Object.keys(unknownMint.body).sort());
      expect(shapeOf(read, aDone)).toEqual(shapeOf(readUnknown, NEVER_EXISTED));
      expect(listed.body.items).toEqual([]);
      expect(refused).toMatchObject({ status: 404, title: 'Not found' });
      expect(client.messages.filter((message) => message.taskId === aDone)).toEqual([]);
    });

    it.each(['apiKey', 'tenantToken'] as const)('over WebSocket with B\u2019s %s: subscribe answers as for an unknown id, unsubscribe is as silent, and nothing of A\u2019s streams', async (kind) => {
      // Prepare
      const credential = kind === 'apiKey' ? b.apiKey : await mint(b.apiKey, {}, 'bWsTenantToken');
      const watcher = await WsClient.connect(`${ws}?token=${a.apiKey}`);
      watcher.send({ action: 'subscribe', taskId: aRunning });
      await watcher.waitFor((message) => message.type === 'subscribed');
      const client = await WsClient.connect(`${ws}?token=${encodeURIComponent(credential)}`);
      // Act
      const answers: any[] = [];
      for (const id of [aRunning, aDone, NEVER_EXISTED]) {
        client.send({ action: 'subscribe', taskId: id, after: 0 });
        answers.push(await client.waitFor((message) => message.type === 'error' && !answers.includes(message)));
      }
      for (const id of [aRunning, NEVER_EXISTED]) client.send({ action: 'unsubscribe', taskId: id });
      client.send({ action: 'ping' });
      const pong = await client.waitFor((message) => message.type === 'pong');
      // B's unsubscribe did not touch A's subscription: A's watcher keeps receiving.
      const lastSeq = Math.max(0, ...watcher.messages.flatMap(entriesIn).map((entry) => entry.seq));
      const later = await watcher.waitFor((message) => entriesIn(message).some((entry) => entry.seq > lastSeq), 30_000);
      await client.close();
      await watcher.close();
      // Assess
      expect(answers).toEqual([answers[2], answers[2], answers[2]]);
      expect(answers[2]).toMatchObject({ type: 'error', status: 404, title: 'Not found' });
      expect(client.messages.slice(3)).toEqual([pong]);
      expect(client.messages.filter((message) => isProgress(message) || message.type === 'status')).toEqual([]);
      expect(later.taskId).toBe(aRunning);
    });
  });

  it('B\u2019s cancel of A\u2019s running task changes nothing: it keeps running and streaming', async () => {
    // Prepare
    const before = await call(`${http}/v1/tasks/${aRunning}`, { apiKey: a.apiKey });
    const eventsBefore = harness.runtime.counter.snapshot()['eventbridge:PutEvents'] ?? 0;
    // Act
    const cancelled = await call(`${http}/v1/tasks/${aRunning}/cancel`, { apiKey: b.apiKey, method: 'POST' });
    let after = await call(`${http}/v1/tasks/${aRunning}`, { apiKey: a.apiKey });
    for (let i = 0; i < 150 && after.body.progress.seq <= before.body.progress.seq; i++) {
      await sleep(200);
      after = await call(`${http}/v1/tasks/${aRunning}`, { apiKey: a.apiKey });
    }
    // Assess
    expect(cancelled.status).toBe(404);
    expect(before.body.status).toBe('running');
    expect(after.body.status).toBe('running');
    expect(after.body.progress.seq).toBeGreaterThan(before.body.progress.seq);
    expect(harness.runtime.counter.snapshot()['eventbridge:PutEvents'] ?? 0).toBe(eventsBefore);
  });

  it('listings never show A\u2019s tasks to B, on any page, with any filter or credential', async () => {
    // Prepare
    for (let i = 0; i < 3; i++) await call(`${http}/v1/tasks`, { apiKey: b.apiKey, body: completion(`b page filler ${i}`) });
    const aCursor = (await call(`${http}/v1/tasks?limit=1`, { apiKey: a.apiKey })).body.nextCursor as string;
    const tenantToken = await mint(b.apiKey, { ttlSeconds: 600 }, 'bListToken');
    const seen: string[] = [];
    // Act
    for (const credential of [b.apiKey, tenantToken]) {
      for (const status of [undefined, 'queued', 'running', 'succeeded', 'failed', 'cancelled']) {
        let cursor: string | undefined;
        do {
          const page = await call(`${http}/v1/tasks?limit=2${status ? `&status=${status}` : ''}${cursor ? `&cursor=${cursor}` : ''}`, { apiKey: credential });
          expect(page.status).toBe(200);
          seen.push(...page.body.items.map((task: { taskId: string }) => task.taskId));
          cursor = page.body.nextCursor;
        } while (cursor);
      }
    }
    const withACursor = await call(`${http}/v1/tasks?cursor=${aCursor}`, { apiKey: b.apiKey });
    // Assess
    expect(seen).toContain(bTask);
    expect(seen).not.toContain(aDone);
    expect(seen).not.toContain(aRunning);
    expect(withACursor.status).toBe(400);
    expect(withACursor.text).not.toContain(a.tenantId);
  });

  it('idempotency keys are per tenant: B reusing A\u2019s key gets its own task, never A\u2019s', async () => {
    // Prepare
    const body = completion('same key, same body');
    const first = await call(`${http}/v1/tasks`, { apiKey: a.apiKey, body, headers: { 'idempotency-key': 'shared-key-0001' } });
    // Act
    const sameBody = await call(`${http}/v1/tasks`, { apiKey: b.apiKey, body, headers: { 'idempotency-key': 'shared-key-0001' } });
    const otherBody = await call(`${http}/v1/tasks`, { apiKey: b.apiKey, body: completion('another body'), headers: { 'idempotency-key': 'shared-key-0001' } });
    // Assess
    expect(first.status).toBe(202);
    expect(sameBody.status).toBe(202);
    expect(sameBody.headers.get('idempotent-replayed')).toBeNull();
    expect(sameBody.body.taskId).not.toBe(first.body.taskId);
    expect(otherBody.status).toBe(422); // B's own key, B's own earlier body
  });

  it('webhooks: B neither sees nor deletes A\u2019s endpoints', async () => {
    // Act
    const listed = await call(`${http}/v1/webhooks`, { apiKey: b.apiKey });
    const deleteA = await call(`${http}/v1/webhooks/${aWebhook}`, { apiKey: b.apiKey, method: 'DELETE' });
    const deleteUnknown = await call(`${http}/v1/webhooks/${UNKNOWN_WEBHOOK}`, { apiKey: b.apiKey, method: 'DELETE' });
    const stillThere = await call(`${http}/v1/webhooks`, { apiKey: a.apiKey });
    // Assess
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([]);
    expect(shapeOf(deleteA, aWebhook)).toEqual(shapeOf(deleteUnknown, UNKNOWN_WEBHOOK));
    expect(deleteA.status).toBe(404);
    expect(stillThere.body.items.map((webhook: { webhookId: string }) => webhook.webhookId)).toEqual([aWebhook]);
    expect(JSON.stringify(stillThere.body)).not.toContain('whsec_');
  });

  describe('a task-scoped client token is read/watch-only, and only for its tasks', () => {
    let scoped: string;
    beforeAll(async () => {
      scoped = await mint(a.apiKey, { taskIds: [aDone], ttlSeconds: 600 }, 'aScopedToken');
    });

    it('reads and watches its task; cannot cancel, submit, manage webhooks, or reach another task', async () => {
      // Act
      const read = await call(`${http}/v1/tasks/${aDone}`, { apiKey: scoped });
      const events = await call(`${http}/v1/tasks/${aDone}/events`, { apiKey: scoped });
      const other = await call(`${http}/v1/tasks/${aRunning}`, { apiKey: scoped });
      const unknown = await call(`${http}/v1/tasks/${NEVER_EXISTED}`, { apiKey: scoped });
      const otherEvents = await call(`${http}/v1/tasks/${aRunning}/events`, { apiKey: scoped });
      const cancelOwn = await call(`${http}/v1/tasks/${aDone}/cancel`, { apiKey: scoped, method: 'POST' });
      const cancelOther = await call(`${http}/v1/tasks/${aRunning}/cancel`, { apiKey: scoped, method: 'POST' });
      const submit = await call(`${http}/v1/tasks`, { apiKey: scoped, body: completion('from a scoped token') });
      const hooks = await call(`${http}/v1/webhooks`, { apiKey: scoped });
      const addHook = await call(`${http}/v1/webhooks`, { apiKey: scoped, body: { url: 'https://hooks.example.com/x' } });
      const dropHook = await call(`${http}/v1/webhooks/${aWebhook}`, { apiKey: scoped, method: 'DELETE' });
      const stillRunning = await call(`${http}/v1/tasks/${aRunning}`, { apiKey: a.apiKey });
      // Assess
      expect([read.status, events.status]).toEqual([200, 200]);
      expect(shapeOf(other, aRunning)).toEqual(shapeOf(unknown, NEVER_EXISTED));
      expect(otherEvents.status).toBe(404);
      for (const refused of [cancelOwn, cancelOther, submit, hooks, addHook, dropHook]) {
        expect(refused.status).toBe(403);
        expect(refused.headers.get('content-type')).toBe('application/problem+json');
        expect(refused.body).toMatchObject({ type: expect.stringContaining('/problems/forbidden'), title: 'Forbidden', status: 403, detail: expect.stringMatching(/read-only|Only an API key/) });
      }
      expect(stillRunning.body.status).toBe('running');
      expect((await call(`${http}/v1/webhooks`, { apiKey: a.apiKey })).body.items).toHaveLength(1);
    });

    it('over WebSocket: subscribes to its task, not to another; a submit is refused and creates nothing', async () => {
      // Prepare
      const before = (await call(`${http}/v1/tasks?limit=100`, { apiKey: a.apiKey })).body.items.length;
      const client = await WsClient.connect(`${ws}?token=${scoped}`);
      // Act
      client.send({ action: 'subscribe', taskId: aDone });
      const status = await client.waitFor((message) => message.type === 'status' && message.taskId === aDone);
      client.send({ action: 'subscribe', taskId: aRunning });
      const hidden = await client.waitFor((message) => message.type === 'error' && message.status === 404);
      client.send({ action: 'submit', ...completion('sneaky'), requestId: 'scoped-1' });
      const refused = await client.waitFor((message) => message.type === 'error' && message.requestId === 'scoped-1');
      client.send({ action: 'submit', ...completion('sneaky, idempotent'), idempotencyKey: 'scoped-key', requestId: 'scoped-2' });
      const refusedToo = await client.waitFor((message) => message.type === 'error' && message.requestId === 'scoped-2');
      await client.close();
      const after = (await call(`${http}/v1/tasks?limit=100`, { apiKey: a.apiKey })).body.items.length;
      // Assess
      expect(status.status).toBe('succeeded');
      expect(hidden.title).toBe('Not found');
      expect(refused).toMatchObject({ status: 403, title: 'Forbidden' });
      expect(refusedToo).toMatchObject({ status: 403, title: 'Forbidden' });
      expect(client.messages.filter((message) => message.type === 'ack')).toEqual([]);
      expect(after).toBe(before);
    });
  });

  it('expired tokens and tokens signed with another key are refused over HTTP and WebSocket', async () => {
    // Prepare
    const secretArn = [...harness.runtime.functions.values()].map((fn) => fn.config.environment.TOKEN_SECRET_ARN).find(Boolean)!;
    const secrets = new SecretsManagerClient({ endpoint: harness.runtime.endpoints.services.secretsmanager, region: 'us-east-1', credentials: localCredentials });
    const key = (await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString!;
    secrets.destroy();
    const expired = (await mintClientToken(async () => key, { tenantId: a.tenantId, keyId: a.apiKey.slice(4, 30) }, { ttlSeconds: 60 }, new Date(Date.now() - 120_000))).token;
    const otherKey = (await mintClientToken(async () => 'another-signing-key-of-at-least-32-chars', { tenantId: a.tenantId, keyId: a.apiKey.slice(4, 30) }, { ttlSeconds: 600 })).token;
    const [payload] = expired.slice(4).split('.') as [string];
    const resigned = `oft_${payload}.${createHmac('sha256', 'another-signing-key-of-at-least-32-chars').update(payload).digest('base64url')}`;
    Object.assign(issued, { expiredToken: expired, otherKeyToken: otherKey, resignedToken: resigned });
    // Act
    const outcomes: number[] = [];
    for (const token of [expired, otherKey, resigned]) {
      outcomes.push((await call(`${http}/v1/tasks/${aDone}`, { apiKey: token })).status);
      outcomes.push((await call(`${http}/v1/tasks`, { apiKey: token })).status);
      outcomes.push(await WsClient.connect(`${ws}?token=${token}`).then(async (client) => (await client.close(), 101), (error: { statusCode?: number }) => error.statusCode ?? 0));
    }
    // Assess
    expect(outcomes).toEqual([401, 401, 403, 401, 401, 403, 401, 401, 403]);
  });

  it('writes no API key, client token or webhook secret, in any encoding, to any log', async () => {
    // Prepare: let in-flight log lines land.
    await sleep(500);
    // Act
    const { files, hits } = scanLogFiles(runtimeLogFiles(harness.dir), issued);
    // Assess
    // The logs exist and are non-empty, so a clean scan is not a vacuous one.
    expect(files.map(({ file }) => path.basename(file))).toContain('runtime.log');
    for (const { file, bytes } of files) expect(bytes, file).toBeGreaterThan(0);
    expect(Object.keys(issued).length).toBeGreaterThanOrEqual(12);
    expect(hits).toEqual([]);
  });
});
