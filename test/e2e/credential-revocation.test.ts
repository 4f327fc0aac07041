import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintClientToken, TOKEN_TTL } from '../../lambdas/core/client-token.ts';
import { localCredentials } from '../../local/engines/credentials.ts';
import { runCli } from '../client/cli-support.ts';
import { call, startHarness, WsClient, type Harness } from './harness.ts';

/**
 * Credentials that can really be revoked: only API keys mint client tokens; a token lives only as
 * long as the API key that minted it (revoking the key refuses its tokens within the revocation
 * window, shortened here to a few seconds); the signing secret rotates with old and new signing keys
 * valid together; a WebSocket connection is refused and closed once its token expired, and revoking
 * a key closes the connections opened with it or its tokens.
 */

const WINDOW_SECONDS = 3;
/** How long a function keeps the signing secret (shortened from 300 s so a rotation shows within the test). */
const SECRET_CACHE_SECONDS = 1;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const keyIdOf = (apiKey: string): string => apiKey.slice('ofk_'.length, 'ofk_'.length + 26);
const claimsOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.slice(4).split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;

describe('credentials that can really be revoked', () => {
  let harness: Harness;
  let http: string;
  let secrets: SecretsManagerClient;
  let secretArn: string;

  const mint = async (credential: string, body: Record<string, unknown> = {}) => call(`${http}/v1/tokens`, { apiKey: credential, body });
  const list = (credential: string) => call(`${http}/v1/tasks?limit=1`, { apiKey: credential });
  const signingSecret = async (): Promise<string> => (await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString!;
  /** Waits until a (repeated) read answers `status`, for at most `seconds`; returns the last answer. */
  const until = async (read: () => ReturnType<typeof call>, status: number, seconds: number) => {
    const deadline = Date.now() + seconds * 1000;
    let answer = await read();
    while (answer.status !== status && Date.now() < deadline) {
      await sleep(200);
      answer = await read();
    }
    return answer;
  };

  beforeAll(async () => {
    harness = await startHarness({ functionEnvironment: { API_KEY_CACHE_SECONDS: String(WINDOW_SECONDS), TOKEN_KEY_CACHE_SECONDS: String(SECRET_CACHE_SECONDS) } });
    http = harness.runtime.endpoints.httpApi;
    secretArn = [...harness.runtime.functions.values()].map((fn) => fn.config.environment.TOKEN_SECRET_ARN).find(Boolean)!;
    secrets = new SecretsManagerClient({ endpoint: harness.runtime.endpoints.services.secretsmanager, region: 'us-east-1', credentials: localCredentials });
  });
  afterAll(async () => {
    secrets?.destroy();
    await harness?.stop();
  });

  it('lets only API keys mint client tokens: a client token asking for another gets 403 problem+json', async () => {
    // Prepare
    const { apiKey } = await harness.newTenant('mint-by-token');
    const minted = await mint(apiKey, { ttlSeconds: TOKEN_TTL.min });
    // Act
    const renewed = await mint(minted.body.token, { ttlSeconds: TOKEN_TTL.max });
    // Assess
    expect(minted.status).toBe(201);
    expect(claimsOf(minted.body.token)).toMatchObject({ k: keyIdOf(apiKey), kid: expect.any(String) });
    expect(renewed.status).toBe(403);
    expect(renewed.headers.get('content-type')).toBe('application/problem+json');
    expect(renewed.body).toMatchObject({ status: 403, title: 'Forbidden' });
    expect(renewed.body).not.toHaveProperty('token');
  });

  it('refuses a client token within the revocation window once the API key that minted it is revoked', async () => {
    // Prepare
    const { tenantId, apiKey } = await harness.newTenant('revoke-minting-key');
    const other = await mint((await harness.newTenant('revoke-bystander')).apiKey);
    const { token } = (await mint(apiKey, { ttlSeconds: 3600 })).body as { token: string };
    const before = await list(token);
    // Act
    const revoked = await runCli(['keys', 'revoke', keyIdOf(apiKey), '--tenant', tenantId, '--json'], { env: { OFFLOAD_DIR: harness.dir } });
    const revokedAt = Date.now();
    const after = await until(() => list(token), 401, WINDOW_SECONDS + 2);
    const refusedWithin = Date.now() - revokedAt;
    // Assess
    expect(before.status).toBe(200);
    expect(revoked.code).toBe(0);
    expect(after.status).toBe(401);
    expect(after.headers.get('content-type')).toBe('application/problem+json');
    expect(refusedWithin).toBeLessThanOrEqual((WINDOW_SECONDS + 1) * 1000);
    expect((await list(other.body.token)).status).toBe(200);
    const handshake = await WsClient.connect(`${harness.runtime.endpoints.webSocketApi}?token=${encodeURIComponent(token)}`).catch((error: { statusCode?: number }) => error);
    expect(handshake).toMatchObject({ statusCode: 403 });
  });

  it('accepts tokens of the previous and the current signing key during a rotation, and refuses the old ones once it is dropped', async () => {
    // Prepare
    const { apiKey } = await harness.newTenant('signing-rotation');
    const original = await signingSecret();
    const oldToken = (await mint(apiKey, { ttlSeconds: 3600 })).body.token as string;
    const oldKid = claimsOf(oldToken).kid as string;
    const oldKey = original.trimStart().startsWith('{') ? (JSON.parse(original) as { current: { key: string } }).current.key : original;
    const newEntry = { kid: 'rotation-2', key: 'n'.repeat(48) };
    try {
      // Act: rotate (new current, old kept as previous), then drop the previous key.
      await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: JSON.stringify({ current: newEntry, previous: { kid: oldKid, key: oldKey } }) }));
      await sleep((SECRET_CACHE_SECONDS + 1) * 1000);
      const newToken = (await mint(apiKey, { ttlSeconds: 3600 })).body.token as string;
      const during = { old: await list(oldToken), fresh: await list(newToken) };
      await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: JSON.stringify({ current: newEntry }) }));
      await sleep((SECRET_CACHE_SECONDS + 1) * 1000);
      const after = { old: await list(oldToken), fresh: await list(newToken) };
      // Assess
      expect(claimsOf(newToken).kid).toBe('rotation-2');
      expect(during.old.status).toBe(200);
      expect(during.fresh.status).toBe(200);
      expect(after.old.status).toBe(401);
      expect(after.fresh.status).toBe(200);
    } finally {
      await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: original }));
      await sleep((SECRET_CACHE_SECONDS + 1) * 1000);
    }
  });

  it('answers a message on a connection whose token expired with error 401 and closes the connection', async () => {
    // Prepare: POST /v1/tokens mints no token shorter-lived than 60 s; mint one expiring in 3 s with the deployment's own key, backdated.
    const { tenantId, apiKey } = await harness.newTenant('ws-expiry');
    const lifetimeMs = 3_000;
    const { token, expiresAt } = await mintClientToken(signingSecret, { tenantId, keyId: keyIdOf(apiKey) }, { ttlSeconds: TOKEN_TTL.min }, new Date(Date.now() + lifetimeMs - TOKEN_TTL.min * 1000));
    const client = await WsClient.connect(`${harness.runtime.endpoints.webSocketApi}?token=${encodeURIComponent(token)}`);
    const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)));
    client.send({ action: 'ping' });
    const pong = await client.waitFor((message) => message.type === 'pong');
    // Act
    await sleep(Date.parse(expiresAt) - Date.now() + 250);
    client.send({ action: 'subscribe', taskId: 'tsk_01M849C7620B60EW7584K8WCF2', requestId: 'late' });
    const refused = await client.waitFor((message) => message.type === 'error');
    // Assess
    expect(pong).toEqual({ type: 'pong' });
    expect(refused).toMatchObject({ type: 'error', status: 401, requestId: 'late' });
    expect(await closed).toBe(1000);
    expect(client.messages.filter((message) => message.type === 'subscribed')).toEqual([]);
  });

  it('closes the open connections of a revoked key (opened with the key or a token it minted), and no other', async () => {
    // Prepare
    const { tenantId, apiKey } = await harness.newTenant('ws-revoke');
    const bystander = await harness.newTenant('ws-revoke-bystander');
    const { token } = (await mint(apiKey, { ttlSeconds: 3600 })).body as { token: string };
    const url = (credential: string) => `${harness.runtime.endpoints.webSocketApi}?token=${encodeURIComponent(credential)}`;
    const [byKey, byToken, other] = await Promise.all([WsClient.connect(url(apiKey)), WsClient.connect(url(token)), WsClient.connect(url(bystander.apiKey))]);
    const closedCode = (client: WsClient) => new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)));
    const closed = [closedCode(byKey), closedCode(byToken)];
    for (const client of [byKey, byToken, other]) {
      client.send({ action: 'ping' });
      await client.waitFor((message) => message.type === 'pong');
    }
    // Act
    const revoked = await runCli(['keys', 'rotate', '--tenant', tenantId, '--revoke-old', '--json'], { env: { OFFLOAD_DIR: harness.dir } });
    // Assess
    expect(revoked.code).toBe(0);
    expect(revoked.json()).toMatchObject({ revokedKeyIds: [keyIdOf(apiKey)], closedConnections: 2 });
    expect(await Promise.all(closed)).toEqual([1000, 1000]);
    other.send({ action: 'ping' });
    expect(await other.waitFor((message) => message.type === 'pong' && other.messages.filter((m) => m.type === 'pong').length === 2)).toEqual({ type: 'pong' });
    await other.close();
  });
});
