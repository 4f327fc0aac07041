import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startHarness, WsClient, type Harness } from './harness.ts';

const completion = (prompt: string) => ({ type: 'completion', input: { prompt, maxTokens: 5, model: 'sim-fast' } });

describe('client tokens: browsers never need the API key', () => {
  let harness: Harness;
  let http: string;
  let apiKey: string;
  beforeAll(async () => {
    harness = await startHarness();
    http = harness.runtime.endpoints.httpApi;
    apiKey = harness.runtime.endpoints.devTenant.apiKey;
  });
  afterAll(async () => harness?.stop());

  it('mints a token scoped to tasks that reads and streams those tasks and nothing else', async () => {
    // Prepare
    const mine = (await call(`${http}/v1/tasks`, { apiKey, body: completion('scoped') })).body.taskId;
    const sibling = (await call(`${http}/v1/tasks`, { apiKey, body: completion('not in scope') })).body.taskId;
    // Act
    const mintedAt = Date.now();
    const minted = await call(`${http}/v1/tokens`, { apiKey, body: { taskIds: [mine], ttlSeconds: 300 } });
    const respondedAt = Date.now();
    const token = minted.body.token as string;
    const read = await call(`${http}/v1/tasks/${mine}`, { apiKey: token });
    const hidden = await call(`${http}/v1/tasks/${sibling}`, { apiKey: token });
    const listed = await call(`${http}/v1/tasks`, { apiKey: token });
    const widen = await call(`${http}/v1/tokens`, { apiKey: token, body: { taskIds: [sibling] } });
    const client = await WsClient.connect(`${harness.runtime.endpoints.webSocketApi}?token=${token}`);
    client.send({ action: 'subscribe', taskId: mine });
    const status = await client.waitFor((message) => message.type === 'status');
    client.send({ action: 'subscribe', taskId: sibling });
    const refused = await client.waitFor((message) => message.type === 'error' && message.status === 404);
    await client.close();
    // Assess
    expect(minted.status).toBe(201);
    expect(token).toMatch(/^oft_/);
    // expiresAt = mint time (whole seconds) + 300 s, the mint happening between these two instants.
    expect(Date.parse(minted.body.expiresAt)).toBeGreaterThan(mintedAt + 299_000 - 1);
    expect(Date.parse(minted.body.expiresAt)).toBeLessThanOrEqual(respondedAt + 300_000);
    expect(read.status).toBe(200);
    expect(hidden.status).toBe(404);
    expect(listed.body.items.map((task: { taskId: string }) => task.taskId)).toEqual([mine]);
    expect(widen.status).toBe(403); // only API keys mint tokens
    expect(status.status).toBe('succeeded');
    expect(refused.title).toBe('Not found');
  });

  it('refuses forged, tampered and foreign tokens', async () => {
    // Prepare
    const other = await harness.newTenant('token-other');
    const task = (await call(`${http}/v1/tasks`, { apiKey, body: completion('guarded') })).body.taskId;
    const { token } = (await call(`${http}/v1/tokens`, { apiKey: other.apiKey, body: {} })).body;
    const [payload, signature] = (token as string).slice(4).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = `oft_${Buffer.from(JSON.stringify({ ...claims, t: harness.runtime.endpoints.devTenant.id })).toString('base64url')}.${signature}`;
    // Act
    const foreign = await call(`${http}/v1/tasks/${task}`, { apiKey: token });
    const tampered = await call(`${http}/v1/tasks/${task}`, { apiKey: forged });
    const wsForged = await WsClient.connect(`${harness.runtime.endpoints.webSocketApi}?token=${encodeURIComponent(forged)}`).then(
      () => 'connected',
      (error: unknown) => error,
    );
    const badTtl = await call(`${http}/v1/tokens`, { apiKey, body: { ttlSeconds: 10 } });
    // Assess
    expect(foreign.status).toBe(404);
    expect(tampered.status).toBe(401);
    expect(wsForged).toMatchObject({ statusCode: 403 });
    expect(badTtl.status).toBe(400);
  });
});
