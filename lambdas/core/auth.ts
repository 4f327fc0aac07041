import { createHash, randomBytes } from 'node:crypto';
import { ulid } from './ids.ts';
import type { TenantStore } from './ports.ts';

const API_KEY_PATTERN = /^ofk_[0-9A-Z]{26}_[A-Za-z0-9_-]{43}$/;

/** API keys are high-entropy random strings, so a plain SHA-256 is a sufficient one-way hash. */
export const hashApiKey = (apiKey: string): string => createHash('sha256').update(apiKey, 'utf8').digest('hex');

/** Whether a string has the shape of an Offload API key (cheap pre-check before any lookup). */
export const looksLikeApiKey = (value: string): boolean => API_KEY_PATTERN.test(value);

/** Extracts the bearer credential from an `Authorization` header value. */
export const bearerToken = (header: string | undefined): string | undefined => {
  if (!header || header.length > 4096) return undefined;
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
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
export const authenticateApiKey = async (store: TenantStore, credential: string | undefined): Promise<{ tenantId: string } | undefined> => {
  if (!credential || !looksLikeApiKey(credential)) return undefined;
  const key = await store.findApiKey(hashApiKey(credential));
  return key ? { tenantId: key.tenantId } : undefined;
};
