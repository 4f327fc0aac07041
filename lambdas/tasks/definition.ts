import type * as z from 'zod/mini';
import type { WorkloadClass } from '../core/model.ts';

/** Minimal structured logger handed to task code. */
export interface TaskLogger {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** What a task's `run` receives besides its input. */
export interface TaskContext<P> {
  readonly taskId: string;
  readonly tenantId: string;
  /** 1 on the first attempt. */
  readonly attempt: number;
  /** Aborted on cancel, on a lost lease, or shortly before the timeout. Pass it to every I/O call. */
  readonly signal: AbortSignal;
  readonly logger: TaskLogger;
  /**
   * Progress an earlier attempt of this task already recorded (and clients may have seen), oldest
   * first; empty on a first attempt. A retried task must continue after it, not repeat it.
   */
  readonly previous: readonly P[];
  /**
   * Reports progress. Entries are coalesced (see {@link TaskDefinition.mergeProgress}) and written
   * at a bounded rate, so calling this per token is fine. Rejects once the task was cancelled or
   * its lease lost.
   */
  progress(data: P): Promise<void>;
}

/** Retry policy of a task type. */
export interface RetryPolicy {
  /** Attempts in all, including the first. */
  readonly maxAttempts: number;
}

/**
 * A task type: everything Offload needs to admit, route, run and retry it.
 *
 * @example
 * ```ts
 * export const resize = defineTask({
 *   type: 'resize',
 *   class: 'batch',
 *   input: z.strictObject({ url: z.url() }),
 *   timeoutSeconds: 120,
 *   retry: { maxAttempts: 3 },
 *   ordering: 'none',
 *   sensitiveFields: [],
 *   run: async (input, ctx) => { await ctx.progress({ percent: 50 }); return { ok: true }; },
 * });
 * ```
 */
export interface TaskDefinition<I = unknown, P = unknown, R = unknown> {
  /** The `type` clients submit; lowercase, digits, dashes and dots. */
  readonly type: string;
  /** The workload class whose queue and worker run it. */
  readonly class: WorkloadClass;
  /** Schema of the submitted input; unknown keys are rejected. */
  readonly input: z.ZodMiniType<I>;
  /** Wall-clock limit of one attempt; `ctx.signal` aborts shortly before it. */
  readonly timeoutSeconds: number;
  readonly retry: RetryPolicy;
  /** `session`: tasks sharing a sessionId run one at a time in submit order. */
  readonly ordering: 'session' | 'none';
  /** Input/result paths masked before data leaves for analytics or third parties. */
  readonly sensitiveFields: readonly string[];
  /**
   * Folds a new progress item into the pending, not yet written one. Default: the newest wins.
   */
  readonly mergeProgress?: (pending: P, next: P) => P;
  run(input: I, ctx: TaskContext<P>): Promise<R>;
}

const TYPE_NAME = /^[a-z][a-z0-9.-]{0,62}$/;

/**
 * Declares a task type, validating the declaration up front.
 *
 * @throws TypeError when the declaration is inconsistent.
 */
export const defineTask = <I, P, R>(definition: TaskDefinition<I, P, R>): TaskDefinition<I, P, R> => {
  if (!TYPE_NAME.test(definition.type)) throw new TypeError(`Invalid task type name "${definition.type}"`);
  if (!(definition.timeoutSeconds > 0 && definition.timeoutSeconds <= 900)) {
    throw new TypeError(`Task type "${definition.type}": timeoutSeconds must be in (0, 900]`);
  }
  if (!(Number.isInteger(definition.retry.maxAttempts) && definition.retry.maxAttempts >= 1 && definition.retry.maxAttempts <= 10)) {
    throw new TypeError(`Task type "${definition.type}": retry.maxAttempts must be an integer in [1, 10]`);
  }
  return Object.freeze(definition);
};
