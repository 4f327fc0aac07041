import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { authenticateApiKey, bearerToken, looksLikeApiKey } from '../../core/auth.ts';
import { clientTokenExpiry, looksLikeClientToken, verifyClientToken } from '../../core/client-token.ts';
import { REVOCATION_WINDOW_SECONDS } from './conventions.ts';
import type { HttpAuthorizerContext } from './http.ts';
import { logger, tenantStore, tokenSigningKey } from '../runtime.ts';

/**
 * How long a warm container trusts an API key lookup: revocation takes effect within this
 * (`API_KEY_CACHE_SECONDS`, default the revocation window). The edge never outlasts it: each
 * answer's `validUntil` bounds its `s-maxage`.
 */
const CACHE_TTL_MS = (() => {
  const seconds = Number(process.env.API_KEY_CACHE_SECONDS ?? REVOCATION_WINDOW_SECONDS);
  return Number.isFinite(seconds) && seconds >= 0 && seconds <= 3600 ? seconds * 1000 : REVOCATION_WINDOW_SECONDS * 1000;
})();
const CACHE_MAX = 10_000;
/** Warm-container cache of API key lookups; the gateway cache is off (see principalOf). */
const cache = new Map<string, { tenantId: string | undefined; keyId?: string; until: number }>();
/** Warm-container cache of "is the key that minted this token still active", by tenant and key id; same TTL. */
const mintingKeys = new Map<string, { active: boolean; until: number }>();

/** Whether the API key that minted a client token is still active, cached for the revocation window. */
const mintingKeyActive = async (tenantId: string, keyId: string, now: number): Promise<{ active: boolean; until: number }> => {
  const id = `${tenantId}/${keyId}`;
  let entry = mintingKeys.get(id);
  if (!entry || entry.until <= now) {
    entry = { active: await tenantStore().isApiKeyActive(tenantId, keyId), until: now + CACHE_TTL_MS };
    if (mintingKeys.size >= CACHE_MAX) mintingKeys.clear();
    mintingKeys.set(id, entry);
  }
  return entry;
};
const anonymous = { isAuthorized: true, context: { authenticated: 'false' } } as const;

/**
 * HTTP API Lambda authorizer (payload 2.0, simple responses). Resolves a bearer API key (stored
 * hashed) or a signed client token to its tenant (and task scope) and passes it on; unknown
 * credentials pass as unauthenticated so the route answers `401` as problem+json. Malformed
 * credentials are refused before any lookup and never cached. Credentials are never logged.
 */
export const handler = async (event: APIGatewayRequestAuthorizerEventV2): Promise<APIGatewaySimpleAuthorizerWithContextResult<HttpAuthorizerContext>> => {
  const credential = bearerToken(event.headers?.authorization);
  if (!credential) return anonymous;
  try {
    if (looksLikeClientToken(credential)) {
      const principal = await verifyClientToken(tokenSigningKey(), credential);
      if (!principal?.keyId) return anonymous;
      // A token lives only as long as the API key that minted it (revocation window: the cache TTL).
      const minting = await mintingKeyActive(principal.tenantId, principal.keyId, Date.now());
      if (!minting.active) return anonymous;
      const tokenExpiry = clientTokenExpiry(credential);
      const expiry = tokenExpiry === undefined ? minting.until : Math.min(tokenExpiry, minting.until);
      return {
        isAuthorized: true,
        context: {
          authenticated: 'true',
          tenantId: principal.tenantId,
          via: 'clientToken',
          keyId: principal.keyId,
          ...(principal.taskIds ? { taskIds: JSON.stringify(principal.taskIds) } : {}),
          ...(expiry !== undefined ? { validUntil: String(expiry) } : {}),
        },
      };
    }
    if (!looksLikeApiKey(credential)) return anonymous;
    const now = Date.now();
    let entry = cache.get(credential);
    if (!entry || entry.until <= now) {
      const principal = await authenticateApiKey(tenantStore(), credential);
      entry = { tenantId: principal?.tenantId, ...(principal ? { keyId: principal.keyId } : {}), until: now + CACHE_TTL_MS };
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(credential, entry);
    }
    return entry.tenantId
      ? { isAuthorized: true, context: { authenticated: 'true', tenantId: entry.tenantId, ...(entry.keyId ? { keyId: entry.keyId } : {}), validUntil: String(entry.until) } }
      : anonymous;
  } catch (error) {
    logger.error('authorizer lookup failed', { error: error as Error });
    throw error; // API Gateway answers 500; never admit on failure
  }
};
