import { createHmac, timingSafeEqual } from 'node:crypto';
import * as z from 'zod/mini';
import { ValidationError } from './errors.ts';
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
  /** Task ids the token is limited to. */
  readonly ids?: readonly string[];
  /** Expiry, epoch seconds. */
  readonly exp: number;
}

/** Source of the signing key (held in AWS Secrets Manager; generated locally). */
export type SigningKey = () => Promise<string>;

const sign = (key: string, payload: string): string => createHmac('sha256', key).update(payload).digest('base64url');

/**
 * Mints a short-lived client token for browsers and the WebSocket API: scoped to the caller's
 * tenant, optionally narrowed to task ids (never widened beyond the caller's own scope), signed with
 * HMAC-SHA256. Browsers never need the tenant's API key.
 *
 * @example
 * ```ts
 * const { token, expiresAt } = await mintClientToken(key, principal, { taskIds: [id], ttlSeconds: 300 });
 * ```
 */
export const mintClientToken = async (key: SigningKey, principal: Principal, body: unknown, now: Date = new Date()): Promise<{ token: string; expiresAt: string }> => {
  const parsed = TokenRequest.safeParse(body ?? {});
  if (!parsed.success) throw new ValidationError(describeIssues(parsed.error));
  const { taskIds, ttlSeconds = TOKEN_TTL.default } = parsed.data;
  if (taskIds?.some((id) => !isTaskId(id))) throw new ValidationError('taskIds must be task ids.');
  if (taskIds && principal.taskIds && taskIds.some((id) => !principal.taskIds!.includes(id))) {
    throw new ValidationError('A client token cannot widen its own scope.');
  }
  const ids = taskIds ?? principal.taskIds;
  const claims: TokenClaims = { t: principal.tenantId, ...(ids ? { ids } : {}), exp: Math.floor(now.getTime() / 1000) + ttlSeconds };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return { token: `${PREFIX}${payload}.${sign(await key(), payload)}`, expiresAt: new Date(claims.exp * 1000).toISOString() };
};

/** Whether a credential has the shape of a client token (cheap pre-check). */
export const looksLikeClientToken = (value: string): boolean => value.startsWith(PREFIX) && value.length < 4096 && /^oft_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/.test(value);

/** Verifies a client token: signature, expiry, shape. Returns the principal, or undefined. */
export const verifyClientToken = async (key: SigningKey, token: string, now: Date = new Date()): Promise<Principal | undefined> => {
  if (!looksLikeClientToken(token)) return undefined;
  const [payload, signature] = token.slice(PREFIX.length).split('.') as [string, string];
  const expected = Buffer.from(sign(await key(), payload));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  let claims: TokenClaims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
  } catch {
    return undefined;
  }
  if (typeof claims !== 'object' || claims === null) return undefined;
  if (typeof claims.t !== 'string' || claims.t === '' || claims.t.length > 128 || typeof claims.exp !== 'number' || claims.exp * 1000 <= now.getTime()) return undefined;
  if (claims.ids !== undefined && !(Array.isArray(claims.ids) && claims.ids.every(isTaskId))) return undefined;
  return { tenantId: claims.t, ...(claims.ids ? { taskIds: claims.ids } : {}) };
};
