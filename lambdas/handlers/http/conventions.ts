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

/** Cache lifetimes of reads: short while a task can change, long and immutable once it cannot. */
export const CacheControl = {
  live: 'max-age=0, s-maxage=1, must-revalidate',
  terminal: 'public, max-age=31536000, s-maxage=31536000, immutable',
  /** The API documents: they change only with a deployment. */
  document: 'public, max-age=3600, s-maxage=3600',
} as const;
