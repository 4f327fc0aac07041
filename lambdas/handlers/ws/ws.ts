import type { Context } from 'aws-lambda';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { describeIssues } from '../../core/submit.ts';
import { UnauthorizedError, ValidationError } from '../../core/errors.ts';
import { RateLimitedError, rateLimitsFromEnv, TenantRateLimiter } from '../../core/rate-limit.ts';
import { isWellFormedText, parseJsonText } from '../../core/json-text.ts';
import type { Principal } from '../../core/model.ts';
import type { ServerMessage } from '../../core/ports.ts';
import { toProblem } from '../../core/problem.ts';
import { connectionsPusher, logger } from '../runtime.ts';
import type * as z from 'zod/mini';

/** Context the `$connect` authorizer attaches; API Gateway repeats it on every message of the connection. */
export interface WsAuthorizerContext {
  readonly tenantId: string;
  /** JSON array of task ids for scoped client tokens, or empty. */
  readonly taskIds?: string;
  /** Id of the API key presented, or of the key that minted the client token presented. */
  readonly keyId?: string;
  /** `clientToken` when the connection was opened with a client token. */
  readonly via?: 'clientToken';
  /** A client token's expiry, epoch milliseconds: the connection is refused and closed after it. */
  readonly validUntil?: string;
}

/** The parts of a WebSocket route event Offload reads. */
export interface WsEvent {
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  readonly requestContext: {
    readonly connectionId: string;
    readonly routeKey: string;
    readonly requestId: string;
    readonly eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
    readonly authorizer?: Partial<WsAuthorizerContext> & { principalId?: string };
    readonly disconnectStatusCode?: number;
    readonly disconnectReason?: string;
  };
}

export interface WsResult {
  readonly statusCode: number;
  readonly body?: string;
}

/** Largest accepted client message (API Gateway's own limit is 128 KB). */
export const MAX_MESSAGE_BYTES = 32 * 1024;

export const principalOfConnection = (event: WsEvent): Principal => {
  const context = event.requestContext.authorizer;
  if (!context?.tenantId) throw new Error('connection has no authorizer context');
  return { tenantId: context.tenantId, ...(context.taskIds ? { taskIds: JSON.parse(context.taskIds) as string[] } : {}) };
};

/** The credential a connection was opened with: its key id and (client tokens) its expiry in epoch ms. */
export const credentialOfConnection = (event: WsEvent): { keyId?: string; validUntil?: number } => {
  const context = event.requestContext.authorizer;
  const validUntil = context?.validUntil !== undefined ? Number(context.validUntil) : undefined;
  return { ...(context?.keyId ? { keyId: context.keyId } : {}), ...(validUntil !== undefined ? { validUntil: Number.isFinite(validUntil) ? validUntil : 0 } : {}) };
};

/** Parses a client message against a schema, throwing {@link ValidationError} on any defect. */
export const parseMessage = <T>(event: WsEvent, schema: z.ZodMiniType<T>): T => {
  const text = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
  if (Buffer.byteLength(text) > MAX_MESSAGE_BYTES) throw new ValidationError(`Messages must not exceed ${MAX_MESSAGE_BYTES} bytes.`);
  const parsed = schema.safeParse(parseJsonText(text, 'The message'));
  if (!parsed.success) throw new ValidationError(describeIssues(parsed.error));
  return parsed.data;
};

/**
 * The `requestId` of a message that failed validation, when it has a usable one (a string of at
 * most 128 characters), so that the client can match the `error` to its request.
 */
export const requestIdOf = (event: WsEvent): string | undefined => {
  try {
    const text = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
    const message = JSON.parse(text) as unknown;
    const requestId = message !== null && typeof message === 'object' && Object.hasOwn(message, 'requestId') ? (message as { requestId: unknown }).requestId : undefined;
    return typeof requestId === 'string' && requestId.length <= 128 && isWellFormedText(requestId) ? requestId : undefined;
  } catch {
    return undefined;
  }
};

/** The WebSocket form of a problem. */
export const errorMessage = (error: unknown, requestId?: string): ServerMessage => {
  const { problem } = toProblem(error);
  return { type: 'error', ...(requestId !== undefined ? { requestId } : {}), status: problem.status, title: problem.title, detail: problem.detail };
};

/** Tells the client its credential expired (`error` 401), then closes the connection. */
const closeExpired = async (connectionId: string, requestId: string | undefined): Promise<void> => {
  const pusher = connectionsPusher();
  const warn = (what: string) => (error: unknown) => logger.warn(what, { error: error as Error });
  await pusher.post(connectionId, errorMessage(new UnauthorizedError('The credential of this connection has expired; connect again with a fresh one.'), requestId)).catch(warn('could not report expiry to client'));
  await pusher.close(connectionId).catch(warn('could not close expired connection'));
};

/**
 * This instance's per-tenant message buckets: the same limits as the HTTP API's (`TENANT_RATE_LIMIT`,
 * `TENANT_BURST_LIMIT`; see `core/rate-limit.ts` for what a per-instance bucket guarantees). A
 * message over the limit is answered `error` 429 and does nothing else.
 */
const messageLimiter = new TenantRateLimiter(rateLimitsFromEnv());

/**
 * Wraps a message route: errors become an `error` message pushed to the caller (never a crash,
 * never an internal detail), and the route always answers 200 to API Gateway. A message on a
 * connection whose client token has expired is not routed: it is answered with an `error` 401 and
 * the connection is closed (`@connections` DELETE), so no connection outlives its credential.
 * A message over the tenant's rate limit is answered `error` 429 and not routed.
 */
export const wsHandler = (route: (event: WsEvent, context: Context) => Promise<WsResult | void>) =>
  middy<WsEvent, WsResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event, context) => {
      logger.appendKeys({ connectionId: event.requestContext.connectionId, tenantId: event.requestContext.authorizer?.tenantId });
      const { validUntil } = credentialOfConnection(event);
      if (event.requestContext.eventType === 'MESSAGE' && validUntil !== undefined && validUntil <= Date.now()) {
        await closeExpired(event.requestContext.connectionId, requestIdOf(event));
        return { statusCode: 200 };
      }
      try {
        const tenantId = event.requestContext.authorizer?.tenantId;
        if (event.requestContext.eventType === 'MESSAGE' && tenantId) {
          const verdict = messageLimiter.take(tenantId);
          if (!verdict.allowed) {
            await connectionsPusher().post(event.requestContext.connectionId, errorMessage(new RateLimitedError(verdict.retryAfterSeconds), requestIdOf(event)));
            return { statusCode: 200 };
          }
        }
        return (await route(event, context)) ?? { statusCode: 200 };
      } catch (error) {
        const message = errorMessage(error);
        if (message.type === 'error' && message.status >= 500) logger.error('route failed', { error: error as Error });
        await connectionsPusher()
          .post(event.requestContext.connectionId, message)
          .catch((pushError: unknown) => logger.warn('could not report error to client', { error: pushError as Error }));
        return { statusCode: 200 };
      }
    });
