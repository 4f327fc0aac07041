import type middy from '@middy/core';
import type { APIGatewayProxyEventV2WithLambdaAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { PayloadTooLargeError, UnauthorizedError, UnsupportedMediaTypeError, ValidationError } from '../../core/errors.ts';
import { parseJsonText } from '../../core/json-text.ts';
import type { Principal } from '../../core/model.ts';
import { toProblem } from '../../core/problem.ts';
import { logger } from '../runtime.ts';
import { CacheControl, etagOf, matchesEtag, MAX_BODY_BYTES } from './conventions.ts';

export { CacheControl, etagOf, matchesEtag, MAX_BODY_BYTES };

/** Context the HTTP authorizer attaches (API Gateway passes it as strings). */
export interface HttpAuthorizerContext {
  readonly authenticated: 'true' | 'false';
  readonly tenantId?: string;
  /** JSON array of task ids for scoped client tokens. */
  readonly taskIds?: string;
  /** `clientToken` when the credential was a client token (absent for an API key). */
  readonly via?: 'clientToken';
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
  return {
    tenantId: context.tenantId,
    via: context.via === 'clientToken' ? 'clientToken' : 'apiKey',
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

/** A cacheable JSON read: ETag, Cache-Control and `304` on a matching `If-None-Match`. */
export const cacheableJson = (event: HttpEvent, body: unknown, cacheControl: string): HttpResult => {
  const text = JSON.stringify(body);
  const etag = etagOf(text);
  const headers = { etag, 'cache-control': cacheControl, vary: 'Authorization' };
  if (matchesEtag(event.headers['if-none-match'], etag)) return { statusCode: 304, headers };
  return { statusCode: 200, headers: { 'content-type': 'application/json', ...headers }, body: text };
};

/**
 * middy middleware: maps thrown errors to RFC 9457 problem+json. Only errors below 500 expose a
 * message; anything else is logged and answered with an opaque 500.
 */
export const problemResponses = (): middy.MiddlewareObj<HttpEvent, HttpResult> => ({
  onError: async (request) => {
    const { problem, headers } = toProblem(request.error, request.event?.rawPath);
    if (problem.status >= 500) logger.error('unhandled error', { error: request.error as Error });
    request.response = {
      statusCode: problem.status,
      headers: { 'content-type': 'application/problem+json', ...headers },
      body: JSON.stringify(problem),
    };
  },
});
