import { createHash } from 'node:crypto';
import { OffloadError, ValidationError } from './errors.ts';

/** How long a key is remembered (IETF Idempotency-Key draft: a retention window). */
export const IDEMPOTENCY_RETENTION_SECONDS = 24 * 60 * 60;
/** How long a first request may hold a key before a retry may take it over. */
export const IDEMPOTENCY_LOCK_MS = 30_000;

/** The same key is being processed by another request right now (`409`). */
export class IdempotencyInProgressError extends OffloadError {
  public constructor() {
    super(409, 'idempotency-in-progress', 'Request in progress', 'A request with this Idempotency-Key is still being processed; retry shortly.', {
      headers: { 'Retry-After': '1' },
    });
    this.name = 'IdempotencyInProgressError';
  }
}

/** The key was used with a different request body (`422`). */
export class IdempotencyMismatchError extends OffloadError {
  public constructor() {
    super(422, 'idempotency-key-reused', 'Idempotency-Key reused', 'This Idempotency-Key was already used with a different request.');
    this.name = 'IdempotencyMismatchError';
  }
}

/** What the store knows about a key. */
export type IdempotencyClaim =
  /** This request owns the key; create `taskId` (possibly resuming a crashed first attempt). */
  | { readonly kind: 'owner'; readonly taskId: string }
  /** The key completed earlier with the same request: answer with `taskId`. */
  | { readonly kind: 'replay'; readonly taskId: string }
  | { readonly kind: 'in-progress' }
  | { readonly kind: 'mismatch' };

/** Storage of idempotency keys (scoped per tenant, hashed). */
export interface IdempotencyStore {
  /**
   * Claims a key for a request fingerprint. A new key, an expired one, or one whose holder's lock
   * expired (a crashed request) is claimed, keeping the task id first chosen for it.
   */
  claim(tenantId: string, keyHash: string, fingerprint: string, proposedTaskId: string): Promise<IdempotencyClaim>;
  complete(tenantId: string, keyHash: string): Promise<void>;
  /** Forgets a claim whose request failed before anything was recorded, so a retry can proceed. */
  release(tenantId: string, keyHash: string): Promise<void>;
}

/** Validates an `Idempotency-Key` header value and returns its hash (keys are never stored raw). */
export const hashIdempotencyKey = (key: string): string => {
  if (key.length < 1 || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw new ValidationError('Idempotency-Key must be 1-255 visible ASCII characters.');
  }
  return createHash('sha256').update(key).digest('hex');
};

/** A stable fingerprint of a JSON request: key order does not matter. */
export const fingerprint = (body: unknown): string => createHash('sha256').update(canonicalJson(body)).digest('hex');

const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
};
