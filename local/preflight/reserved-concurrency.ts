import type { Template } from '../template.ts';
import { ReservedConcurrencyError } from './errors.ts';
import { literalNumber, resourcesOfType } from './template-references.ts';

/** Concurrency Lambda keeps unreserved for functions without a reservation (capped by the account quota). */
export const MINIMUM_UNRESERVED_CONCURRENCY = 100 as const;

/**
 * Reserved concurrency against the account's concurrency quota: Lambda lets functions reserve at
 * most the quota minus 100 ("You can reserve up to the Unreserved account concurrency value minus
 * 100", Lambda developer guide, "Configuring reserved concurrency"); in an account whose quota is
 * itself below 100 the minimum is the quota, so nothing can be reserved (AWS then answers
 * "... below its minimum value of [10]"). The function named is the one whose reservation crosses
 * the line, in template order.
 */
export const checkReservedConcurrency = (template: Template, accountConcurrency: number): ReservedConcurrencyError[] => {
  const minimum = Math.min(MINIMUM_UNRESERVED_CONCURRENCY, accountConcurrency);
  const reserving = resourcesOfType(template, 'AWS::Lambda::Function')
    .map(([logicalId, fn]) => [logicalId, literalNumber(fn.Properties?.ReservedConcurrentExecutions)] as const)
    .filter((entry): entry is readonly [string, number] => entry[1] !== undefined && entry[1] > 0);
  let total = 0;
  for (const [logicalId, reserved] of reserving) {
    total += reserved;
    if (accountConcurrency - total >= minimum) continue;
    const sum = reserving.reduce((accumulated, [, value]) => accumulated + value, 0);
    return [
      new ReservedConcurrencyError({
        logicalId,
        resourceType: 'AWS::Lambda::Function',
        property: 'ReservedConcurrentExecutions',
        awsMessage: `Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${minimum}].`,
        detail: `The template reserves ${sum} in all (${reserving.map(([id, value]) => `${id}: ${value}`).join(', ')}); an account concurrency quota of ${accountConcurrency} leaves ${accountConcurrency - sum} unreserved. Set the account's quota with --account-concurrency (runtime option accountConcurrency)`,
      }),
    ];
  }
  return [];
};
