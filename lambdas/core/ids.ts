import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ' as const;

/**
 * A ULID: 48 bits of millisecond time then 80 random bits, Crockford base32, 26 characters.
 * Lexicographic order is creation order, which the tenant listing index relies on.
 *
 * @example
 * ```ts
 * const id = ulid(); // '01JD3Q6K5V8ZC2M9T4W7XBN0RS'
 * ```
 */
export const ulid = (now: number = Date.now()): string => {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  let random = '';
  for (let i = 0; i < 16; i++) random += CROCKFORD[(bytes[i] ?? 0) % 32];
  return time + random;
};

/** Task ids are ULIDs prefixed for readability in logs: `tsk_01J...`. */
export const newTaskId = (now?: number): string => `tsk_${ulid(now)}`;

/** Accepts only ids of the shape {@link newTaskId} produces; anything else can never exist. */
export const isTaskId = (value: unknown): value is string =>
  typeof value === 'string' && /^tsk_[0-9A-HJKMNP-TV-Z]{26}$/.test(value);
