import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../lambdas/core/errors.ts';
import { handler as documents } from '../../lambdas/handlers/http/api-documents.ts';
import { json, type HttpResult } from '../../lambdas/handlers/http/http.ts';
import { httpHandler } from '../../lambdas/handlers/http/wrap.ts';
import { httpEvent } from '../support/http-events.ts';
import { fakeContext } from '../support/lambda-context.ts';

/** Every answer of the HTTP API, success or problem, tells browsers never to sniff its type. */

const header = (result: HttpResult, name: string): string | undefined =>
  Object.entries(result.headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1] as string | undefined;

describe('API security headers', () => {
  it('sends X-Content-Type-Options: nosniff on a route\u2019s answer', async () => {
    // Prepare
    const route = httpHandler(async () => json(200, { ok: true }));
    // Act
    const result = (await route(httpEvent(), fakeContext())) as HttpResult;
    // Assess
    expect(result.statusCode).toBe(200);
    expect(header(result, 'x-content-type-options')).toBe('nosniff');
  });

  it('sends it on a problem answer too', async () => {
    // Prepare
    const route = httpHandler(async () => {
      throw new NotFoundError();
    });
    // Act
    const result = (await route(httpEvent(), fakeContext())) as HttpResult;
    // Assess
    expect(result.statusCode).toBe(404);
    expect(header(result, 'x-content-type-options')).toBe('nosniff');
  });

  it('sends it on the public API documents', async () => {
    // Act
    const result = await documents({ ...httpEvent({ path: '/v1/openapi.json' }), routeKey: 'GET /v1/openapi.json' } as never);
    // Assess
    expect(result.statusCode).toBe(200);
    expect(header(result as HttpResult, 'x-content-type-options')).toBe('nosniff');
  });
});
