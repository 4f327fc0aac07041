import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

/** Whether a DynamoDB call failed its condition (a lost race or a state check), not an outage. */
export const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException || (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
