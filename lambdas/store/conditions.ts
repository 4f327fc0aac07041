import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';

/** Whether a DynamoDB call failed its condition (a lost race or a state check), not an outage. */
export const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException || (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';

/**
 * The cancellation reason codes of a cancelled transaction, one per action in request order
 * (`None`, `ConditionalCheckFailed`, `TransactionConflict`, ...); undefined for any other error.
 */
export const cancellationCodes = (error: unknown): string[] | undefined => {
  const cancelled = error instanceof TransactionCanceledException || (error as { name?: string } | null)?.name === 'TransactionCanceledException';
  if (!cancelled) return undefined;
  return ((error as TransactionCanceledException).CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
};
