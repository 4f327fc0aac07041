import { createHmac, timingSafeEqual } from 'node:crypto';
import * as z from 'zod/mini';
import { ForbiddenError, ValidationError } from './errors.ts';
import { isTaskId } from './ids.ts';
import type { Principal } from './model.ts';
import { describeIssues } from './submit.ts';

/** Bounds of a client token's lifetime. */
export const TOKEN_TTL = { default: 900, min: 60, max: 86_400 } as const;
const PREFIX = 'oft_';

/** `POST /v1/tokens` body. */
export const TokenRequest = z.strictObject({
  taskIds: z.optional(z.array(z.string().check(z.maxLength(64))).check(z.minLength(1), z.maxLength(50))),
  ttlSeconds: z.optional(z.number().check(z.int(), z.minimum(TOKEN_TTL.min), z.maximum(TOKEN_TTL.max))),
});

interface TokenClaims {
  /** Tenant. */
  readonly t: string;
  /** Id of the API key that minted the token (not secret: it is part of the key itself). */
  readonly k: string;
  /** Id of the signing key that signed the token. */
  readonly kid: string;
  /** Task ids the token is limited to. */
  readonly ids?: readonly string[];
  /** Expiry, epoch seconds. */
  readonly exp: number;
}

/**
 * Source of the signing secret's value (held in AWS Secrets Manager; generated locally). The value
 * is either a plain string (one key, kid {@link DEFAULT_KID}) or a key ring, JSON
 * `{"current":{"kid","key"},"previous"?:{"kid","key"}}`: tokens are signed with `current` and
 * accepted when signed with either, so the secret can rotate without refusing live tokens.
 */
export type SigningKey = () => Promise<string>;

/** The kid of a signing secret that is a plain string. */
export const DEFAULT_KID = '0' as const;
const KID_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;
const KEY_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const MIN_KEY_LENGTH = 32;

/** One signing key of the ring. */
export interface SigningKeyEntry {
  readonly kid: string;
  readonly key: string;
}

/** The signing keys in use: tokens are signed with `current`, verified with either. */
export interface SigningKeyRing {
  readonly current: SigningKeyEntry;
  readonly previous?: SigningKeyEntry;
}

const entryOf = (value: unknown, what: string): SigningKeyEntry => {
  const entry = value as Partial<SigningKeyEntry> | null;
  if (typeof entry !== 'object' || entry === null || typeof entry.kid !== 'string' || !KID_PATTERN.test(entry.kid) || typeof entry.key !== 'string' || entry.key.length < MIN_KEY_LENGTH) {
    throw new Error(`signing secret: ${what} must be {"kid": 1-32 letters, digits, ".", "_" or "-", "key": at least ${MIN_KEY_LENGTH} characters}`);
  }
  return { kid: entry.kid, key: entry.key };
};

/**
 * Reads a signing secret's value: a key ring (JSON, see {@link SigningKey}) or a plain key (kid
 * {@link DEFAULT_KID}). Throws on a malformed value: never signs with a weak key.
 */
export const parseSigningSecret = (value: string): SigningKeyRing => {
  if (!value.trimStart().startsWith('{')) {
    if (value.length < MIN_KEY_LENGTH) throw new Error('client token signing key is too short');
    return { current: { kid: DEFAULT_KID, key: value } };
  }
  let document: { current?: unknown; previous?: unknown };
  try {
    document = JSON.parse(value) as { current?: unknown; previous?: unknown };
  } catch {
    throw new Error('signing secret: not valid JSON');
  }
  const current = entryOf(document?.current, 'current');
  if (document.previous === undefined || document.previous === null) return { current };
  const previous = entryOf(document.previous, 'previous');
  if (previous.kid === current.kid) throw new Error('signing secret: current and previous need different kids');
  return { current, previous };
};

const sign = (key: string, payload: string): string => createHmac('sha256', key).update(payload).digest('base64url');

/**
 * Mints a short-lived client token for browsers and the WebSocket API: scoped to the caller's
 * tenant, optionally narrowed to task ids, bound to the API key that minted it (its id travels in
 * the token, and the authorizers refuse the token once that key is revoked), signed with
 * HMAC-SHA256 by the current signing key (its kid travels in the token). Only an API key may mint:
 * a client token cannot renew itself ({@link ForbiddenError}). Browsers never need the API key.
 *
 * @example
 * ```ts
 * const { token, expiresAt } = await mintClientToken(key, { tenantId, keyId }, { taskIds: [id], ttlSeconds: 300 });
 * ```
 */
export const mintClientToken = async (key: SigningKey, principal: Principal, body: unknown, now: Date = new Date()): Promise<{ token: string; expiresAt: string }> => {
  if (principal.via === 'clientToken' || principal.keyId === undefined) throw new ForbiddenError('Only an API key can mint client tokens; a client token cannot.');
  if (!KEY_ID_PATTERN.test(principal.keyId)) throw new Error('the minting API key has no valid key id');
  const parsed = TokenRequest.safeParse(body ?? {});
  if (!parsed.success) throw new ValidationError(describeIssues(parsed.error));
  const { taskIds, ttlSeconds = TOKEN_TTL.default } = parsed.data;
  if (taskIds?.some((id) => !isTaskId(id))) throw new ValidationError('taskIds must be task ids.');
  const { current } = parseSigningSecret(await key());
  const claims: TokenClaims = { t: principal.tenantId, k: principal.keyId, kid: current.kid, ...(taskIds ? { ids: taskIds } : {}), exp: Math.floor(now.getTime() / 1000) + ttlSeconds };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return { token: `${PREFIX}${payload}.${sign(current.key, payload)}`, expiresAt: new Date(claims.exp * 1000).toISOString() };
};

/** The shape of a client token (`oft_<base64url claims>.<43 base64url characters of HMAC>`), under 4096 characters. */
export const CLIENT_TOKEN_PATTERN = /^oft_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/;

/** Whether a credential has the shape of a client token (cheap pre-check). */
export const looksLikeClientToken = (value: string): boolean => value.startsWith(PREFIX) && value.length < 4096 && CLIENT_TOKEN_PATTERN.test(value);

/** The claims of a token, unverified; undefined when they are not a JSON object. */
const claimsOf = (token: string): Partial<TokenClaims> | undefined => {
  try {
    const claims = JSON.parse(Buffer.from(token.slice(PREFIX.length).split('.')[0] ?? '', 'base64url').toString('utf8')) as unknown;
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims) ? (claims as Partial<TokenClaims>) : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Verifies a client token: shape, signing key (its `kid` must name the ring's current or previous
 * key), signature, expiry, and claims. Tokens without a `kid` or a minting key id (issued before
 * keys were bound) are refused. Returns the principal (with the minting key's id), or undefined.
 * The caller still checks that the minting key is active.
 */
export const verifyClientToken = async (key: SigningKey, token: string, now: Date = new Date()): Promise<Principal | undefined> => {
  if (!looksLikeClientToken(token)) return undefined;
  const [payload, signature] = token.slice(PREFIX.length).split('.') as [string, string];
  const claims = claimsOf(token);
  if (!claims || typeof claims.kid !== 'string') return undefined;
  const ring = parseSigningSecret(await key());
  const signer = [ring.current, ring.previous].find((entry) => entry?.kid === claims.kid);
  if (!signer) return undefined;
  const expected = Buffer.from(sign(signer.key, payload));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  if (typeof claims.t !== 'string' || claims.t === '' || claims.t.length > 128 || typeof claims.exp !== 'number' || claims.exp * 1000 <= now.getTime()) return undefined;
  if (typeof claims.k !== 'string' || !KEY_ID_PATTERN.test(claims.k)) return undefined;
  if (claims.ids !== undefined && !(Array.isArray(claims.ids) && claims.ids.every(isTaskId))) return undefined;
  return { tenantId: claims.t, keyId: claims.k, via: 'clientToken', ...(claims.ids ? { taskIds: claims.ids } : {}) };
};

/**
 * The expiry of a client token, epoch milliseconds, read from its claims without verifying them:
 * call it only on a token {@link verifyClientToken} accepted.
 */
export const clientTokenExpiry = (token: string): number | undefined => {
  const exp = claimsOf(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
};
