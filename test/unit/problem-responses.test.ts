import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  OffloadError,
  PayloadTooLargeError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../lambdas/core/errors.ts';
import type { HttpResult } from '../../lambdas/handlers/http/http.ts';
import { httpHandler } from '../../lambdas/handlers/http/wrap.ts';
import { httpEvent } from '../support/http-events.ts';
import { fakeContext } from '../support/lambda-context.ts';

/**
 * Every problem answer of every HTTP route goes through the same wrapper (`httpHandler` and its
 * `problemResponses` middleware): whatever is thrown, the answer carries `Cache-Control: no-store`,
 * so no cache (CloudFront, a proxy, a browser) ever replays an error to anyone.
 */

/** The values of a header, whatever the case of its name. */
const headerValues = (result: HttpResult, name: string): string[] =>
  Object.entries(result.headers ?? {})
    .filter(([key]) => key.toLowerCase() === name)
    .map(([, value]) => String(value));

const answerTo = async (thrown: unknown): Promise<HttpResult> => {
  const handler = httpHandler(async () => {
    throw thrown;
  });
  return (await handler(httpEvent({ path: '/v1/tasks/tsk_x' }), fakeContext())) as HttpResult;
};

describe('problem responses', () => {
  it.each<[string, unknown, number]>([
    ['a validation error', new ValidationError('input.prompt: too short'), 400],
    ['an unauthenticated request', new UnauthorizedError(), 401],
    ['a forbidden change', new ForbiddenError('A task-scoped token cannot cancel.'), 403],
    ['an unknown task', new NotFoundError(), 404],
    ['a conflict', new ConflictError('already succeeded'), 409],
    ['a body too large', new PayloadTooLargeError(1024), 413],
    ['a non-JSON body', new UnsupportedMediaTypeError(), 415],
    ['a rate limit', new OffloadError(429, 'too-many-in-flight', 'Too many tasks in flight', 'Wait.', { headers: { 'Retry-After': '3' } }), 429],
    ['an unexpected failure', new Error('connect ECONNREFUSED'), 500],
    ['a 503 OffloadError', new OffloadError(503, 'unavailable', 'Unavailable', 'down'), 500],
  ])('answers %s as problem+json with Cache-Control: no-store', async (_name, thrown, status) => {
    // Act
    const result = await answerTo(thrown);
    // Assess
    expect(result.statusCode).toBe(status);
    expect(headerValues(result, 'content-type')).toEqual(['application/problem+json']);
    expect(headerValues(result, 'cache-control')).toEqual(['no-store']);
  });

  it('keeps the error’s own headers, but never a Cache-Control of its own', async () => {
    // Prepare
    const cacheable = new OffloadError(429, 'too-many-in-flight', 'Too many tasks in flight', 'Wait.', {
      headers: { 'Retry-After': '3', 'Cache-Control': 'public, max-age=600' },
    });
    // Act
    const result = await answerTo(cacheable);
    const unauthorized = await answerTo(new UnauthorizedError());
    // Assess
    expect(headerValues(result, 'retry-after')).toEqual(['3']);
    expect(headerValues(result, 'cache-control')).toEqual(['no-store']);
    expect(headerValues(unauthorized, 'www-authenticate')).toEqual(['Bearer realm="offload"']);
  });
});
