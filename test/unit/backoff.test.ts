import { describe, expect, it } from 'vitest';
import { backoffSeconds, RETRY_MAX_SECONDS } from '../../lambdas/core/backoff.ts';

describe('retry backoff', () => {
  it('starts at 2 s and doubles with each attempt', () => {
    // Act
    const delays = [1, 2, 3, 4, 5, 6].map(backoffSeconds);
    // Assess
    expect(delays).toEqual([2, 4, 8, 16, 32, 64]);
  });

  it('never exceeds 15 minutes, however many attempts', () => {
    // Act
    const late = [10, 11, 30, 1_000].map(backoffSeconds);
    // Assess
    expect(backoffSeconds(9)).toBe(512);
    expect(late.every((delay) => delay === RETRY_MAX_SECONDS)).toBe(true);
    expect(RETRY_MAX_SECONDS).toBe(900);
  });

  it('refuses attempts that are not positive integers', () => {
    // Act / Assess
    for (const attempt of [0, -1, 1.5, Number.NaN]) expect(() => backoffSeconds(attempt)).toThrow(RangeError);
  });
});
