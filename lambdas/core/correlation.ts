/**
 * Correlation ids: one id follows a piece of work from the request that submitted it through every
 * lifecycle event and every worker log line about it, so one search finds the whole story.
 *
 * A caller may bring its own (`X-Correlation-Id` on HTTP, the `requestId` of a WebSocket `submit`);
 * one that is missing or malformed is replaced by the gateway's request id rather than refused, as
 * tracing headers are treated elsewhere (W3C Trace Context ignores an invalid `traceparent`).
 */
const CORRELATION_ID = /^[A-Za-z0-9._:\/=+-]{1,128}$/;

/** The HTTP request header that carries a caller's correlation id. */
export const CORRELATION_HEADER = 'x-correlation-id' as const;

/**
 * The correlation id of a request: the caller's, when it is 1–128 characters of
 * `[A-Za-z0-9._:/=+-]`, else `fallback` (the gateway's request id).
 *
 * @example
 * ```ts
 * correlationIdOf(event.headers['x-correlation-id'], event.requestContext.requestId);
 * ```
 */
export const correlationIdOf = (supplied: unknown, fallback: string): string =>
  typeof supplied === 'string' && CORRELATION_ID.test(supplied) ? supplied : fallback;
