import { describe, expect, it } from 'vitest';
import { clientTokenExpiry, mintClientToken, parseSigningSecret, verifyClientToken } from '../../lambdas/core/client-token.ts';
import { ForbiddenError } from '../../lambdas/core/errors.ts';

const key = async () => 'k'.repeat(64);
const otherKey = async () => 'x'.repeat(64);
const taskId = 'tsk_01M849C7620B60EW7584K8WCF2';
const keyId = '01M849C7620B60EW7584K8WCF2';
const minter = { tenantId: 'ten_a', keyId } as const;
const ring = (current: [string, string], previous?: [string, string]) => async () =>
  JSON.stringify({ current: { kid: current[0], key: current[1] }, ...(previous ? { previous: { kid: previous[0], key: previous[1] } } : {}) });
/** A token as minted before tokens were bound to a key and a signing key: right signature, no `k`, no `kid`. */
const legacyToken = async (signingKey: string): Promise<string> => {
  const { createHmac } = await import('node:crypto');
  const payload = Buffer.from(JSON.stringify({ t: 'ten_a', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url');
  return `oft_${payload}.${createHmac('sha256', signingKey).update(payload).digest('base64url')}`;
};

describe('client tokens', () => {
  it('round-trips tenant, minting key and scope, and expires', async () => {
    // Prepare
    const now = new Date('2026-11-23T12:00:00Z');
    const { token, expiresAt } = await mintClientToken(key, minter, { taskIds: [taskId], ttlSeconds: 60 }, now);
    // Act / Assess
    expect(expiresAt).toBe('2026-11-23T12:01:00.000Z');
    expect(await verifyClientToken(key, token, new Date('2026-11-23T12:00:59Z'))).toEqual({ tenantId: 'ten_a', keyId, via: 'clientToken', taskIds: [taskId] });
    expect(await verifyClientToken(key, token, new Date('2026-11-23T12:01:00Z'))).toBeUndefined();
    expect(await verifyClientToken(otherKey, token, now)).toBeUndefined();
  });

  it('is minted by an API key only: a client token (or a principal without a key id) gets 403', async () => {
    // Act / Assess
    await expect(mintClientToken(key, { ...minter, via: 'clientToken' }, {})).rejects.toBeInstanceOf(ForbiddenError);
    await expect(mintClientToken(key, { tenantId: 'ten_a' }, {})).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('verifies tokens of the current and the previous signing key during a rotation, and of no other', async () => {
    // Prepare
    const before = ring(['2026-11', 'a'.repeat(40)]);
    const during = ring(['2026-12', 'b'.repeat(40)], ['2026-11', 'a'.repeat(40)]);
    const after = ring(['2026-12', 'b'.repeat(40)]);
    const old = (await mintClientToken(before, minter, {})).token;
    // Act
    const fresh = (await mintClientToken(during, minter, {})).token;
    // Assess
    expect(await verifyClientToken(during, old)).toMatchObject({ tenantId: 'ten_a', keyId });
    expect(await verifyClientToken(during, fresh)).toMatchObject({ tenantId: 'ten_a', keyId });
    expect(await verifyClientToken(after, fresh)).toMatchObject({ tenantId: 'ten_a' });
    expect(await verifyClientToken(after, old)).toBeUndefined();
    expect(await verifyClientToken(before, fresh)).toBeUndefined();
  });

  it('refuses tokens minted before binding (no kid, no minting key id), though correctly signed', async () => {
    // Prepare
    const token = await legacyToken('k'.repeat(64));
    // Act / Assess
    expect(await verifyClientToken(key, token)).toBeUndefined();
  });

  it('reads plain and key-ring secrets, and refuses weak or malformed ones', () => {
    expect(parseSigningSecret('k'.repeat(32))).toEqual({ current: { kid: '0', key: 'k'.repeat(32) } });
    expect(() => parseSigningSecret('short')).toThrow();
    expect(() => parseSigningSecret('{"current":{"kid":"a","key":"short"}}')).toThrow();
    expect(() => parseSigningSecret(JSON.stringify({ current: { kid: 'a', key: 'k'.repeat(32) }, previous: { kid: 'a', key: 'x'.repeat(32) } }))).toThrow();
    expect(() => parseSigningSecret('{not json')).toThrow();
  });

  it('rejects bad requests and garbage tokens', async () => {
    await expect(mintClientToken(key, minter, { ttlSeconds: 100_000 })).rejects.toThrow();
    await expect(mintClientToken(key, minter, { taskIds: ['../etc'] })).rejects.toThrow();
    await expect(mintClientToken(key, minter, { extra: 1 })).rejects.toThrow();
    expect(await verifyClientToken(key, 'oft_abc.def')).toBeUndefined();
    expect(await verifyClientToken(key, 'ofk_whatever')).toBeUndefined();
  });

  it('reads a token’s expiry (which bounds how long the edge keeps what it reads), and nothing from garbage', async () => {
    // Prepare
    const { token, expiresAt } = await mintClientToken(key, minter, { ttlSeconds: 120 }, new Date('2026-11-23T12:00:00Z'));
    // Act / Assess
    expect(clientTokenExpiry(token)).toBe(Date.parse(expiresAt));
    expect(clientTokenExpiry('oft_abc.def')).toBeUndefined();
    expect(clientTokenExpiry(`oft_${Buffer.from('{"t":"ten_a","exp":"soon"}').toString('base64url')}.sig`)).toBeUndefined();
  });
});
