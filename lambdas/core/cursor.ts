import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import { ValidationError } from './errors.ts';
import { parseSigningSecret, type SigningKey } from './client-token.ts';

/** Shape of a sealed listing cursor: AES-256-GCM, 12-byte IV, 16-byte tag. */
const CURSOR = { version: 1, ivBytes: 12, tagBytes: 16, maxLength: 512, info: 'offload/list-cursor/v1' } as const;

/** What a cursor carries: a position in a listing. Never shown to the caller in clear. */
export interface CursorPosition {
  /** The store's own continuation (the task table's `LastEvaluatedKey`, encoded). */
  readonly store?: string;
  /** Task-scoped listings: the last task id answered. */
  readonly after?: string;
}

/** Derives a cursor key (HKDF-SHA256) from one signing key: never the signing key itself. */
const cursorKey = (signingKey: string, purpose: 'encrypt' | 'iv' = 'encrypt'): Buffer =>
  Buffer.from(hkdfSync('sha256', signingKey, Buffer.alloc(0), `${CURSOR.info}/${purpose}`, 32));

/** Binds a cursor to its tenant and to the kind of listing (tenant-wide or task-scoped). */
const additionalData = (tenantId: string, scope: 'tenant' | 'tasks'): Buffer => Buffer.from(`v${CURSOR.version}|${scope}|${tenantId}`, 'utf8');

/**
 * Seals a listing position into an opaque, tamper-proof cursor: AES-256-GCM under a key derived
 * from the deployment's token signing secret (current key), the tenant and listing scope as
 * additional authenticated data. A cursor reveals nothing (no task ids, no table keys). The IV is
 * synthetic (HMAC of the tenant, scope and position under a separate derived key), so the same
 * page always has the same cursor: a listing's answer, and its ETag, stay stable for `304`s; an IV
 * repeats only with the same plaintext, which GCM tolerates (it shows only that two cursors are equal).
 *
 * @example
 * ```ts
 * const cursor = await sealCursor(key, 'ten_01…', 'tenant', { store: page.nextCursor });
 * ```
 */
export const sealCursor = async (key: SigningKey, tenantId: string, scope: 'tenant' | 'tasks', position: CursorPosition): Promise<string> => {
  const { current } = parseSigningSecret(await key());
  const plaintext = Buffer.from(JSON.stringify(position), 'utf8');
  const aad = additionalData(tenantId, scope);
  const iv = createHmac('sha256', cursorKey(current.key, 'iv')).update(aad).update(plaintext).digest().subarray(0, CURSOR.ivBytes);
  const cipher = createCipheriv('aes-256-gcm', cursorKey(current.key), iv, { authTagLength: CURSOR.tagBytes });
  cipher.setAAD(aad);
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([CURSOR.version]), iv, cipher.getAuthTag(), sealed]).toString('base64url');
};

/**
 * Opens a cursor made by {@link sealCursor} for the same tenant and scope, with the ring's current
 * or previous key (so a rotation does not break live pagination). Anything else — tampered,
 * truncated, another tenant's, another scope's, another deployment's — is a `400` {@link ValidationError}.
 */
export const openCursor = async (key: SigningKey, tenantId: string, scope: 'tenant' | 'tasks', cursor: string): Promise<CursorPosition> => {
  const invalid = (cause?: unknown) => new ValidationError('cursor is invalid.', cause === undefined ? undefined : { cause });
  if (cursor.length > CURSOR.maxLength || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  const bytes = Buffer.from(cursor, 'base64url');
  if (bytes.length < 1 + CURSOR.ivBytes + CURSOR.tagBytes + 1 || bytes[0] !== CURSOR.version) throw invalid();
  const iv = bytes.subarray(1, 1 + CURSOR.ivBytes);
  const tag = bytes.subarray(1 + CURSOR.ivBytes, 1 + CURSOR.ivBytes + CURSOR.tagBytes);
  const sealed = bytes.subarray(1 + CURSOR.ivBytes + CURSOR.tagBytes);
  const ring = parseSigningSecret(await key());
  let lastError: unknown;
  for (const entry of [ring.current, ...(ring.previous ? [ring.previous] : [])]) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', cursorKey(entry.key), iv, { authTagLength: CURSOR.tagBytes });
      decipher.setAAD(additionalData(tenantId, scope));
      decipher.setAuthTag(tag);
      const text = Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8');
      const position = JSON.parse(text) as CursorPosition;
      if (typeof position !== 'object' || position === null) throw invalid();
      return position;
    } catch (error) {
      lastError = error;
    }
  }
  throw invalid(lastError);
};
