import type { LocalTemplate } from '../template.ts';
import { IamError } from './errors.ts';
import type { FunctionIdentity, IamPolicyStore } from './policy-store.ts';
import type { IamAuthorizer } from './service-hops.ts';

/**
 * What Lambda's SQS pollers call as the function's execution role: Lambda refuses to create an
 * event source mapping unless the role (or the queue's policy) allows all three on the queue.
 */
export const SQS_EVENT_SOURCE_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'] as const;

/**
 * Lambda refused an SQS event source mapping at deploy time (`InvalidParameterValueException`):
 * the function's execution role may not call one of {@link SQS_EVENT_SOURCE_ACTIONS} on the queue.
 */
export class EventSourceMappingPermissionError extends IamError {
  public constructor(
    /** The mapping's logical id. */
    public readonly logicalId: string,
    /** The first action the role may not call, e.g. `sqs:ReceiveMessage`. */
    public readonly action: string,
    options?: { cause?: unknown },
  ) {
    super(`${logicalId}: InvalidParameterValueException: The provided execution role does not have permissions to call ${action.split(':')[1]} on SQS`, options);
    this.name = 'EventSourceMappingPermissionError';
  }
}

/** One SQS event source mapping, as the runtime reads it from the template. */
export interface SqsEventSourceMapping {
  readonly logicalId: string;
  readonly queueArn: string;
  /** The function's execution role and the session its pollers call SQS as. */
  readonly identity: FunctionIdentity;
}

/**
 * Checks a mapping as Lambda does when it creates it: the execution role must be allowed
 * `sqs:ReceiveMessage`, `sqs:DeleteMessage` and `sqs:GetQueueAttributes` on the queue. Throws
 * {@link EventSourceMappingPermissionError} when the enforcer refuses (strict mode); in soft mode
 * the enforcer logs the would-be denial and the mapping is created.
 */
export const checkSqsEventSourceRole = (iam: IamAuthorizer, mapping: SqsEventSourceMapping): void => {
  for (const action of SQS_EVENT_SOURCE_ACTIONS) {
    const decision = iam.authorize({ principal: { kind: 'role', ...mapping.identity }, action, resource: mapping.queueArn });
    if (!decision.allowed) throw new EventSourceMappingPermissionError(mapping.logicalId, action, { cause: new Error(decision.message) });
  }
};

/**
 * The template's SQS event source mappings with the role each function's pollers run as. Call
 * once the queues exist (their ARNs come from the SQS engine). Mappings the runtime cannot run
 * (not SQS, not a function of the stack) are left out: the runtime refuses those itself.
 */
export const sqsEventSourceMappings = (template: LocalTemplate, store: IamPolicyStore): SqsEventSourceMapping[] =>
  template.ofType('AWS::Lambda::EventSourceMapping').flatMap(([logicalId, resource]) => {
    const properties = resource.Properties ?? {};
    const functionId = (properties.FunctionName as { Ref?: string } | undefined)?.Ref;
    const queueArn = template.resolveString(properties.EventSourceArn, `${logicalId}.EventSourceArn`);
    if (!functionId || template.template.Resources[functionId]?.Type !== 'AWS::Lambda::Function' || !queueArn.startsWith('arn:aws:sqs:')) return [];
    return [{ logicalId, queueArn, identity: store.roleOfFunction(functionId) }];
  });
