/**
 * Errors of the CDK app: a configuration (props or `-c` context) that cannot be deployed fails
 * synthesis with one of these, naming the setting and what is wrong with it.
 */

/** Base class: the stack configuration is invalid. */
export class StackConfigurationError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StackConfigurationError';
  }
}

/** The stack name (context `stackName`) breaks CloudFormation's stack-name rules. */
export class InvalidStackNameError extends StackConfigurationError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidStackNameError';
  }
}

/** An ARN setting (a secret or KMS key ARN) is malformed or not the kind of ARN it must be. */
export class InvalidArnError extends StackConfigurationError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidArnError';
  }
}

/** A Secrets Manager ARN lacks the `-XXXXXX` suffix of a complete ARN (a partial ARN). */
export class PartialSecretArnError extends InvalidArnError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PartialSecretArnError';
  }
}

/** An e-mail setting (context `alarmEmail`) is not a plain e-mail address. */
export class InvalidEmailAddressError extends StackConfigurationError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidEmailAddressError';
  }
}
