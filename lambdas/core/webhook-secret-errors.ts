/**
 * Errors of sealing and opening webhook signing secrets. The task runner retries an error unless
 * it carries `retryable = false`; the error's name becomes the delivery task's `error.code`.
 * Messages name the webhook and the key service's error, never the secret nor its ciphertext.
 */
export class WebhookSecretError extends Error {
  /** Whether another attempt may succeed (a throttled or unreachable key service). */
  public readonly retryable: boolean;
  /** The key service's own message, for the logs only (it names key and role ARNs; never a secret). */
  public readonly internalDetail: string | undefined;
  public constructor(message: string, options: { cause?: unknown; retryable: boolean; internalDetail?: string }) {
    super(message, { cause: options.cause });
    this.name = 'WebhookSecretError';
    this.retryable = options.retryable;
    this.internalDetail = options.internalDetail;
  }
}

/**
 * The key service refused for good: access denied, a ciphertext that does not open under this
 * webhook's context, a disabled or deleted key. Not retried (the delivery is parked in the DLQ).
 */
export class WebhookSecretRefusedError extends WebhookSecretError {
  public constructor(webhookId: string, operation: 'seal' | 'open', reason: string, options?: { cause?: unknown; internalDetail?: string }) {
    super(`Could not ${operation} the signing secret of webhook ${webhookId}: ${reason}`, { ...options, retryable: false });
    this.name = 'WebhookSecretRefusedError';
  }
}

/** The key service could not be reached or throttled the call; retried with backoff. */
export class WebhookSecretUnavailableError extends WebhookSecretError {
  public constructor(webhookId: string, operation: 'seal' | 'open', reason: string, options?: { cause?: unknown; internalDetail?: string }) {
    super(`Could not ${operation} the signing secret of webhook ${webhookId} now: ${reason}`, { ...options, retryable: true });
    this.name = 'WebhookSecretUnavailableError';
  }
}

/**
 * The webhook was registered before secrets were sealed: its stored record holds no ciphertext and
 * its plaintext is never used. Not retried; the tenant registers the endpoint again.
 */
export class WebhookSecretNotSealedError extends WebhookSecretError {
  public constructor(webhookId: string) {
    super(`Webhook ${webhookId} was registered before signing secrets were sealed; register it again to receive deliveries.`, { retryable: false });
    this.name = 'WebhookSecretNotSealedError';
  }
}
