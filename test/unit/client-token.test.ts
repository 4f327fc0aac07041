import { describe, expect, it } from 'vitest';
import { mintClientToken, verifyClientToken } from '../../lambdas/core/client-token.ts';

const key = async () => 'k'.repeat(64);
const otherKey = async () => 'x'.repeat(64);
const taskId = 'tsk_01M849C7620B60EW7584K8WCF2';

describe('client tokens', () => {
  it('round-trips tenant and scope, and expires', async () => {
    // Prepare
    const now = new Date('2026-11-23T12:00:00Z');
    const { token, expiresAt } = await mintClientToken(key, { tenantId: 'ten_a' }, { taskIds: [taskId], ttlSeconds: 60 }, now);
    // Act / Assess
    expect(expiresAt).toBe('2026-11-23T12:01:00.000Z');
    expect(await verifyClientToken(key, token, new Date('2026-11-23T12:00:59Z'))).toEqual({ tenantId: 'ten_a', taskIds: [taskId] });
    expect(await verifyClientToken(key, token, new Date('2026-11-23T12:01:00Z'))).toBeUndefined();
    expect(await verifyClientToken(otherKey, token, now)).toBeUndefined();
  });

  it('rejects bad requests and garbage tokens', async () => {
    await expect(mintClientToken(key, { tenantId: 'ten_a' }, { ttlSeconds: 100_000 })).rejects.toThrow();
    await expect(mintClientToken(key, { tenantId: 'ten_a' }, { taskIds: ['../etc'] })).rejects.toThrow();
    await expect(mintClientToken(key, { tenantId: 'ten_a' }, { extra: 1 })).rejects.toThrow();
    expect(await verifyClientToken(key, 'oft_abc.def')).toBeUndefined();
    expect(await verifyClientToken(key, 'ofk_whatever')).toBeUndefined();
  });
});
