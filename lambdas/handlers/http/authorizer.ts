import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { authenticateApiKey, bearerToken, looksLikeApiKey } from '../../core/auth.ts';
import type { HttpAuthorizerContext } from './http.ts';
import { logger, tenantStore } from '../runtime.ts';

const CACHE_TTL_MS = 60_000;
const CACHE_MAX = 10_000;
/** Warm-container cache of key hash lookups; the gateway cache is off (see principalOf). */
const cache = new Map<string, { tenantId: string | undefined; until: number }>();

/**
 * HTTP API Lambda authorizer (payload 2.0, simple responses). Resolves the bearer API key to its
 * tenant and passes it on; unknown credentials pass as unauthenticated so the route answers `401`
 * as problem+json. Credentials are never logged.
 */
export const handler = async (event: APIGatewayRequestAuthorizerEventV2): Promise<APIGatewaySimpleAuthorizerWithContextResult<HttpAuthorizerContext>> => {
  const credential = bearerToken(event.headers?.authorization);
  // Malformed credentials are refused before any lookup and never enter the cache.
  if (!credential || !looksLikeApiKey(credential)) return { isAuthorized: true, context: { authenticated: 'false' } };
  const now = Date.now();
  let entry = cache.get(credential);
  if (!entry || entry.until < now) {
    try {
      const principal = await authenticateApiKey(tenantStore(), credential);
      entry = { tenantId: principal?.tenantId, until: now + CACHE_TTL_MS };
    } catch (error) {
      logger.error('authorizer lookup failed', { error: error as Error });
      throw error; // API Gateway answers 500; never admit on failure
    }
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(credential, entry);
  }
  return entry.tenantId
    ? { isAuthorized: true, context: { authenticated: 'true', tenantId: entry.tenantId } }
    : { isAuthorized: true, context: { authenticated: 'false' } };
};
