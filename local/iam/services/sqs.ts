import { randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT, localArn } from '../../template.ts';
import type { CallAuthorization, HttpAnswer, RequiredPermission } from '../caller.ts';

/** Batch operations are authorized as the action of one entry. */
const BATCH_ACTIONS: Record<string, string> = {
  SendMessageBatch: 'sqs:SendMessage',
  DeleteMessageBatch: 'sqs:DeleteMessage',
  ChangeMessageVisibilityBatch: 'sqs:ChangeMessageVisibility',
};

/** A queue URL (`http://host/<account>/<name>`) as the queue's ARN. */
export const queueArnOfUrl = (queueUrl: string): string => {
  const [account, name] = new URL(queueUrl, 'http://local').pathname.split('/').filter(Boolean).slice(-2);
  return `arn:aws:sqs:us-east-1:${account ?? LOCAL_ACCOUNT}:${name ?? ''}`;
};

/**
 * The permissions an SQS call needs (`AmazonSQS.<Operation>` over JSON, or the query protocol's
 * `Action`, with its input as JSON): `sqs:<Operation>` on the queue its `QueueUrl` (or
 * `QueueName`) names; batch operations as their single-entry action; ListQueues on `*`.
 */
export const sqsPermissions = (operation: string, input: Record<string, unknown>): RequiredPermission[] => {
  const action = BATCH_ACTIONS[operation] ?? `sqs:${operation}`;
  if (typeof input.QueueUrl === 'string') return [{ action, resource: queueArnOfUrl(input.QueueUrl) }];
  if (typeof input.QueueName === 'string') {
    const account = typeof input.QueueOwnerAWSAccountId === 'string' ? input.QueueOwnerAWSAccountId : LOCAL_ACCOUNT;
    return [{ action, resource: localArn('sqs', input.QueueName).replace(`:${LOCAL_ACCOUNT}:`, `:${account}:`) }];
  }
  if (typeof input.SourceArn === 'string') return [{ action, resource: input.SourceArn }];
  if (typeof input.TaskHandle === 'string') return [{ action, resource: '*' }];
  return [{ action, resource: '*' }];
};

/**
 * SQS's refusal over the JSON protocol (the query front turns it into its XML form from the
 * `x-amzn-query-error` header): `403 AccessDenied`, with the action lower-cased in the message as
 * SQS writes it; `InvalidClientTokenId` for a key never issued; `MissingAuthenticationToken` unsigned.
 */
export const sqsRefusal = (outcome: Exclude<CallAuthorization, { allowed: true }>): HttpAnswer => {
  const answer = (status: number, queryCode: string, type: string, message: string): HttpAnswer => ({
    status,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': `${queryCode};Sender`, 'x-amzn-requestid': randomUUID() },
    body: JSON.stringify({ __type: `com.amazon.coral.service#${type}`, message }),
  });
  if (outcome.why === 'denied') {
    const { action } = outcome.permission;
    return answer(403, 'AccessDenied', 'AccessDeniedException', outcome.decision.message.split(action).join(action.toLowerCase()));
  }
  if (outcome.why === 'unrecognized') return answer(403, 'InvalidClientTokenId', 'UnrecognizedClientException', 'The security token included in the request is invalid.');
  return answer(403, 'MissingAuthenticationToken', 'MissingAuthenticationTokenException', 'Request is missing Authentication Token');
};
