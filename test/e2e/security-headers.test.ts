import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startHarness, type Harness } from './harness.ts';

/**
 * Security answers of the running stack (local runtime, the synthesized template): response
 * headers from the edge's response headers policies, `nosniff` from the API itself, no CORS for
 * foreign origins, and sealed listing cursors answering a task-scoped token only its own tasks.
 */
describe('security headers, CORS and listing cursors on the running stack', { timeout: 120_000 }, () => {
  let harness: Harness;
  let http: string;
  let cdn: string;
  let apiKey: string;

  beforeAll(async () => {
    harness = await startHarness();
    ({ httpApi: http, cdn } = harness.runtime.endpoints);
    apiKey = (await harness.newTenant('headers')).apiKey;
  });
  afterAll(async () => {
    await harness?.stop();
  });

  it('serves the dashboard with a CSP (never framed, connecting only to itself and the WebSocket API) and the other security headers', async () => {
    // Act
    const page = await call(harness.runtime.endpoints.dashboard);
    // Assess
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(page.status).toBe(200);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain(`connect-src 'self' ${new URL(harness.runtime.endpoints.webSocketApi).origin};`);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('strict-transport-security')).toBe('max-age=63072000; includeSubDomains');
  });

  it('sends nosniff from the API itself and the edge\u2019s security headers through the CDN', async () => {
    // Act
    const direct = await call(`${http}/v1/tasks`, { apiKey });
    const problem = await call(`${http}/v1/tasks`);
    const edge = await call(`${cdn}/v1/tasks`, { apiKey });
    // Assess
    expect(direct.headers.get('x-content-type-options')).toBe('nosniff');
    expect(problem.status).toBe(401);
    expect(problem.headers.get('x-content-type-options')).toBe('nosniff');
    expect(edge.headers.get('strict-transport-security')).toContain('max-age=');
    expect(edge.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(edge.headers.get('x-frame-options')).toBe('DENY');
  });

  it('grants no CORS access to a foreign origin', async () => {
    // Act
    const preflight = await call(`${http}/v1/tasks`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    const read = await call(`${http}/v1/tasks`, { apiKey, headers: { origin: 'https://evil.example' } });
    // Assess
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers a task-scoped token only its own tasks, with opaque cursors, and refuses a tampered one', async () => {
    // Prepare
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await call(`${http}/v1/tasks`, { apiKey, body: { type: 'completion', input: { prompt: `p${i}`, model: 'sim-fast', maxTokens: 5 } } })).body.taskId);
    const own = [ids[0]!, ids[2]!];
    const { token } = (await call(`${http}/v1/tokens`, { apiKey, body: { taskIds: own } })).body;
    // Act
    const first = await call(`${http}/v1/tasks?limit=1`, { apiKey: token });
    const second = await call(`${http}/v1/tasks?limit=1&cursor=${first.body.nextCursor}`, { apiKey: token });
    const wide = await call(`${http}/v1/tasks?limit=1`, { apiKey });
    const tampered = await call(`${http}/v1/tasks?cursor=${wide.body.nextCursor.slice(0, -2)}${wide.body.nextCursor.endsWith('AA') ? 'BB' : 'AA'}`, { apiKey });
    // Assess
    expect([...first.body.items, ...second.body.items].map((task: { taskId: string }) => task.taskId)).toEqual([...own].sort().reverse());
    expect(second.body.nextCursor).toBeUndefined();
    const decoded = Buffer.from(`${first.body.nextCursor}${wide.body.nextCursor}`, 'base64url').toString('latin1');
    for (const id of ids) expect(decoded).not.toContain(id);
    expect(tampered.status).toBe(400);
  });
});
