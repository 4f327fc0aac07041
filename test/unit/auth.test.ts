import { describe, expect, it } from 'vitest';
import { authenticateApiKey, bearerToken, createTenant, hashApiKey, looksLikeApiKey } from '../../lambdas/core/auth.ts';
import type { TenantStore } from '../../lambdas/core/ports.ts';

/** An in-memory TenantStore (no I/O): the domain only sees the port. */
class MemoryTenantStore implements TenantStore {
  public readonly tenants = new Map<string, { tenantId: string; name: string; createdAt: string }>();
  public readonly keys = new Map<string, { keyHash: string; keyId: string; tenantId: string; createdAt: string }>();
  public lookups = 0;
  public async putTenant(tenant: { tenantId: string; name: string; createdAt: string }): Promise<void> {
    this.tenants.set(tenant.tenantId, tenant);
  }
  public async putApiKey(key: { keyHash: string; keyId: string; tenantId: string; createdAt: string }): Promise<void> {
    this.keys.set(key.keyHash, key);
  }
  public async findApiKey(keyHash: string): Promise<{ tenantId: string; keyId: string } | undefined> {
    this.lookups++;
    const key = this.keys.get(keyHash);
    return key ? { tenantId: key.tenantId, keyId: key.keyId } : undefined;
  }
  public async isApiKeyActive(tenantId: string, keyId: string): Promise<boolean> {
    return [...this.keys.values()].some((key) => key.tenantId === tenantId && key.keyId === keyId);
  }
}

describe('bearerToken', () => {
  it.each([
    ['Bearer abc.def', 'abc.def'],
    ['bearer abc', 'abc'],
    ['BEARER abc', 'abc'],
    ['Bearer    abc', 'abc'],
    ['Bearer abc   ', 'abc'],
  ])('extracts the credential from %j', (header, expected) => {
    // Prepare / Act
    const token = bearerToken(header);
    // Assess
    expect(token).toBe(expected);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['scheme only', 'Bearer'],
    ['scheme and blank', 'Bearer   '],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['no separator', 'Bearerabc'],
    ['two tokens', 'Bearer abc def'],
    ['tab separator', 'Bearer\tabc'],
    ['leading space', ' Bearer abc'],
    ['over 4096 characters', `Bearer ${'a'.repeat(4100)}`],
  ])('answers undefined for %s', (_name, header) => {
    // Prepare / Act
    const token = bearerToken(header);
    // Assess
    expect(token).toBeUndefined();
  });
});

describe('looksLikeApiKey', () => {
  it('accepts a freshly issued key', async () => {
    // Prepare
    const store = new MemoryTenantStore();
    // Act
    const { apiKey } = await createTenant(store, 'acme');
    // Assess
    expect(looksLikeApiKey(apiKey)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['wrong prefix', `ofx_${'0'.repeat(26)}_${'a'.repeat(43)}`],
    ['short secret', `ofk_${'0'.repeat(26)}_${'a'.repeat(42)}`],
    ['long secret', `ofk_${'0'.repeat(26)}_${'a'.repeat(44)}`],
    ['lowercase key id', `ofk_${'a'.repeat(26)}_${'a'.repeat(43)}`],
    ['illegal secret character', `ofk_${'0'.repeat(26)}_${'a'.repeat(42)}=`],
    ['client token shaped', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig'],
  ])('rejects %s', (_name, value) => {
    // Prepare / Act / Assess
    expect(looksLikeApiKey(value)).toBe(false);
  });
});

describe('hashApiKey', () => {
  it('is SHA-256 hex of the UTF-8 key', () => {
    // Prepare / Act
    const hash = hashApiKey('abc');
    // Assess (FIPS 180-2 test vector)
    expect(hash).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('is deterministic and distinguishes keys', () => {
    // Prepare
    const a = `ofk_${'0'.repeat(26)}_${'a'.repeat(43)}`;
    const b = `ofk_${'0'.repeat(26)}_${'a'.repeat(42)}b`;
    // Act / Assess
    expect(hashApiKey(a)).toBe(hashApiKey(a));
    expect(hashApiKey(a)).not.toBe(hashApiKey(b));
  });
});

describe('createTenant / authenticateApiKey', () => {
  it('stores only the hash of the key and resolves the key to its tenant', async () => {
    // Prepare
    const store = new MemoryTenantStore();
    // Act
    const { tenantId, apiKey, keyId } = await createTenant(store, 'acme');
    const principal = await authenticateApiKey(store, apiKey);
    // Assess
    const stored = [...store.keys.values()];
    expect(stored).toHaveLength(1);
    expect(stored[0]?.keyHash).toBe(hashApiKey(apiKey));
    expect(JSON.stringify([...store.keys.entries()])).not.toContain(apiKey);
    expect(principal).toEqual({ tenantId, keyId, via: 'apiKey' });
  });

  it('rejects malformed credentials without a lookup, and unknown keys after one', async () => {
    // Prepare
    const store = new MemoryTenantStore();
    await createTenant(store, 'acme');
    const unknown = `ofk_${'0'.repeat(26)}_${'a'.repeat(43)}`;
    // Act
    const malformed = await authenticateApiKey(store, 'not-a-key');
    const missing = await authenticateApiKey(store, undefined);
    const lookupsBefore = store.lookups;
    const notFound = await authenticateApiKey(store, unknown);
    // Assess
    expect(malformed).toBeUndefined();
    expect(missing).toBeUndefined();
    expect(lookupsBefore).toBe(0);
    expect(notFound).toBeUndefined();
    expect(store.lookups).toBe(1);
  });
});
