/**
 * Errors of the Offload client SDK. Every error the SDK throws for an API or transport failure is
 * an {@link OffloadError}; API answers (RFC 9457 `application/problem+json`) map to a narrow
 * subclass per status, each carrying the problem document the server sent and the `cause`.
 *
 * @example
 * ```ts
 * try {
 *   await client.get(taskId);
 * } catch (error) {
 *   if (error instanceof NotFoundError) console.log('no such task');
 *   else if (error instanceof RateLimitedError) console.log(`retry in ${error.retryAfterSeconds}s`);
 *   else throw error;
 * }
 * ```
 */

/** An RFC 9457 problem details document as the Offload API sends it. */
export interface Problem {
  readonly type?: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly [extension: string]: unknown;
}

/** Base class of every error the SDK throws for API and transport failures. */
export class OffloadError extends Error {
  /** HTTP status of the answer; undefined for transport failures. */
  public readonly status: number | undefined;
  /** The problem document the server answered with, if any. */
  public readonly problem: Problem | undefined;

  public constructor(message: string, options: { status?: number; problem?: Problem; cause?: unknown } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'OffloadError';
    this.status = options.status;
    this.problem = options.problem;
  }
}

/** Options of the API error constructors. */
export interface ApiErrorOptions {
  readonly problem: Problem;
  readonly cause?: unknown;
}

const messageOf = (problem: Problem): string => (problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);

/** `400`: invalid JSON, a schema violation, an unknown task type, a bad query parameter. */
export class ValidationError extends OffloadError {
  public constructor(options: ApiErrorOptions) {
    super(messageOf(options.problem), { status: 400, ...options });
    this.name = 'ValidationError';
  }
}

/** `401`: missing, unknown, revoked or expired credential. */
export class UnauthorizedError extends OffloadError {
  public constructor(options: ApiErrorOptions) {
    super(messageOf(options.problem), { status: 401, ...options });
    this.name = 'UnauthorizedError';
  }
}

/** `403`: a valid credential that may not do this (a task-scoped client token cannot submit or mint tokens). */
export class ForbiddenError extends OffloadError {
  public constructor(options: ApiErrorOptions) {
    super(messageOf(options.problem), { status: 403, ...options });
    this.name = 'ForbiddenError';
  }
}

/** `404`: no such task (or another tenant's: the API never tells which). */
export class NotFoundError extends OffloadError {
  public constructor(options: ApiErrorOptions) {
    super(messageOf(options.problem), { status: 404, ...options });
    this.name = 'NotFoundError';
  }
}

/**
 * `409`: a conflicting state (cancelling a finished task) or the same `Idempotency-Key` still
 * being processed (then {@link ConflictError.retryAfterSeconds} is set).
 */
export class ConflictError extends OffloadError {
  /** From `Retry-After`, when the server suggests retrying. */
  public readonly retryAfterSeconds: number | undefined;
  public constructor(options: ApiErrorOptions & { retryAfterSeconds?: number }) {
    super(messageOf(options.problem), { status: 409, ...options });
    this.name = 'ConflictError';
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** `413`: the request body is larger than the API accepts (128 KB). */
export class PayloadTooLargeError extends OffloadError {
  public constructor(options: ApiErrorOptions) {
    super(messageOf(options.problem), { status: 413, ...options });
    this.name = 'PayloadTooLargeError';
  }
}

/** `415`: the request body is not JSON. */
export class UnsupportedMediaTypeError extends OffloadError {
  public constructor(options: ApiErrorOptions) {
    super(messageOf(options.problem), { status: 415, ...options });
    this.name = 'UnsupportedMediaTypeError';
  }
}

/** `422`: the `Idempotency-Key` was already used with a different request body. */
export class IdempotencyMismatchError extends OffloadError {
  public constructor(options: ApiErrorOptions) {
    super(messageOf(options.problem), { status: 422, ...options });
    this.name = 'IdempotencyMismatchError';
  }
}

/**
 * `429`: the tenant has as many tasks in flight as it may. The client already retried after
 * `Retry-After` as often as its retry options allow before throwing this.
 */
export class RateLimitedError extends OffloadError {
  /** Seconds the server asked to wait (`Retry-After`). */
  public readonly retryAfterSeconds: number;
  public constructor(options: ApiErrorOptions & { retryAfterSeconds: number }) {
    super(messageOf(options.problem), { status: 429, ...options });
    this.name = 'RateLimitedError';
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** `5xx`: the service failed; idempotent calls were retried before this was thrown. */
export class ServerError extends OffloadError {
  public constructor(options: ApiErrorOptions & { status: number }) {
    super(messageOf(options.problem), options);
    this.name = 'ServerError';
  }
}

/** The request never got an answer: connection refused or reset, DNS, timeout. */
export class NetworkError extends OffloadError {
  public constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'NetworkError';
  }
}

/**
 * A `watch` could not reach the WebSocket API within its bounded reconnect attempts. Resume later
 * with `watch(taskId, { after: error.lastSeq })`: nothing after `lastSeq` was yielded.
 */
export class ConnectionLostError extends NetworkError {
  /** The last progress sequence number the watch yielded. */
  public readonly lastSeq: number;
  public constructor(message: string, options: { lastSeq: number; cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectionLostError';
    this.lastSeq = options.lastSeq;
  }
}

/**
 * A plain `http:` or `ws:` URL naming a host other than loopback (127.0.0.0/8, `[::1]`,
 * `localhost`): the credential would cross the network unencrypted, so the client refuses it when
 * it is constructed. Use `https:`/`wss:` (the local runtime, on loopback, may use plain URLs).
 *
 * @example
 * ```ts
 * new OffloadClient({ endpoint: 'http://api.example.com', credential }); // throws InsecureEndpointError
 * ```
 */
export class InsecureEndpointError extends OffloadError {
  /** The option that named the URL. */
  public readonly option: 'endpoint' | 'webSocketUrl';
  /** The refused URL. */
  public readonly url: string;
  public constructor(option: 'endpoint' | 'webSocketUrl', url: string) {
    const secure = option === 'endpoint' ? 'https:' : 'wss:';
    super(`${option} "${url}" is not encrypted: plain ${option === 'endpoint' ? 'http:' : 'ws:'} is allowed for loopback hosts only (127.0.0.0/8, [::1], localhost); use ${secure}.`);
    this.name = 'InsecureEndpointError';
    this.option = option;
    this.url = url;
  }
}

/**
 * Maps a problem (from an HTTP answer or a WebSocket `error` message) to its error class.
 *
 * @example
 * ```ts
 * errorFromProblem({ title: 'Not found', status: 404, detail: 'No such task.' }); // NotFoundError
 * ```
 */
export const errorFromProblem = (problem: Problem, extra: { retryAfterSeconds?: number; cause?: unknown } = {}): OffloadError => {
  const options = { problem, ...(extra.cause !== undefined ? { cause: extra.cause } : {}) };
  switch (problem.status) {
    case 400:
      return new ValidationError(options);
    case 401:
      return new UnauthorizedError(options);
    case 403:
      return new ForbiddenError(options);
    case 404:
      return new NotFoundError(options);
    case 409:
      return new ConflictError({ ...options, ...(extra.retryAfterSeconds !== undefined ? { retryAfterSeconds: extra.retryAfterSeconds } : {}) });
    case 413:
      return new PayloadTooLargeError(options);
    case 415:
      return new UnsupportedMediaTypeError(options);
    case 422:
      return new IdempotencyMismatchError(options);
    case 429:
      return new RateLimitedError({ ...options, retryAfterSeconds: extra.retryAfterSeconds ?? 1 });
    default:
      return problem.status >= 500
        ? new ServerError({ ...options, status: problem.status })
        : new OffloadError(messageOf(problem), { status: problem.status, ...options });
  }
};
