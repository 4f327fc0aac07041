import { OffloadError } from './errors.ts';

/** Base URI of Offload's problem types (RFC 9457 `type`). */
export const PROBLEM_TYPE_BASE = 'https://offload.dev/problems/' as const;

/** An RFC 9457 problem details object. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance?: string;
}

/**
 * Maps any thrown value to a problem. Only {@link OffloadError}s (always below 500) expose their
 * message; everything else becomes an opaque 500 so no internals or stack traces leak.
 *
 * @example
 * ```ts
 * toProblem(new NotFoundError()); // { status: 404, title: 'Not found', ... }
 * ```
 */
export const toProblem = (error: unknown, instance?: string): { problem: Problem; headers: Record<string, string> } => {
  if (error instanceof OffloadError && error.status < 500) {
    return {
      problem: {
        type: PROBLEM_TYPE_BASE + error.code,
        title: error.title,
        status: error.status,
        detail: error.message,
        ...(instance ? { instance } : {}),
      },
      headers: { ...error.headers },
    };
  }
  return {
    problem: {
      type: PROBLEM_TYPE_BASE + 'internal-error',
      title: 'Internal error',
      status: 500,
      detail: 'The request could not be completed. It is safe to retry.',
      ...(instance ? { instance } : {}),
    },
    headers: {},
  };
};
