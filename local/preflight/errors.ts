/**
 * Errors of the deploy preflight: what the local runtime refuses when a template (or a cloud
 * assembly) loads, before anything starts, because AWS would refuse it at deploy time.
 */
export class PreflightError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PreflightError';
  }
}

/** The directory is not a cloud assembly the runtime can run (no manifest, no stack, several stacks…). */
export class CloudAssemblyError extends PreflightError {
  public constructor(
    /** The assembly directory. */
    public readonly directory: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Cannot run the cloud assembly in ${directory}: ${detail}`, options);
    this.name = 'CloudAssemblyError';
  }
}

/** Where a rule was broken and what AWS answers. */
export interface RuleViolation {
  /** Logical id of the resource AWS would fail. */
  readonly logicalId: string;
  /** Its CloudFormation type. */
  readonly resourceType: string;
  /** The property (dotted path) at fault. */
  readonly property: string;
  /** AWS's own error text where known, otherwise the documented constraint. */
  readonly awsMessage: string;
  /** What in the template makes AWS answer so, and where AWS documents the rule. */
  readonly detail?: string;
}

/**
 * A resource breaks a rule AWS enforces at deploy time. The message names the resource, the
 * property and AWS's error text; the narrow subclasses say which rule.
 */
export class DeployRuleError extends PreflightError {
  public readonly logicalId: string;
  public readonly resourceType: string;
  public readonly property: string;
  public readonly awsMessage: string;

  public constructor(violation: RuleViolation, options?: { cause?: unknown }) {
    super(
      `Deploy preflight: AWS would refuse ${violation.logicalId} (${violation.resourceType}), property ${violation.property}: "${violation.awsMessage}"${violation.detail ? `. ${violation.detail}` : ''}`,
      options,
    );
    this.name = 'DeployRuleError';
    this.logicalId = violation.logicalId;
    this.resourceType = violation.resourceType;
    this.property = violation.property;
    this.awsMessage = violation.awsMessage;
  }
}

/** An API Gateway stage's access-log format uses a `$context` variable its API type does not support, or lacks the request id. */
export class AccessLogFormatError extends DeployRuleError {
  public constructor(violation: RuleViolation, options?: { cause?: unknown }) {
    super(violation, options);
    this.name = 'AccessLogFormatError';
  }
}

/** A WebSocket or REST stage logs to CloudWatch but the account has (or may not yet have) no API Gateway CloudWatch role. */
export class CloudWatchRoleError extends DeployRuleError {
  public constructor(violation: RuleViolation, options?: { cause?: unknown }) {
    super(violation, options);
    this.name = 'CloudWatchRoleError';
  }
}

/** The functions' reserved concurrency leaves the account less unreserved concurrency than Lambda's minimum. */
export class ReservedConcurrencyError extends DeployRuleError {
  public constructor(violation: RuleViolation, options?: { cause?: unknown }) {
    super(violation, options);
    this.name = 'ReservedConcurrencyError';
  }
}

/** A Lambda event source mapping Lambda would not create (concurrency, batch size, queue visibility timeout). */
export class EventSourceMappingError extends DeployRuleError {
  public constructor(violation: RuleViolation, options?: { cause?: unknown }) {
    super(violation, options);
    this.name = 'EventSourceMappingError';
  }
}

/** A Lambda function setting outside the range Lambda accepts (timeout, memory). */
export class FunctionConfigurationError extends DeployRuleError {
  public constructor(violation: RuleViolation, options?: { cause?: unknown }) {
    super(violation, options);
    this.name = 'FunctionConfigurationError';
  }
}

/** Several resources break deploy rules; {@link violations} holds one error per violation. */
export class PreflightFailedError extends PreflightError {
  public constructor(public readonly violations: readonly DeployRuleError[]) {
    super(`Deploy preflight: AWS would refuse this template (${violations.length} problems):\n${violations.map((violation) => `  - ${violation.message.replace(/^Deploy preflight: /, '')}`).join('\n')}`, {
      cause: violations[0],
    });
    this.name = 'PreflightFailedError';
  }
}
