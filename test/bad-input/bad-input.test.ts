import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_KID, mintClientToken } from '../../lambdas/core/client-token.ts';
import { localCredentials } from '../../local/engines/credentials.ts';
import { call, startHarness, streamOf, WsClient, type Harness } from '../e2e/harness.ts';
import { scanLogFiles } from '../support/credential-scan.ts';
import { rawRequest, type RawHeader } from '../support/raw-http.ts';
import { diffItems, functionFailureCounts, queueDepths, readRuntimeLogs, runtimeLogFiles, scanTable, tableNames } from '../support/runtime-state.ts';
import { buildCorpus, HTTP_ROUTES, WS_ROUTES, type BadInputCase, type Expectation, type Fixtures, type HttpCase, type WsConnectCase, type WsMessageCase } from './corpus.ts';

/** What one case produced. */
interface Outcome {
  /** HTTP status, handshake status, `error` message status, or WebSocket close code. */
  readonly code: number;
  readonly serverError: boolean;
  /** Why the answer is not the expected one, if it is not. */
  readonly mismatch?: string;
}

const completion = (prompt: string) => ({ type: 'completion', input: { prompt, maxTokens: 5, model: 'sim-fast' } });
const STACK_TRACE = /\bat .*\.(m?js|ts):\d+|node:internal|\/lambdas\/|\/node_modules\//;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('bad input: every route and action refuses hostile and malformed requests cleanly', () => {
  let harness: Harness;
  let http: string;
  let fixtures: Fixtures;
  /** Every credential issued during the run, for the log scan. */
  const issued: Record<string, string> = {};
  /** A client token of tenant A that expires `lifetimeMs` from now (for connections that outlive their token). */
  let mintExpiringToken: (lifetimeMs: number) => Promise<string>;

  const waitTerminal = async (apiKey: string, taskId: string) => {
    for (let i = 0; i < 300; i++) {
      const { body } = await call(`${http}/v1/tasks/${taskId}`, { apiKey });
      if (['succeeded', 'failed', 'cancelled'].includes(body?.status)) return body;
      await sleep(200);
    }
    throw new Error(`task ${taskId} did not finish`);
  };

  const submitAndFinish = async (apiKey: string, prompt: string, headers?: Record<string, string>) => {
    const { status, body } = await call(`${http}/v1/tasks`, { apiKey, body: completion(prompt), ...(headers ? { headers } : {}) });
    if (status !== 202) throw new Error(`fixture submit answered ${status}`);
    await waitTerminal(apiKey, body.taskId);
    return body.taskId as string;
  };

  /** Waits until queues are empty and the tables stop changing: the run starts from a still state. */
  const settle = async () => {
    const { tasks } = tableNames(harness.runtime);
    for (let i = 0; i < 120; i++) {
      const depths = await queueDepths(harness.runtime);
      const before = await scanTable(harness.runtime, tasks);
      await sleep(500);
      const after = await scanTable(harness.runtime, tasks);
      if (Object.values(depths).every((depth) => depth === 0) && diffItems(before, after).length === 0) return;
    }
    throw new Error('the runtime did not settle');
  };

  beforeAll(async () => {
    harness = await startHarness();
    http = harness.runtime.endpoints.httpApi;
    const { apiKey, id: tenantId } = harness.runtime.endpoints.devTenant;
    const other = await harness.newTenant('bad-input-other');
    issued.apiKey = apiKey;
    issued.otherApiKey = other.apiKey;

    // Tasks: two of A's, two of B's (B's listing needs a second page), one idempotent submit of A's.
    const usedBody = completion('the idempotent one');
    const usedIdempotencyKey = 'bad-input-used-key-0001';
    const [taskId, siblingTaskId, otherTaskId] = await Promise.all([
      submitAndFinish(apiKey, 'scoped'),
      submitAndFinish(apiKey, 'sibling'),
      submitAndFinish(other.apiKey, 'other tenant'),
      submitAndFinish(other.apiKey, 'other tenant, second'),
      submitAndFinish(apiKey, 'the idempotent one', { 'idempotency-key': usedIdempotencyKey }),
    ]);

    // Credentials: a scoped token, B's token, and tokens minted with the stack's key the API never issues.
    const scopedToken = (await call(`${http}/v1/tokens`, { apiKey, body: { taskIds: [taskId], ttlSeconds: 3600 } })).body.token as string;
    const otherToken = (await call(`${http}/v1/tokens`, { apiKey: other.apiKey, body: { ttlSeconds: 3600 } })).body.token as string;
    const tenantToken = (await call(`${http}/v1/tokens`, { apiKey, body: { ttlSeconds: 3600 } })).body.token as string;
    const secretArn = [...harness.runtime.functions.values()].map((fn) => fn.config.environment.TOKEN_SECRET_ARN).find(Boolean)!;
    const secrets = new SecretsManagerClient({ endpoint: harness.runtime.endpoints.services.secretsmanager, region: 'us-east-1', credentials: localCredentials });
    const signingKey = (await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString!;
    secrets.destroy();
    const expiredToken = (await mintClientToken(async () => signingKey, { tenantId, keyId: apiKey.slice(4, 30) }, { ttlSeconds: 60 }, new Date(Date.now() - 3_600_000))).token;
    mintExpiringToken = async (lifetimeMs: number) =>
      (await mintClientToken(async () => signingKey, { tenantId, keyId: apiKey.slice(4, 30) }, { ttlSeconds: 60 }, new Date(Date.now() + lifetimeMs - 60_000))).token;
    const foreignKeyToken = (await mintClientToken(async () => 'k'.repeat(64), { tenantId, keyId: apiKey.slice(4, 30) }, { ttlSeconds: 3600 })).token;
    const [payload, signature] = otherToken.slice(4).split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const tamperedToken = `oft_${Buffer.from(JSON.stringify({ ...claims, t: tenantId })).toString('base64url')}.${signature}`;
    // Claims objects get the minting key id and kid a real token carries, so each case tests its own defect.
    const signed = (value: unknown) => {
      const claims = value !== null && typeof value === 'object' && !Array.isArray(value) ? { k: apiKey.slice(4, 30), kid: DEFAULT_KID, ...value } : value;
      const body = Buffer.from(typeof claims === 'string' ? claims : JSON.stringify(claims)).toString('base64url');
      return `oft_${body}.${createHmac('sha256', signingKey).update(body).digest('base64url')}`;
    };

    // Listing cursors of both tenants, and B's webhook (registered once B's tasks are done, so nothing fans out).
    const cursor = (await call(`${http}/v1/tasks?limit=1`, { apiKey })).body.nextCursor as string;
    const otherCursor = (await call(`${http}/v1/tasks?limit=1`, { apiKey: other.apiKey })).body.nextCursor as string;
    const webhook = await call(`${http}/v1/webhooks`, { apiKey: other.apiKey, body: { url: 'http://127.0.0.1:9/never', events: ['Task Cancelled'] } });
    Object.assign(issued, { scopedToken, tenantToken, otherToken, expiredToken, tamperedToken, webhookSecret: webhook.body.secret as string });
    fixtures = {
      apiKey,
      tenantId,
      otherApiKey: other.apiKey,
      taskId: taskId!,
      siblingTaskId: siblingTaskId!,
      otherTaskId: otherTaskId!,
      scopedToken,
      tenantToken,
      expiredToken,
      foreignKeyToken,
      tamperedToken,
      signed,
      usedIdempotencyKey,
      usedBody,
      cursor,
      otherCursor,
      otherWebhookId: webhook.body.webhookId as string,
    };
    if (!cursor || !otherCursor || webhook.status !== 201) throw new Error('fixtures incomplete');
    await settle();
  }, 240_000);
  afterAll(async () => harness?.stop());

  // --- running one case --------------------------------------------------------------------------

  const checkExpectation = (expectation: Expectation, outcome: { code: number; problem?: unknown; contentType?: string; gatewayMessage?: unknown; kind: string; requestId?: unknown }): string | undefined => {
    if ('problem' in expectation) {
      if (outcome.kind !== 'http' || outcome.code !== expectation.problem) return `expected problem ${expectation.problem}, got ${outcome.kind} ${outcome.code}`;
      if (outcome.contentType !== 'application/problem+json') return `content-type ${outcome.contentType}`;
      const problem = outcome.problem as Record<string, unknown> | undefined;
      if (!problem || typeof problem.type !== 'string' || typeof problem.title !== 'string' || problem.status !== expectation.problem || typeof problem.detail !== 'string') {
        return `not a problem document: ${JSON.stringify(problem)?.slice(0, 200)}`;
      }
      return undefined;
    }
    if ('gateway' in expectation) {
      if (outcome.kind !== 'http' || outcome.code !== expectation.gateway) return `expected gateway ${expectation.gateway}, got ${outcome.kind} ${outcome.code}`;
      return typeof (outcome.gatewayMessage as { message?: unknown } | undefined)?.message === 'string' ? undefined : 'no gateway message';
    }
    if ('refused' in expectation) return outcome.kind === 'http' && outcome.code === 400 ? undefined : `expected a refused request (400), got ${outcome.kind} ${outcome.code}`;
    if ('handshake' in expectation) return outcome.kind === 'handshake' && outcome.code === expectation.handshake ? undefined : `expected handshake ${expectation.handshake}, got ${outcome.kind} ${outcome.code}`;
    if ('wsError' in expectation) {
      if (outcome.kind !== 'ws-error' || outcome.code !== expectation.wsError) return `expected error message ${expectation.wsError}, got ${outcome.kind} ${outcome.code}`;
      const problem = outcome.problem as Record<string, unknown>;
      if (typeof problem.title !== 'string' || typeof problem.detail !== 'string') return `malformed error message ${JSON.stringify(problem)}`;
      if (expectation.requestId !== undefined && outcome.requestId !== expectation.requestId) return `requestId ${String(outcome.requestId)} instead of ${expectation.requestId}`;
      return undefined;
    }
    return outcome.kind === 'ws-close' && outcome.code === expectation.wsClose ? undefined : `expected close ${expectation.wsClose}, got ${outcome.kind} ${outcome.code}`;
  };

  const runHttp = async (testCase: HttpCase): Promise<Outcome> => {
    const headers: RawHeader[] = [];
    const authorization = testCase.authorization === undefined ? `Bearer ${fixtures.apiKey}` : testCase.authorization;
    if (authorization !== null) headers.push(['Authorization', authorization]);
    if (testCase.body !== undefined && testCase.contentType !== null) headers.push(['Content-Type', testCase.contentType ?? 'application/json']);
    headers.push(...(testCase.headers ?? []));
    const response = await rawRequest(http, { method: testCase.method, path: testCase.path, headers, ...(testCase.body !== undefined ? { body: testCase.body } : {}) });
    if (!response) return { code: 0, serverError: false, mismatch: 'connection closed without an answer' };
    let parsed: unknown;
    try {
      parsed = response.text ? JSON.parse(response.text) : undefined;
    } catch {
      parsed = undefined;
    }
    const leak = STACK_TRACE.test(response.text) ? 'the answer carries a stack trace or internal path' : undefined;
    const mismatch =
      leak ??
      checkExpectation(testCase.expect, { kind: 'http', code: response.status, problem: parsed, gatewayMessage: parsed, ...(response.headers['content-type'] ? { contentType: response.headers['content-type'] } : {}) });
    return { code: response.status, serverError: response.status >= 500, ...(mismatch ? { mismatch } : {}) };
  };

  const wsBase = () => harness.runtime.endpoints.webSocketApi.replace(/\/live$/, '');

  const runConnect = async (testCase: WsConnectCase): Promise<Outcome> => {
    const result = await new Promise<{ kind: string; code: number }>((resolve) => {
      const socket = new WebSocket(`${wsBase()}${testCase.target}`, { headers: testCase.headers ?? {} });
      socket.once('open', () => {
        socket.terminate();
        resolve({ kind: 'open', code: 101 });
      });
      socket.once('unexpected-response', (_request, response) => {
        response.resume();
        resolve({ kind: 'handshake', code: response.statusCode ?? 0 });
        socket.terminate();
      });
      socket.once('error', () => resolve({ kind: 'error', code: 0 }));
    });
    const mismatch = checkExpectation(testCase.expect, result);
    return { code: result.code, serverError: result.code >= 500, ...(mismatch ? { mismatch } : {}) };
  };

  const runMessage = async (testCase: WsMessageCase): Promise<Outcome> => {
    const token = testCase.expiringTokenMs !== undefined ? await mintExpiringToken(testCase.expiringTokenMs) : (testCase.token ?? fixtures.apiKey);
    const client = await WsClient.connect(`${harness.runtime.endpoints.webSocketApi}?token=${encodeURIComponent(token)}`);
    const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)));
    if (testCase.expiringTokenMs !== undefined) await sleep(testCase.expiringTokenMs + 250);
    for (const frame of testCase.frames) {
      await new Promise<void>((resolve, reject) => client.socket.send(frame.data, { binary: frame.binary === true, fin: frame.fin ?? true }, (error) => (error ? reject(error) : resolve())));
    }
    const first = await Promise.race([
      client.waitFor(() => true, 20_000).then((message) => ({ kind: 'message' as const, message })),
      closed.then((code) => ({ kind: 'close' as const, code })),
    ]).catch((error: Error) => ({ kind: 'timeout' as const, error }));
    let result: { kind: string; code: number; problem?: unknown; requestId?: unknown };
    if (first.kind === 'close') result = { kind: 'ws-close', code: first.code };
    else if (first.kind === 'timeout') result = { kind: 'timeout', code: 0 };
    else if (first.message?.type === 'error') result = { kind: 'ws-error', code: first.message.status, problem: first.message, requestId: first.message.requestId };
    else result = { kind: `message ${JSON.stringify(first.message).slice(0, 120)}`, code: /internal server error/i.test(String(first.message?.message)) ? 500 : 200 };
    // Anything else the socket says shortly after the first answer (an `ack` would mean a task was created).
    await sleep(50);
    const extra = client.messages.slice(1).filter((message) => message.type !== 'error');
    await client.close();
    const mismatch = checkExpectation(testCase.expect, result) ?? (extra.length ? `unexpected messages ${JSON.stringify(extra).slice(0, 200)}` : undefined);
    const serverError = result.code >= 500 && result.code < 1000;
    return { code: result.code, serverError, ...(mismatch ? { mismatch } : {}) };
  };

  const run = (testCase: BadInputCase): Promise<Outcome> =>
    testCase.kind === 'http' ? runHttp(testCase) : testCase.kind === 'ws-connect' ? runConnect(testCase) : runMessage(testCase);

  const describeCase = (testCase: BadInputCase): string =>
    testCase.kind === 'http'
      ? JSON.stringify([testCase.method, testCase.path, testCase.authorization === undefined ? 'default' : String(testCase.authorization), testCase.contentType, testCase.headers?.map(([name, value]) => [name, String(value)]), String(testCase.body)])
      : testCase.kind === 'ws-connect'
        ? JSON.stringify(['connect', testCase.target, testCase.headers])
        : JSON.stringify(['message', testCase.token ?? 'default', testCase.expiringTokenMs, testCase.frames.map((frame) => [String(frame.data), frame.binary, frame.fin])]);

  it('covers every route and action with at least 300 distinct cases', () => {
    // Act
    const corpus = buildCorpus(fixtures);
    // Assess
    expect(corpus.length).toBeGreaterThanOrEqual(300);
    expect(new Set(corpus.map((testCase) => `${testCase.route} ${testCase.name}`)).size).toBe(corpus.length);
    expect(new Set(corpus.map(describeCase)).size).toBe(corpus.length);
    const routes = new Set(corpus.map((testCase) => testCase.route));
    for (const route of [...HTTP_ROUTES, ...WS_ROUTES]) expect(routes, route).toContain(route);
  });

  it('answers every case with a 4xx (or the gateway\u2019s refusal), never a 5xx or a crash, and persists nothing', async () => {
    // Prepare
    const corpus = buildCorpus(fixtures);
    const { tasks, connections } = tableNames(harness.runtime);
    const baselineConnections = await scanTable(harness.runtime, connections);
    const baselineDepths = await queueDepths(harness.runtime);
    const failuresBefore = functionFailureCounts(harness.runtime);
    const logBefore = readRuntimeLogs(harness.dir).length;
    let previous = await scanTable(harness.runtime, tasks);
    const byStatus: Record<string, number> = {};
    const byRoute: Record<string, number> = {};
    const mismatches: string[] = [];
    const persisted: string[] = [];
    const serverErrors: string[] = [];
    // Act
    for (const testCase of corpus) {
      const label = `[${testCase.route}] ${testCase.name}`;
      const eventsBefore = harness.runtime.counter.snapshot()['eventbridge:PutEvents'] ?? 0;
      let outcome: Outcome;
      try {
        outcome = await run(testCase);
      } catch (error) {
        outcome = { code: 0, serverError: false, mismatch: `runner error: ${(error as Error).message}` };
      }
      byStatus[String(outcome.code)] = (byStatus[String(outcome.code)] ?? 0) + 1;
      byRoute[testCase.route] = (byRoute[testCase.route] ?? 0) + 1;
      if (outcome.serverError) serverErrors.push(`${label}: ${outcome.code}`);
      if (outcome.mismatch) mismatches.push(`${label}: ${outcome.mismatch}`);
      const current = await scanTable(harness.runtime, tasks);
      const changes = diffItems(previous, current);
      const subscriptions = [...(await scanTable(harness.runtime, connections)).keys()].filter((key) => !baselineConnections.has(key) && (key.startsWith('TASK#') || key.includes('/SUB#')));
      const emitted = (harness.runtime.counter.snapshot()['eventbridge:PutEvents'] ?? 0) - eventsBefore;
      if (changes.length || subscriptions.length || emitted) persisted.push(`${label}: ${[...changes, ...subscriptions, ...(emitted ? [`${emitted} events`] : [])].join(', ')}`);
      previous = current;
    }
    // Connections of the run are gone once their $disconnect ran.
    let leftover: string[] = [];
    for (let i = 0; i < 60; i++) {
      leftover = diffItems(baselineConnections, await scanTable(harness.runtime, connections));
      if (leftover.length === 0) break;
      await sleep(500);
    }
    const depths = await queueDepths(harness.runtime);
    const failuresAfter = functionFailureCounts(harness.runtime);
    const crashes = Object.entries(failuresAfter).filter(([name, count]) => count !== failuresBefore[name]).map(([name, count]) => `${name}: ${count - (failuresBefore[name] ?? 0)}`);
    const logs = readRuntimeLogs(harness.dir).slice(logBefore);
    const errorLines = logs.split('\n').filter((line) => /"level":"ERROR"|integration failed|authorizer failed|Runtime\.\w+/.test(line));
    const crashCount = Object.values(failuresAfter).reduce((sum, count) => sum + count, 0) - Object.values(failuresBefore).reduce((sum, count) => sum + count, 0);
    const report = {
      cases: corpus.length,
      byStatus,
      serverErrors: serverErrors.length,
      crashes: crashCount + errorLines.length,
      persistedRejected: persisted.length + (leftover.length ? 1 : 0),
      byRoute,
    };
    mkdirSync(path.resolve('test-results'), { recursive: true });
    writeFileSync(path.resolve('test-results', 'bad-input.json'), JSON.stringify(report, null, 2) + '\n');
    // Assess
    expect({ serverErrors, crashes, errorLines, persisted, leftover, mismatches, depths }).toEqual({
      serverErrors: [],
      crashes: [],
      errorLines: [],
      persisted: [],
      leftover: [],
      mismatches: [],
      depths: baselineDepths,
    });
    expect(report).toMatchObject({ serverErrors: 0, crashes: 0, persistedRejected: 0 });
    expect(report.cases).toBeGreaterThanOrEqual(300);
  }, 600_000);

  it('leaves the runtime healthy: a normal submit is acknowledged and streams to completion', async () => {
    // Prepare
    const client = await WsClient.connect(`${harness.runtime.endpoints.webSocketApi}?token=${fixtures.apiKey}`);
    // Act
    const submitted = await call(`${http}/v1/tasks`, { apiKey: fixtures.apiKey, body: { type: 'completion', input: { prompt: 'after the storm', maxTokens: 30, model: 'sim-fast' } } });
    client.send({ action: 'subscribe', taskId: submitted.body.taskId });
    const status = await client.waitFor((message) => message.type === 'status', 60_000);
    await client.close();
    // Assess
    expect(submitted.status).toBe(202);
    expect(status.status).toBe('succeeded');
    const { text } = streamOf(client, submitted.body.taskId);
    expect(text).toBe(status.result.text);
  }, 90_000);

  it('never writes an API key, client token or webhook secret to any log', () => {
    // Act
    const { files, hits } = scanLogFiles(runtimeLogFiles(harness.dir), issued);
    // Assess
    // The logs exist and are non-empty, so a clean scan is not a vacuous one.
    expect(files.map(({ file }) => path.basename(file))).toContain('runtime.log');
    for (const { file, bytes } of files) expect(bytes, file).toBeGreaterThan(0);
    expect(Object.keys(issued).length).toBeGreaterThanOrEqual(7);
    expect(hits).toEqual([]);
  });
});
