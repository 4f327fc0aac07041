import { describe, expect, it } from 'vitest';
import { MAX_SLOTS_PER_SCOPE } from '../../lambdas/core/admission.ts';
import { StackConfigurationError } from '../../lib/errors.ts';
import { DEFAULT_INFLIGHT_LIMIT, inflightLimitOf } from '../../lib/inflight-limit.ts';

/** The per-tenant in-flight limit is bounded by what one counter item can hold (admission slots are its attributes). */
describe('tenantInflightLimit', () => {
  it('defaults to 100 and accepts whole numbers up to the slots one item can hold', () => {
    // Act and assess
    expect(inflightLimitOf()).toBe(String(DEFAULT_INFLIGHT_LIMIT));
    expect(inflightLimitOf(1)).toBe('1');
    expect(inflightLimitOf(MAX_SLOTS_PER_SCOPE)).toBe(String(MAX_SLOTS_PER_SCOPE));
  });

  it.each([0, -1, 2.5, MAX_SLOTS_PER_SCOPE + 1, Number.NaN])('fails synth on %s', (value) => {
    // Act and assess
    expect(() => inflightLimitOf(value)).toThrow(StackConfigurationError);
  });
});
