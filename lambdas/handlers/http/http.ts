import type middy from '@middy/core';
import type { APIGatewayProxyEventV2WithLambdaAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { PayloadTooLargeError, UnauthorizedError, UnsupportedMediaTypeError, ValidationError } from '../../core/errors.ts';
import { parseJsonText } from '../../core/json-text.ts';
import type { Principal } from '../../core/model.ts';
import { RateLimitedError } from '../../core/rate-limit.ts';
import { toProblem } from '../../core/problem.ts';
import { logger } from '../runtime.ts';
import { boundSharedMaxAge, CacheControl, etagOf, matchesEtag, MAX_BODY_BYTES, REVOCATION_WINDOW_SECONDS, SECURITY_HEADERS, withSecurityHeaders } from './conventions.ts';

export { boundSharedMaxAge, CacheControl, etagOf, matchesEtag, MAX_BODY_BYTES, REVOCATION_WINDOW_SECONDS, SECURITY_HEADERS, withSecurityHeaders };

/** Context the HTTP authorizer attaches (API Gateway passes it as strings). */
export interface HttpAuthorizerContext {
  readonly authenticated: 'true' | 'false';
  readonly tenantId?: string;
  /** JSON array of task ids for scoped client tokens. */
  readonly taskIds?: string;
  /** `clientToken` when the credential was a client token (absent for an API key). */
  readonly via?: 'clientToken';
  /** Id of the API key presented, or of the key that minted the client token presented. */
  readonly keyId?: string;
  /**
   * Epoch milliseconds until which the authorizer's verdict on the credential stands: the end of
   * its cached API key lookup, or a client token's expiry. Bounds how long the edge may keep the answer.
   */
  readonly validUntil?: string;
  /** Set when the tenant is over its request-rate limit: the seconds to wait (see `rate-limited-authorizer.ts`). */
  readonly rateLimited?: string;
}

export type HttpEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<HttpAuthorizerContext>;
export type HttpResult = APIGatewayProxyStructuredResultV2;

/**
 * The authenticated principal. The authorizer admits every request and marks it authenticated or
 * not, so that a rejection is answered here as a problem+json `401` (HTTP APIs cannot customise
 * the gateway's own responses).
 */
export const principalOf = (event: HttpEvent): Principal => {
  const context = event.requestContext.authorizer?.lambda;
  if (!context || context.authenticated !== 'true' || !context.tenantId) throw new UnauthorizedError();
  if (context.rateLimited) throw new RateLimitedError(Number(context.rateLimited) || 1);
  return {
    tenantId: context.tenantId,
    via: context.via === 'clientToken' ? 'clientToken' : 'apiKey',
    ...(context.keyId ? { keyId: context.keyId } : {}),
    ...(context.taskIds ? { taskIds: JSON.parse(context.taskIds) as string[] } : {}),
  };
};

/** Parses a JSON request body, enforcing content type, size and syntax. */
export const jsonBody = (event: HttpEvent): unknown => {
  const type = (event.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json' && !(type?.startsWith('application/') && type.endsWith('+json'))) throw new UnsupportedMediaTypeError();
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  if (text.trim() === '') throw new ValidationError('A JSON body is required.');
  return parseJsonText(text, 'The body');
};

/** A JSON response. */
export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/**
 * Seconds a shared cache (CloudFront) may keep an authenticated answer: the revocation window, or
 * less when the authorizer's verdict on the credential ends sooner (`validUntil`), so the edge never
 * serves a credential past the moment the authorizer would refuse it.
 */
export const sharedCacheSeconds = (event: HttpEvent, now: number = Date.now()): number => {
  const validUntil = Number(event.requestContext.authorizer?.lambda?.validUntil);
  const verdict = Number.isFinite(validUntil) ? Math.floor((validUntil - now) / 1000) : REVOCATION_WINDOW_SECONDS;
  return Math.max(0, Math.min(REVOCATION_WINDOW_SECONDS, verdict));
};

/**
 * A cacheable JSON read: ETag, Cache-Control (its `s-maxage` bounded by {@link sharedCacheSeconds})
 * and `304` on a matching `If-None-Match`.
 */
export const cacheableJson = (event: HttpEvent, body: unknown, cacheControl: string): HttpResult => {
  const text = JSON.stringify(body);
  const etag = etagOf(text);
  const headers = { etag, 'cache-control': boundSharedMaxAge(cacheControl, sharedCacheSeconds(event)), vary: 'Authorization' };
  if (matchesEtag(event.headers['if-none-match'], etag)) return { statusCode: 304, headers };
  return { statusCode: 200, headers: { 'content-type': 'application/json', ...headers }, body: text };
};

/**
 * middy middleware: maps thrown errors to RFC 9457 problem+json. Only errors below 500 expose a
 * message; anything else is logged and answered with an opaque 500. Every problem carries
 * `Cache-Control: no-store`: an error (a transient 500, a 404 for a task about to exist, a 401)
 * must never be replayed from a cache. (CloudFront's own error caching is switched off by the
 * distribution's error responses, see `lib/constructs/edge.ts`.)
 */
export const problemResponses = (): middy.MiddlewareObj<HttpEvent, HttpResult> => ({
  onError: async (request) => {
    const { problem, headers } = toProblem(request.error, request.event?.rawPath);
    if (problem.status >= 500) logger.error('unhandled error', { error: request.error as Error });
    const errorHeaders = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'cache-control'));
    request.response = {
      statusCode: problem.status,
      headers: { 'content-type': 'application/problem+json', ...errorHeaders, 'cache-control': CacheControl.problem, ...SECURITY_HEADERS },
      body: JSON.stringify(problem),
    };
  },
});
