import type { Template } from '../template.ts';
import { checkAccessLogFormats } from './access-log-format.ts';
import { checkCloudWatchRole } from './cloudwatch-role.ts';
import { PreflightFailedError, type DeployRuleError } from './errors.ts';
import { checkEventSourceMappings } from './event-source-mapping.ts';
import { checkFunctionLimits } from './function-limits.ts';
import { checkReservedConcurrency } from './reserved-concurrency.ts';

/** What the deploy preflight assumes about the AWS account the template would be deployed to. */
export interface PreflightOptions {
  /**
   * The account's Lambda concurrency quota (ConcurrentExecutions) that reserved concurrency is
   * checked against. @default 1000 (Lambda's default quota)
   */
  readonly accountConcurrency?: number;
  /**
   * The account (in the deployment region) already has API Gateway's CloudWatch Logs role set, so
   * a WebSocket or REST stage may log without the template setting it. @default false
   */
  readonly apiGatewayCloudWatchRoleConfigured?: boolean;
}

/** Defaults of {@link PreflightOptions}. */
export const PREFLIGHT_DEFAULTS = { accountConcurrency: 1000, apiGatewayCloudWatchRoleConfigured: false } as const;

/**
 * Refuses, before anything starts, a template AWS would refuse at deploy time: API Gateway v2
 * access-log formats (variables per API type, the request id), the API Gateway account's
 * CloudWatch role for logging WebSocket/REST stages, reserved concurrency against the account
 * quota, SQS event source mappings (maximum concurrency, batch size and window, queue visibility
 * timeout against the function timeout) and Lambda timeout and memory ranges.
 *
 * @throws the {@link DeployRuleError} subclass of the one violation, or a {@link PreflightFailedError} listing several
 * @throws RangeError when `accountConcurrency` is not a positive integer
 *
 * @example
 * ```ts
 * checkDeployPreflight(template.template, { accountConcurrency: 50 });
 * ```
 */
export const checkDeployPreflight = (template: Template, options: PreflightOptions = {}): void => {
  const accountConcurrency = options.accountConcurrency ?? PREFLIGHT_DEFAULTS.accountConcurrency;
  if (!Number.isInteger(accountConcurrency) || accountConcurrency < 1) throw new RangeError(`accountConcurrency must be a positive integer, got ${accountConcurrency}`);
  const violations: DeployRuleError[] = [
    ...checkAccessLogFormats(template),
    ...checkCloudWatchRole(template, options.apiGatewayCloudWatchRoleConfigured ?? PREFLIGHT_DEFAULTS.apiGatewayCloudWatchRoleConfigured),
    ...checkReservedConcurrency(template, accountConcurrency),
    ...checkEventSourceMappings(template),
    ...checkFunctionLimits(template),
  ];
  if (violations.length === 1) throw violations[0]!;
  if (violations.length > 1) throw new PreflightFailedError(violations);
};
