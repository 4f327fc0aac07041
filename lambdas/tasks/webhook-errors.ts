import type { RefusedRange } from '../core/address-policy.ts';

/**
 * A webhook delivery attempt that did not succeed. The task runner retries an error unless it
 * carries `retryable = false`; the error's name becomes the delivery task's `error.code`.
 */
export class WebhookError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebhookError';
  }
}

/** The endpoint failed (5xx, 408, 429) or could not be reached; retried with backoff. */
export class WebhookDeliveryError extends WebhookError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebhookDeliveryError';
  }
}

/** The attempt ran out of its time limit (DNS, connect, TLS, request and response headers in all); retried. */
export class WebhookTimeoutError extends WebhookDeliveryError {
  public constructor(limitMs: number) {
    super(`The endpoint did not answer within ${limitMs} ms.`);
    this.name = 'WebhookTimeoutError';
  }
}

/** The endpoint refused the delivery for good (4xx other than 408/429, or a redirect). Not retried. */
export class WebhookRejectedError extends WebhookError {
  public readonly retryable = false;
  public constructor(status: number) {
    super(`The endpoint rejected the delivery with ${status}.`);
    this.name = 'WebhookRejectedError';
  }
}

/**
 * The destination is not allowed: its host resolves to (or is) an address that is not globally
 * reachable, or the scheme is not HTTPS. Not retried: the check would refuse it again.
 */
export class WebhookDestinationRefusedError extends WebhookError {
  public readonly retryable = false;
  public constructor(detail: string, options?: { cause?: unknown }) {
    super(`Delivery refused: ${detail}`, options);
    this.name = 'WebhookDestinationRefusedError';
  }

  /** The host resolved to a refused address. */
  public static forAddress(host: string, address: string, refused: RefusedRange): WebhookDestinationRefusedError {
    return new WebhookDestinationRefusedError(
      host === address ? `${address} is a ${refused.kind} address (${refused.range}).` : `${host} resolves to ${address}, a ${refused.kind} address (${refused.range}).`,
    );
  }
}

/** The webhook was deleted after the event: the delivery is dropped. Not retried. */
export class WebhookGoneError extends WebhookError {
  public readonly retryable = false;
  public constructor(webhookId: string) {
    super(`Webhook ${webhookId} no longer exists; the delivery is dropped.`);
    this.name = 'WebhookGoneError';
  }
}

/** The worker wired no webhook store (a configuration error). Not retried. */
export class WebhookNotConfiguredError extends WebhookError {
  public readonly retryable = false;
  public constructor() {
    super('Webhook deliveries are not configured on this worker.');
    this.name = 'WebhookNotConfiguredError';
  }
}
