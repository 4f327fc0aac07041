import { createHash } from 'node:crypto';

/**
 * HTTP conventions shared by the routes and by their OpenAPI description: the body size limit,
 * cache lifetimes and ETags. Free of runtime dependencies, so any bundle may import it.
 */

/** Largest accepted request body. */
export const MAX_BODY_BYTES = 128 * 1024;

/** A strong ETag over a response body. */
export const etagOf = (body: string): string => `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;

/** Whether an `If-None-Match` header matches an ETag (weak comparison, as for GET). */
export const matchesEtag = (ifNoneMatch: string | undefined, etag: string): boolean => {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((candidate) => bare(candidate) === bare(etag));
};

/**
 * The revocation window, in seconds: a revoked API key stops working within it (the HTTP
 * authorizer's key cache TTL, `API_KEY_CACHE_SECONDS`, defaults to it), and no shared cache may
 * serve an authenticated read for longer than it without asking the origin (the edge cache
 * policy's MaxTTL is this value, and every read's `s-maxage` is at most this).
 */
export const REVOCATION_WINDOW_SECONDS = 60;

/**
 * Cache lifetimes of reads: short while a task can change, long and immutable once it cannot.
 *
 * Browsers and shared caches get different lifetimes on purpose. `max-age` (private caches: the
 * caller's own browser) keeps a terminal answer for a year, `immutable`: it can never change, and a
 * private cache only replays to its holder what that credential already read. `s-maxage` (CloudFront
 * and any other shared cache) is the revocation window at most, and {@link boundSharedMaxAge} lowers
 * it further to the time the authorizer's verdict on the credential still stands (an API key's
 * cache entry, a client token's expiry). After that the edge revalidates with the `ETag`: the
 * conditional request goes through the authorizer, so a revoked key or an expired token gets `401`,
 * never the cached body, and a valid one a cheap `304` (RefreshHit).
 */
export const CacheControl = {
  live: 'max-age=0, s-maxage=1, must-revalidate',
  terminal: `max-age=31536000, immutable, s-maxage=${REVOCATION_WINDOW_SECONDS}`,
  /** The API documents: public (no credential), they change only with a deployment. */
  document: 'public, max-age=3600, s-maxage=3600',
  /** Problem (error) answers: never stored anywhere, so no error outlives its cause. */
  problem: 'no-store',
} as const;

/**
 * Lowers the `s-maxage` of a `Cache-Control` value to at most `seconds` (never below 0), leaving
 * every other directive as it is.
 *
 * @example
 * ```ts
 * boundSharedMaxAge(CacheControl.terminal, 12); // 'max-age=31536000, immutable, s-maxage=12'
 * ```
 */
export const boundSharedMaxAge = (cacheControl: string, seconds: number): string => {
  const limit = Math.max(0, Math.floor(seconds));
  return cacheControl.replace(/\bs-maxage=(\d+)/, (_match, value: string) => `s-maxage=${Math.min(Number(value), limit)}`);
};

/** Headers on every API answer: `nosniff`, so no browser ever renders a JSON answer as something else. */
export const SECURITY_HEADERS = { 'x-content-type-options': 'nosniff' } as const;

/** The answer with {@link SECURITY_HEADERS} added. */
export const withSecurityHeaders = <T extends { headers?: Record<string, string | number | boolean> }>(result: T): T => ({
  ...result,
  headers: { ...result.headers, ...SECURITY_HEADERS },
});
