import type { Template } from '../template.ts';
import { FunctionConfigurationError } from './errors.ts';
import { literalNumber, resourcesOfType } from './template-references.ts';

const FUNCTION = 'AWS::Lambda::Function' as const;

/**
 * Ranges Lambda's CreateFunction accepts (Lambda API reference: Timeout "Minimum value of 1",
 * 900 seconds at most for functions not on a capacity provider; MemorySize "Minimum value of 128.
 * Maximum value of 10240.").
 */
export const FUNCTION_LIMITS = {
  timeout: { min: 1, max: 900 },
  memorySize: { min: 128, max: 10_240 },
} as const;

/**
 * Lambda functions whose `Timeout` or `MemorySize` Lambda refuses, with Lambda's validation
 * message. A function with `CapacityProviderConfig` (Lambda Managed Instances, longer timeouts)
 * is not timeout-checked; values that are not literals are not checked.
 */
export const checkFunctionLimits = (template: Template): FunctionConfigurationError[] => {
  const errors: FunctionConfigurationError[] = [];
  for (const [logicalId, fn] of resourcesOfType(template, FUNCTION)) {
    const properties = fn.Properties ?? {};
    const checks = [
      ['Timeout', 'timeout', FUNCTION_LIMITS.timeout, properties.CapacityProviderConfig === undefined],
      ['MemorySize', 'memorySize', FUNCTION_LIMITS.memorySize, true],
    ] as const;
    for (const [property, member, { min, max }, applies] of checks) {
      const value = literalNumber(properties[property]);
      if (!applies || value === undefined || (value >= min && value <= max)) continue;
      errors.push(
        new FunctionConfigurationError({
          logicalId,
          resourceType: FUNCTION,
          property,
          awsMessage: `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must have value ${value < min ? `greater than or equal to ${min}` : `less than or equal to ${max}`}`,
        }),
      );
    }
  }
  return errors;
};
