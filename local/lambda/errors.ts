/** A failed Lambda invocation, shaped like the Lambda service reports it. */
export class LambdaInvocationError extends Error {
  public constructor(
    public readonly functionName: string,
    public readonly errorType: string,
    message: string,
    public readonly trace: readonly string[] = [],
  ) {
    super(`${functionName}: ${errorType}: ${message}`);
    this.name = 'LambdaInvocationError';
  }
}

/** The function's concurrency limit was reached (Lambda's TooManyRequestsException). */
export class LambdaThrottledError extends Error {
  public constructor(public readonly functionName: string) {
    super(`${functionName}: Rate Exceeded (concurrency limit reached)`);
    this.name = 'TooManyRequestsException';
  }
}
