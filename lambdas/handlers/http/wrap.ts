import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { logger } from '../runtime.ts';
import { problemResponses, type HttpEvent, type HttpResult } from './http.ts';

/** Wraps a route function with the standard middleware: logger context and problem responses. */
export const httpHandler = (route: (event: HttpEvent, context: Context) => Promise<HttpResult>) =>
  middy<HttpEvent, HttpResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(problemResponses())
    .handler(async (event, context) => {
      logger.appendKeys({ requestId: event.requestContext.requestId, tenantId: event.requestContext.authorizer?.lambda?.tenantId });
      return route(event, context);
    });
