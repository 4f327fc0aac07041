import { describe, expect, it } from 'vitest';
import { RateLimitedError, rateLimitsFromEnv, TENANT_RATE_DEFAULTS, TenantRateLimiter } from '../../lambdas/core/rate-limit.ts';

describe('per-tenant token buckets', () => {
  it('admits a burst, then refuses with the seconds until the next token', () => {
    // Prepare
    const limiter = new TenantRateLimiter({ ratePerSecond: 2, burst: 3 });
    const t0 = 1_000_000;
    // Act
    const burst = [limiter.take('ten_a', t0), limiter.take('ten_a', t0), limiter.take('ten_a', t0)];
    const refused = limiter.take('ten_a', t0);
    // Assess
    expect(burst.every((verdict) => verdict.allowed)).toBe(true);
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('refills at the sustained rate, never above the burst', () => {
    // Prepare
    const limiter = new TenantRateLimiter({ ratePerSecond: 2, burst: 3 });
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) limiter.take('ten_a', t0);
    // Act: half a second earns one token; an hour earns only the burst.
    const afterHalfSecond = [limiter.take('ten_a', t0 + 500), limiter.take('ten_a', t0 + 500)];
    const afterAnHour = Array.from({ length: 4 }, () => limiter.take('ten_a', t0 + 3_600_000));
    // Assess
    expect(afterHalfSecond.map((verdict) => verdict.allowed)).toEqual([true, false]);
    expect(afterAnHour.map((verdict) => verdict.allowed)).toEqual([true, true, true, false]);
  });

  it('keeps one bucket per tenant', () => {
    // Prepare
    const limiter = new TenantRateLimiter({ ratePerSecond: 1, burst: 1 });
    // Act
    const a = [limiter.take('ten_a', 0), limiter.take('ten_a', 0)];
    const b = limiter.take('ten_b', 0);
    // Assess
    expect(a.map((verdict) => verdict.allowed)).toEqual([true, false]);
    expect(b.allowed).toBe(true);
  });

  it('states Retry-After in whole seconds of at least one, for slow rates too', () => {
    // Prepare
    const limiter = new TenantRateLimiter({ ratePerSecond: 0.1, burst: 1 });
    limiter.take('ten_a', 0);
    // Act
    const refused = limiter.take('ten_a', 0);
    // Assess
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 10 });
  });

  it('reads its limits from the environment, falling back to the documented defaults', () => {
    // Act / Assess
    expect(rateLimitsFromEnv({})).toEqual(TENANT_RATE_DEFAULTS);
    expect(TENANT_RATE_DEFAULTS).toEqual({ ratePerSecond: 50, burst: 100 });
    expect(rateLimitsFromEnv({ TENANT_RATE_LIMIT: '5', TENANT_BURST_LIMIT: '7' })).toEqual({ ratePerSecond: 5, burst: 7 });
    expect(rateLimitsFromEnv({ TENANT_RATE_LIMIT: 'zero', TENANT_BURST_LIMIT: '-1' })).toEqual(TENANT_RATE_DEFAULTS);
  });

  it('is a 429 problem with Retry-After', () => {
    // Act
    const error = new RateLimitedError(3);
    // Assess
    expect(error.status).toBe(429);
    expect(error.headers['Retry-After']).toBe('3');
  });
});
