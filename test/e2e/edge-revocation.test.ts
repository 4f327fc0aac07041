import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, revokeApiKey } from '../../lambdas/core/auth.ts';
import { mintClientToken, TOKEN_TTL } from '../../lambdas/core/client-token.ts';
import { DynamoTenantStore } from '../../lambdas/store/tenant-store.ts';
import { localCredentials } from '../../local/engines/credentials.ts';
import { call, startHarness, type Harness } from './harness.ts';

/**
 * Revocation through the edge: a terminal task read through the CDN is cached there, but no longer
 * than the authorizer would still accept the credential. Once an API key is revoked (and the
 * authorizer's key cache TTL, the revocation window, has passed) or a client token has expired, the
 * read through the CDN is refused with a `401` problem, never answered with the cached body. The
 * window is `API_KEY_CACHE_SECONDS`, shortened here to a few seconds for every function.
 */

const WINDOW_SECONDS = 3;
const completion = (prompt: string) => ({ type: 'completion', input: { prompt, maxTokens: 5, model: 'sim-fast' } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
type Answer = Awaited<ReturnType<typeof call>>;

describe('edge caching never outlives a credential', () => {
  let harness: Harness;
  let http: string;
  let cdn: string;
  let tenants: DynamoTenantStore;

  /** Submits a task and waits (reading the API directly, not through the edge) until it succeeded. */
  const finishedTask = async (apiKey: string, prompt: string): Promise<string> => {
    const { taskId } = (await call(`${http}/v1/tasks`, { apiKey, body: completion(prompt) })).body as { taskId: string };
    for (let i = 0; i < 100; i++) {
      if ((await call(`${http}/v1/tasks/${taskId}`, { apiKey })).body?.status === 'succeeded') return taskId;
      await sleep(100);
    }
    throw new Error(`task ${taskId} did not succeed`);
  };

  /** Reads through the CDN until the edge answers from its cache (X-Cache: Hit); returns that answer. */
  const readUntilCached = async (path: string, credential: string): Promise<Answer> => {
    const deadline = Date.now() + (WINDOW_SECONDS + 3) * 1000;
    while (Date.now() < deadline) {
      const answer = await call(`${cdn}${path}`, { apiKey: credential });
      if (answer.status !== 200) throw new Error(`the edge answered ${answer.status}: ${answer.text}`);
      if (answer.headers.get('x-cache') === 'Hit from cloudfront') return answer;
      await sleep(100);
    }
    throw new Error(`${path} was never served from the edge cache`);
  };

  const expectRefused = (answer: Answer, cached: Answer) => {
    expect(answer.status).toBe(401);
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('x-cache')).not.toBe('Hit from cloudfront');
    expect(answer.body).toMatchObject({ status: 401, title: 'Unauthorized' });
    expect(answer.body).not.toHaveProperty('result');
    expect(answer.text).not.toContain(JSON.stringify(cached.body.result));
  };

  beforeAll(async () => {
    harness = await startHarness({ functionEnvironment: { API_KEY_CACHE_SECONDS: String(WINDOW_SECONDS) } });
    ({ httpApi: http, cdn } = harness.runtime.endpoints);
    const tasksTable = harness.runtime.template.ofType('AWS::DynamoDB::Table').find(([id]) => id.startsWith('StorageTasks'))![0];
    tenants = new DynamoTenantStore(harness.runtime.template.resolveString({ Ref: tasksTable }, 'test'), DynamoDBDocumentClient.from(harness.runtime.dynamo.client));
  });
  afterAll(async () => harness?.stop());

  it('refuses a revoked API key at the edge once the revocation window passed, instead of replaying the cached task', async () => {
    // Prepare
    const { tenantId, apiKey, keyId } = await createTenant(tenants, 'edge-revoked-key');
    const taskId = await finishedTask(apiKey, 'cached, then revoked');
    const cached = await readUntilCached(`/v1/tasks/${taskId}`, apiKey);
    // Act
    expect(await revokeApiKey(tenants, tenantId, keyId)).toBe('revoked');
    await sleep((WINDOW_SECONDS + 1) * 1000);
    const refused = await call(`${cdn}/v1/tasks/${taskId}`, { apiKey });
    const refusedAgain = await call(`${cdn}/v1/tasks/${taskId}`, { apiKey });
    // Assess
    expect(cached.body).toMatchObject({ taskId, status: 'succeeded', result: expect.any(Object) });
    expect(cached.headers.get('cache-control')).toContain('immutable');
    expectRefused(refused, cached);
    expectRefused(refusedAgain, cached);
  });

  it('refuses an expired client token at the edge as soon as it expired, instead of replaying the cached task', async () => {
    // Prepare: POST /v1/tokens mints no token shorter-lived than TOKEN_TTL.min (60 s). To expire one
    // within seconds, mint it with the deployment's own signing key, backdated.
    const { tenantId, apiKey, keyId } = await createTenant(tenants, 'edge-expired-token');
    const taskId = await finishedTask(apiKey, 'cached, then expired');
    const secretArn = [...harness.runtime.functions.values()].map((fn) => fn.config.environment.TOKEN_SECRET_ARN).find(Boolean)!;
    const secrets = new SecretsManagerClient({ endpoint: harness.runtime.endpoints.services.secretsmanager, region: 'us-east-1', credentials: localCredentials });
    const key = (await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString!;
    secrets.destroy();
    const lifetimeMs = 4_000;
    const { token, expiresAt } = await mintClientToken(async () => key, { tenantId, keyId }, { ttlSeconds: TOKEN_TTL.min }, new Date(Date.now() + lifetimeMs - TOKEN_TTL.min * 1000));
    const cached = await readUntilCached(`/v1/tasks/${taskId}`, token);
    const sMaxAge = Number(/s-maxage=(\d+)/.exec(cached.headers.get('cache-control') ?? '')?.[1]);
    // Act
    await sleep(Date.parse(expiresAt) - Date.now() + 250);
    const refused = await call(`${cdn}/v1/tasks/${taskId}`, { apiKey: token });
    // Assess
    expect(cached.body).toMatchObject({ taskId, status: 'succeeded' });
    expect(sMaxAge).toBeLessThanOrEqual(Math.ceil(lifetimeMs / 1000));
    expectRefused(refused, cached);
  });
});
