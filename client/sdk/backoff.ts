/**
 * Exponential backoff with full jitter: a random delay in `[0, min(max, base * 2^attempt))`,
 * which spreads retries of many clients instead of synchronising them.
 *
 * @example
 * ```ts
 * await sleep(fullJitter(attempt, 250, 10_000), signal);
 * ```
 */
export const fullJitter = (attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number =>
  Math.floor(random() * Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30)));

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Parses `Retry-After` (delay-seconds or an HTTP date) into seconds; undefined when absent or invalid. */
export const parseRetryAfter = (value: string | null, now: number = Date.now()): number | undefined => {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
};
