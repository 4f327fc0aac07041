/**
 * Errors of the local IAM layer. Each names the template resource (logical id) and what about it
 * the local runtime cannot enforce, so a start-up failure says what to change.
 */
export class IamError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IamError';
  }
}

/** A role attaches an AWS managed policy the local catalogue does not know: enforcing it would be a guess. */
export class UnknownManagedPolicyError extends IamError {
  public constructor(
    public readonly logicalId: string,
    public readonly policyArn: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${logicalId}: managed policy ${policyArn} is not in the local IAM catalogue (local/iam/managed-policies.ts); add the actions it grants there, or run with --iam off`,
      options,
    );
    this.name = 'UnknownManagedPolicyError';
  }
}

/** A policy names an action that does not exist in AWS (a typo grants nothing on AWS either). */
export class UnknownIamActionError extends IamError {
  public constructor(
    public readonly logicalId: string,
    public readonly action: string,
    options?: { cause?: unknown },
  ) {
    super(`${logicalId}: IAM action ${action} does not exist (no AWS service action matches it)`, options);
    this.name = 'UnknownIamActionError';
  }
}

/** A policy or role feature the local evaluator does not implement (a permissions boundary, say). */
export class UnsupportedIamFeatureError extends IamError {
  public constructor(
    public readonly logicalId: string,
    public readonly feature: string,
    options?: { cause?: unknown },
  ) {
    super(`${logicalId}: ${feature} is not supported by the local IAM enforcement; run with --iam off to skip it`, options);
    this.name = 'UnsupportedIamFeatureError';
  }
}

/** A function's role cannot be determined from the template (its `Role` is not a role of this stack). */
export class UnknownRoleError extends IamError {
  public constructor(
    public readonly logicalId: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${logicalId}: ${detail}`, options);
    this.name = 'UnknownRoleError';
  }
}
