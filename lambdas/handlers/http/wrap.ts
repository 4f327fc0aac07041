import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { logger } from '../runtime.ts';
import { CORRELATION_HEADER, correlationIdOf } from '../../core/correlation.ts';
import { problemResponses, withSecurityHeaders, type HttpEvent, type HttpResult } from './http.ts';

/** The request's correlation id: the caller's `X-Correlation-Id` when well-formed, else the gateway's request id. */
export const correlationOf = (event: HttpEvent): string => correlationIdOf(event.headers?.[CORRELATION_HEADER], event.requestContext.requestId);

/** Wraps a route function with the standard middleware: logger context, problem responses, security headers (`nosniff`). */
export const httpHandler = (route: (event: HttpEvent, context: Context) => Promise<HttpResult>) =>
  middy<HttpEvent, HttpResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(problemResponses())
    .handler(async (event, context) => {
      logger.appendKeys({
        requestId: event.requestContext.requestId,
        correlationId: correlationOf(event),
        tenantId: event.requestContext.authorizer?.lambda?.tenantId,
      });
      return withSecurityHeaders(await route(event, context));
    });
