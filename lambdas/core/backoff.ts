/** First retry delay, in seconds. */
export const RETRY_BASE_SECONDS = 2 as const;
/** Longest retry delay: SQS's largest visibility timeout change that stays useful for a retry (15 minutes). */
export const RETRY_MAX_SECONDS = 900 as const;

/**
 * Retry backoff of a failed attempt, applied by making its message invisible this long: 2 s after
 * the first attempt, doubling with each attempt, at most 15 minutes.
 *
 * @example
 * ```ts
 * backoffSeconds(1); // 2
 * backoffSeconds(4); // 16
 * ```
 */
export const backoffSeconds = (attempt: number): number => {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  return Math.min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempt - 1));
};
