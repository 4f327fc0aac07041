import type { Context } from 'aws-lambda';

/**
 * A fake Lambda context, enough for middy and the Powertools logger middleware. Each call gets a
 * fresh request id; `remainingMs` is what `getRemainingTimeInMillis` answers.
 */
export const fakeContext = (overrides: Partial<Context> & { remainingMs?: number } = {}): Context => {
  const { remainingMs = 10_000, ...rest } = overrides;
  const functionName = rest.functionName ?? 'offload-test-function';
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: `req-${Math.random().toString(36).slice(2, 10)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/01/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
    ...rest,
  };
};
