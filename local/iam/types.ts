/**
 * IAM policy documents and authorization requests as the local runtime evaluates them
 * (see local/iam/evaluate.ts). The shapes follow the IAM policy grammar.
 */

/** A condition block: operator → condition key → value(s). */
export type IamCondition = Record<string, Record<string, string | string[] | boolean | number | (string | number | boolean)[]>>;

/** One statement of a policy document. */
export interface IamStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: '*' | Record<string, string | string[]>;
  NotPrincipal?: Record<string, string | string[]>;
  Condition?: IamCondition;
}

/** A policy document. */
export interface IamPolicy {
  Version?: string;
  Statement: IamStatement | IamStatement[];
  /** Where the document came from (a template logical id or a managed policy ARN), for messages. */
  readonly source?: string;
}

/** Who makes a call. */
export type IamPrincipal =
  /** A function's execution role, as the assumed-role session the function's credentials belong to. */
  | { kind: 'role'; roleArn: string; sessionArn: string }
  /** An AWS service acting for the stack, e.g. `events.amazonaws.com` delivering to a queue. */
  | { kind: 'service'; service: string }
  /** The runtime itself, tests, the CLI and the dev tenant: the account's administrator, always allowed. */
  | { kind: 'admin' };

/** One authorization question: may `principal` perform `action` on `resource`? */
export interface IamRequest {
  principal: IamPrincipal;
  /** `service:Operation`, e.g. `sqs:SendMessage`. */
  action: string;
  /** The resource ARN (or `*` for actions without a resource). */
  resource: string;
  /** Request condition keys, e.g. `aws:SourceArn`; global keys the runtime knows are added by the evaluator. */
  context?: Record<string, string | string[]>;
}

/** Why a request was denied. */
export type IamDenialReason =
  /** No identity policy (and no resource policy) allows it. */
  | 'no-identity-policy'
  /** A service principal, which has no identity policies, is not allowed by the resource's policy. */
  | 'no-resource-policy'
  /** An identity policy denies it explicitly. */
  | 'explicit-identity'
  /** The resource's policy denies it explicitly. */
  | 'explicit-resource';

/** The answer to an {@link IamRequest}. */
export type IamDecision =
  | { allowed: true }
  | {
      allowed: false;
      kind: 'explicit' | 'implicit';
      /** AWS-shaped: `User: <session arn> is not authorized to perform: <action> on resource: <arn> because …`. */
      message: string;
      reason?: IamDenialReason;
      /** The caller as AWS names it in messages (the assumed-role session ARN, or the service). */
      caller?: string;
      /** Condition operators or keys the local evaluator does not support and treated fail-closed. */
      unsupported?: string[];
    };
