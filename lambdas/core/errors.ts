/**
 * Domain errors. Every error the API can answer with is a subclass of {@link OffloadError}
 * carrying its HTTP status and a problem type; anything else is an internal fault and is
 * answered with a generic 500 that exposes no detail.
 */
export class OffloadError extends Error {
  /** HTTP status the transport should answer with. */
  public readonly status: number;
  /** Short, stable, human-readable summary of the problem type (RFC 9457 `title`). */
  public readonly title: string;
  /** Problem type slug, appended to the problem type base URI. */
  public readonly code: string;
  /** Extra headers the transport should add (for example `Retry-After`). */
  public readonly headers: Readonly<Record<string, string>>;

  public constructor(
    status: number,
    code: string,
    title: string,
    detail: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(detail, { cause: options?.cause });
    this.name = 'OffloadError';
    this.status = status;
    this.code = code;
    this.title = title;
    this.headers = options?.headers ?? {};
  }
}

/** The request is malformed: invalid JSON, a schema violation, an unknown task type. */
export class ValidationError extends OffloadError {
  public constructor(detail: string, options?: { cause?: unknown }) {
    super(400, 'validation-error', 'Invalid request', detail, options);
    this.name = 'ValidationError';
  }
}

/** Missing, malformed, unknown, revoked or expired credentials. */
export class UnauthorizedError extends OffloadError {
  public constructor(detail = 'A valid API key or client token is required.') {
    super(401, 'unauthorized', 'Unauthorized', detail, {
      headers: { 'WWW-Authenticate': 'Bearer realm="offload"' },
    });
    this.name = 'UnauthorizedError';
  }
}

/** Valid credentials that may not do this (a task-scoped client token is read/watch-only). */
export class ForbiddenError extends OffloadError {
  public constructor(detail: string) {
    super(403, 'forbidden', 'Forbidden', detail);
    this.name = 'ForbiddenError';
  }
}

/** The resource does not exist, or belongs to another tenant (never leak which). */
export class NotFoundError extends OffloadError {
  public constructor(detail = 'No such task.') {
    super(404, 'not-found', 'Not found', detail);
    this.name = 'NotFoundError';
  }
}

/** The request body exceeds the accepted size. */
export class PayloadTooLargeError extends OffloadError {
  public constructor(limitBytes: number) {
    super(413, 'payload-too-large', 'Payload too large', `The request body must not exceed ${limitBytes} bytes.`);
    this.name = 'PayloadTooLargeError';
  }
}

/** The request body has a content type the route does not accept. */
export class UnsupportedMediaTypeError extends OffloadError {
  public constructor(detail = 'The request body must be application/json.') {
    super(415, 'unsupported-media-type', 'Unsupported media type', detail);
    this.name = 'UnsupportedMediaTypeError';
  }
}

/** A state transition lost a race with another writer (lease held, task already terminal). */
export class ConflictError extends OffloadError {
  public constructor(detail: string, options?: { cause?: unknown }) {
    super(409, 'conflict', 'Conflict', detail, options);
    this.name = 'ConflictError';
  }
}
