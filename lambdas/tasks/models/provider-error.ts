/**
 * What a tenant may read of a model provider's failure: one of a fixed set of messages. A
 * provider's own text (Bedrock's `AccessDeniedException` names the role ARN and account id, an
 * OpenAI-compatible server may echo a key prefix or an organisation id) is kept for the logs only.
 */
export const ProviderFailure = {
  accessDenied: 'model provider refused the request (access denied)',
  throttled: 'model provider throttled',
  notAvailable: 'model not available',
  rejected: 'model provider rejected the request',
  unavailable: 'model provider unavailable',
} as const;

export type ProviderFailureKind = keyof typeof ProviderFailure;

/** Bedrock (AWS SDK) exception names and the failure each one is. */
const AWS_EXCEPTIONS: Readonly<Record<string, ProviderFailureKind>> = {
  AccessDeniedException: 'accessDenied',
  UnrecognizedClientException: 'accessDenied',
  ExpiredTokenException: 'accessDenied',
  ThrottlingException: 'throttled',
  ServiceQuotaExceededException: 'throttled',
  TooManyRequestsException: 'throttled',
  ResourceNotFoundException: 'notAvailable',
  ModelNotReadyException: 'notAvailable',
  ModelTimeoutException: 'unavailable',
  ValidationException: 'rejected',
  ModelErrorException: 'unavailable',
  ModelStreamErrorException: 'unavailable',
  ServiceUnavailableException: 'unavailable',
  InternalServerException: 'unavailable',
};

/**
 * Classifies a provider failure by HTTP status and, for AWS, the exception name.
 *
 * @example
 * ```ts
 * providerFailureOf(403, 'AccessDeniedException'); // 'accessDenied'
 * providerFailureOf(429);                          // 'throttled'
 * ```
 */
export const providerFailureOf = (status: number, exceptionName?: string): ProviderFailureKind => {
  const named = exceptionName === undefined ? undefined : AWS_EXCEPTIONS[exceptionName];
  if (named) return named;
  if (status === 401 || status === 403) return 'accessDenied';
  if (status === 429) return 'throttled';
  if (status === 404) return 'notAvailable';
  if (status >= 500) return 'unavailable';
  return 'rejected';
};

/**
 * The provider failed. Its `message` is one of {@link ProviderFailure} (it becomes the task's
 * `error.message`, which the tenant reads); the provider's raw answer is `internalDetail`, for the
 * worker's log only. 429 and 5xx are retryable; other 4xx are not.
 */
export class ModelProviderError extends Error {
  public readonly retryable: boolean;
  /** Which safe message this is. */
  public readonly kind: ProviderFailureKind;
  /** The provider's own error text (may hold account ids, ARNs, role names): log it, never show it. */
  public readonly internalDetail: string;

  public constructor(
    public readonly status: number,
    detail: string,
    options: { exceptionName?: string; cause?: unknown } = {},
  ) {
    const kind = providerFailureOf(status, options.exceptionName);
    super(ProviderFailure[kind], options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ModelProviderError';
    this.kind = kind;
    this.internalDetail = `${options.exceptionName ? `${options.exceptionName} ` : ''}${status}: ${detail.slice(0, 1000)}`;
    this.retryable = status === 429 || status >= 500;
  }
}
