import { MAX_SLOTS_PER_SCOPE } from '../lambdas/core/admission.ts';
import { StackConfigurationError } from './errors.ts';

/** Tasks a tenant may have in flight when not configured. */
export const DEFAULT_INFLIGHT_LIMIT = 100 as const;

/**
 * The per-tenant in-flight limit as the submit functions get it: a whole number from 1 to
 * {@link MAX_SLOTS_PER_SCOPE} (admission slots live on one DynamoDB item), else synth fails.
 */
export const inflightLimitOf = (value: number = DEFAULT_INFLIGHT_LIMIT): string => {
  if (!Number.isInteger(value) || value < 1 || value > MAX_SLOTS_PER_SCOPE) {
    throw new StackConfigurationError(`tenantInflightLimit must be a whole number from 1 to ${MAX_SLOTS_PER_SCOPE}, got ${value}`);
  }
  return String(value);
};
