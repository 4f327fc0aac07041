import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { rateLimitsFromEnv, TenantRateLimiter } from '../../core/rate-limit.ts';
import { handler as authorize } from './authorizer.ts';
import type { HttpAuthorizerContext } from './http.ts';

/** This instance's per-tenant buckets (see `core/rate-limit.ts` for why here and what it guarantees). */
const limiter = new TenantRateLimiter(rateLimitsFromEnv());

/**
 * The HTTP API's authorizer function: {@link authorize} (credential to tenant), then the tenant's
 * request-rate limit. Over the limit the request still passes, marked `rateLimited` (the seconds
 * to wait), and the route answers `429` problem+json with `Retry-After` without doing anything:
 * an HTTP API authorizer can only deny with a bare `403`. Unauthenticated requests are not
 * counted against any tenant (the stage throttle bounds them); they never reach DynamoDB here.
 */
export const handler = async (event: APIGatewayRequestAuthorizerEventV2): Promise<APIGatewaySimpleAuthorizerWithContextResult<HttpAuthorizerContext>> => {
  const result = await authorize(event);
  const tenantId = result.context.authenticated === 'true' ? result.context.tenantId : undefined;
  if (!tenantId) return result;
  const verdict = limiter.take(tenantId);
  return verdict.allowed ? result : { ...result, context: { ...result.context, rateLimited: String(verdict.retryAfterSeconds) } };
};
