import { createHash, randomBytes } from 'node:crypto';
import { NotFoundError, ValidationError } from './errors.ts';
import { ulid } from './ids.ts';
import type { ApiKeyInfo, TenantAdminStore, TenantStore } from './ports.ts';

/** The shape of an API key (`ofk_<ULID key id>_<43 base64url characters>`). */
export const API_KEY_PATTERN = /^ofk_[0-9A-Z]{26}_[A-Za-z0-9_-]{43}$/;

/** API keys are high-entropy random strings, so a plain SHA-256 is a sufficient one-way hash. */
export const hashApiKey = (apiKey: string): string => createHash('sha256').update(apiKey, 'utf8').digest('hex');

/** Whether a string has the shape of an Offload API key (cheap pre-check before any lookup). */
export const looksLikeApiKey = (value: string): boolean => API_KEY_PATTERN.test(value);

/** An `Authorization` header value carrying a bearer credential (group 1). */
export const BEARER_PATTERN = /^Bearer[ ]+([^\s]+)\s*$/i;

/** Extracts the bearer credential from an `Authorization` header value. */
export const bearerToken = (header: string | undefined): string | undefined => {
  if (!header || header.length > 4096) return undefined;
  const match = BEARER_PATTERN.exec(header);
  return match?.[1];
};

/**
 * Creates a tenant and its first API key. The key is returned once and only its hash is stored.
 *
 * @example
 * ```ts
 * const { tenantId, apiKey } = await createTenant(store, 'acme');
 * ```
 */
export const createTenant = async (
  store: TenantStore,
  name: string,
  options: { tenantId?: string; now?: Date } = {},
): Promise<{ tenantId: string; apiKey: string; keyId: string }> => {
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > 128) throw new ValidationError('A tenant name is 1-128 characters.');
  const now = (options.now ?? new Date()).toISOString();
  const tenantId = options.tenantId ?? `ten_${ulid()}`;
  await store.putTenant({ tenantId, name, createdAt: now });
  const { apiKey, keyId } = await issueApiKey(store, tenantId, now);
  return { tenantId, apiKey, keyId };
};

/** Issues a new API key for a tenant; returns the plain key once. */
export const issueApiKey = async (store: TenantStore, tenantId: string, now: string): Promise<{ apiKey: string; keyId: string }> => {
  const keyId = ulid();
  const apiKey = `ofk_${keyId}_${randomBytes(32).toString('base64url')}`;
  await store.putApiKey({ keyHash: hashApiKey(apiKey), keyId, tenantId, createdAt: now });
  return { apiKey, keyId };
};

/**
 * Resolves a credential to its tenant, or undefined. Malformed credentials are rejected without a
 * lookup.
 */
export const authenticateApiKey = async (store: TenantStore, credential: string | undefined): Promise<{ tenantId: string; keyId: string; via: 'apiKey' } | undefined> => {
  if (!credential || !looksLikeApiKey(credential)) return undefined;
  const key = await store.findApiKey(hashApiKey(credential));
  return key ? { tenantId: key.tenantId, keyId: key.keyId, via: 'apiKey' } : undefined;
};

const KEY_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const TENANT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const checkTenantId = (tenantId: string): void => {
  if (!TENANT_ID_PATTERN.test(tenantId)) throw new ValidationError('A tenant id is 1-64 letters, digits, dashes or underscores.');
};

/** The tenant's API keys (ids, status and dates; never the keys or their hashes), oldest first. */
export const listApiKeys = async (store: TenantAdminStore, tenantId: string): Promise<ApiKeyInfo[]> => {
  checkTenantId(tenantId);
  if (!(await store.getTenant(tenantId))) throw new NotFoundError('No such tenant.');
  return store.listApiKeys(tenantId);
};

/**
 * Issues a new API key for an existing tenant, optionally revoking every key it had before
 * (rotation). The new key is returned once; only its hash is stored.
 *
 * @example
 * ```ts
 * const { apiKey, keyId, revokedKeyIds } = await rotateApiKey(store, 'ten_01J...', { revokeOld: true });
 * ```
 */
export const rotateApiKey = async (
  store: TenantAdminStore,
  tenantId: string,
  options: { revokeOld?: boolean; now?: Date } = {},
): Promise<{ tenantId: string; apiKey: string; keyId: string; revokedKeyIds: string[] }> => {
  checkTenantId(tenantId);
  if (!(await store.getTenant(tenantId))) throw new NotFoundError('No such tenant.');
  const now = (options.now ?? new Date()).toISOString();
  const previous = options.revokeOld ? (await store.listApiKeys(tenantId)).filter((key) => key.status === 'active') : [];
  const { apiKey, keyId } = await issueApiKey(store, tenantId, now);
  // Revoke only once the new key exists, so the tenant is never left without a working key.
  for (const key of previous) await store.revokeApiKey(tenantId, key.keyId, now);
  return { tenantId, apiKey, keyId, revokedKeyIds: previous.map((key) => key.keyId) };
};

/**
 * Revokes one API key of a tenant: it stops authenticating, and so do the client tokens it minted
 * (the HTTP authorizer may keep a warm-cache answer for up to its cache TTL, the revocation window).
 * Revoking a revoked key is a no-op. Closing the key's open WebSocket connections is the caller's
 * part (see `closeKeyConnections`).
 *
 * @example
 * ```ts
 * await revokeApiKey(store, 'ten_01J...', '01J9Z...'); // 'revoked'
 * ```
 */
export const revokeApiKey = async (store: TenantAdminStore, tenantId: string, keyId: string, now: Date = new Date()): Promise<'revoked' | 'already-revoked'> => {
  checkTenantId(tenantId);
  if (!KEY_ID_PATTERN.test(keyId)) throw new ValidationError('A key id is the 26-character ULID after "ofk_" in the key.');
  const outcome = await store.revokeApiKey(tenantId, keyId, now.toISOString());
  if (outcome === 'missing') throw new NotFoundError('No such API key for this tenant.');
  return outcome;
};
