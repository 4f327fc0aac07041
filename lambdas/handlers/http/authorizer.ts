import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { authenticateApiKey, bearerToken, looksLikeApiKey } from '../../core/auth.ts';
import { looksLikeClientToken, verifyClientToken } from '../../core/client-token.ts';
import type { HttpAuthorizerContext } from './http.ts';
import { logger, tenantStore, tokenSigningKey } from '../runtime.ts';

/** How long a warm container trusts an API key lookup: revocation takes effect within this. */
const CACHE_TTL_MS = (() => {
  const seconds = Number(process.env.API_KEY_CACHE_SECONDS ?? 60);
  return Number.isFinite(seconds) && seconds >= 0 && seconds <= 3600 ? seconds * 1000 : 60_000;
})();
const CACHE_MAX = 10_000;
/** Warm-container cache of API key lookups; the gateway cache is off (see principalOf). */
const cache = new Map<string, { tenantId: string | undefined; until: number }>();
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
      if (!principal) return anonymous;
      return {
        isAuthorized: true,
        context: { authenticated: 'true', tenantId: principal.tenantId, via: 'clientToken', ...(principal.taskIds ? { taskIds: JSON.stringify(principal.taskIds) } : {}) },
      };
    }
    if (!looksLikeApiKey(credential)) return anonymous;
    const now = Date.now();
    let entry = cache.get(credential);
    if (!entry || entry.until <= now) {
      const principal = await authenticateApiKey(tenantStore(), credential);
      entry = { tenantId: principal?.tenantId, until: now + CACHE_TTL_MS };
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(credential, entry);
    }
    return entry.tenantId ? { isAuthorized: true, context: { authenticated: 'true', tenantId: entry.tenantId } } : anonymous;
  } catch (error) {
    logger.error('authorizer lookup failed', { error: error as Error });
    throw error; // API Gateway answers 500; never admit on failure
  }
};
