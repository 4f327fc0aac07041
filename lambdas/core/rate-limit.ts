import { OffloadError } from './errors.ts';

/**
 * Per-tenant request-rate limits, enforced in the HTTP authorizer.
 *
 * Where and why: the authorizer already runs on every request (its gateway result cache is off so
 * revocation and this limit see every call) and already holds a warm-container cache per
 * credential, so a token bucket per tenant in its memory costs nothing per request: no DynamoDB
 * read or write, no extra hop. A DynamoDB conditional update per request would double the cost of
 * every call to protect against the calls that cost least.
 *
 * What it is not: a global limit. Each authorizer instance (execution environment) keeps its own
 * buckets, so a tenant whose traffic spreads over N warm instances may reach up to N times the
 * configured rate. Bursts from one client mostly land on few instances, and the stage-wide
 * throttle still caps the sum; for a hard global cap put an AWS WAF rate-based rule keyed on the
 * `Authorization` header in front of the CloudFront distribution (see README, Security).
 */

/** Documented defaults of the per-tenant limits (stack props `tenantRateLimit`, `tenantBurstLimit`). */
export const TENANT_RATE_DEFAULTS = { ratePerSecond: 50, burst: 100 } as const;

/** Environment variables carrying the limits to the authorizer. */
export const TENANT_RATE_ENV = { ratePerSecond: 'TENANT_RATE_LIMIT', burst: 'TENANT_BURST_LIMIT' } as const;

/** Most tenants whose buckets one instance keeps; beyond it the least recently seen are dropped. */
const MAX_TENANTS = 10_000;

/** A tenant sent more requests than its rate limit allows (`429`). */
export class RateLimitedError extends OffloadError {
  public constructor(retryAfterSeconds: number) {
    super(429, 'rate-limited', 'Too many requests', `This tenant's request rate is limited; retry after ${retryAfterSeconds} s.`, {
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
    this.name = 'RateLimitedError';
  }
}

/** Limits of a {@link TenantRateLimiter}. */
export interface RateLimits {
  /** Sustained requests per second. */
  readonly ratePerSecond: number;
  /** Requests that may arrive at once after a quiet period (the bucket's capacity). */
  readonly burst: number;
}

/** A verdict: admitted, or refused with the whole seconds after which a request would be admitted. */
export type RateVerdict = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/** A token bucket: `burst` tokens, refilled at `ratePerSecond`; each request takes one. */
class TokenBucket {
  private tokens: number;
  private updated: number;

  public constructor(
    private readonly limits: RateLimits,
    now: number,
  ) {
    this.tokens = limits.burst;
    this.updated = now;
  }

  public take(now: number): RateVerdict {
    const elapsed = Math.max(0, now - this.updated) / 1000;
    this.tokens = Math.min(this.limits.burst, this.tokens + elapsed * this.limits.ratePerSecond);
    this.updated = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - this.tokens) / this.limits.ratePerSecond)) };
  }
}

/**
 * One token bucket per tenant, in memory (see the module comment for what that does and does not
 * guarantee).
 *
 * @example
 * ```ts
 * const limiter = new TenantRateLimiter(rateLimitsFromEnv());
 * const verdict = limiter.take(tenantId);
 * if (!verdict.allowed) throw new RateLimitedError(verdict.retryAfterSeconds);
 * ```
 */
export class TenantRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  public constructor(private readonly limits: RateLimits = TENANT_RATE_DEFAULTS) {}

  /** Takes one request of `tenantId`'s allowance at `now` (epoch ms). */
  public take(tenantId: string, now: number = Date.now()): RateVerdict {
    let bucket = this.buckets.get(tenantId);
    if (bucket) {
      this.buckets.delete(tenantId); // re-inserted last: the map's order is recency
    } else {
      bucket = new TokenBucket(this.limits, now);
      if (this.buckets.size >= MAX_TENANTS) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(tenantId, bucket);
    return bucket.take(now);
  }
}

/** Reads the limits from `TENANT_RATE_LIMIT` and `TENANT_BURST_LIMIT`, else {@link TENANT_RATE_DEFAULTS}. */
export const rateLimitsFromEnv = (env: Readonly<Record<string, string | undefined>> = process.env): RateLimits => {
  const read = (name: string, fallback: number): number => {
    const value = Number(env[name]);
    return env[name] !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
  };
  const ratePerSecond = read(TENANT_RATE_ENV.ratePerSecond, TENANT_RATE_DEFAULTS.ratePerSecond);
  return { ratePerSecond, burst: Math.max(1, read(TENANT_RATE_ENV.burst, TENANT_RATE_DEFAULTS.burst)) };
};
