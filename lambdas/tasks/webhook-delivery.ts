import * as z from 'zod/mini';
import { signWebhook } from '../core/webhooks.ts';
import { defineTask } from './definition.ts';

const DeliveryInput = z.strictObject({
  url: z.string(),
  secret: z.string(),
  messageId: z.string(),
  payload: z.strictObject({ type: z.string(), timestamp: z.string(), data: z.record(z.string(), z.unknown()) }),
});

/** The endpoint refused the delivery for good (4xx other than 408/429). Not retried. */
export class WebhookRejectedError extends Error {
  public readonly retryable = false;
  public constructor(status: number) {
    super(`The endpoint rejected the delivery with ${status}.`);
    this.name = 'WebhookRejectedError';
  }
}

/** The endpoint failed or timed out; retried with backoff. */
export class WebhookDeliveryError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebhookDeliveryError';
  }
}

/**
 * `webhook.delivery`: one signed POST of one lifecycle event to one endpoint, per the Standard
 * Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`). 2xx succeeds; 408, 429,
 * 5xx, timeouts and network errors are retried with exponential backoff (up to 8 attempts); other
 * 4xx fail at once. The `webhook-id` is the same on every attempt, so receivers deduplicate.
 */
export const webhookDelivery = defineTask<z.infer<typeof DeliveryInput>, unknown, { status: number; attempts: number }>({
  type: 'webhook.delivery',
  class: 'integrations',
  input: DeliveryInput,
  timeoutSeconds: 15,
  retry: { maxAttempts: 8 },
  ordering: 'none',
  sensitiveFields: ['input.secret'],
  run: async (input, ctx) => {
    const body = JSON.stringify(input.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    let response: Response;
    try {
      response = await fetch(input.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Offload-Webhooks/1',
          'webhook-id': input.messageId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(input.secret, input.messageId, timestamp, body),
        },
        body,
      });
      await response.arrayBuffer().catch(() => undefined);
    } catch (error) {
      throw new WebhookDeliveryError(`Delivery failed: ${(error as Error).message}`, { cause: error });
    }
    if (response.status >= 200 && response.status < 300) return { status: response.status, attempts: ctx.attempt };
    if (response.status === 408 || response.status === 429 || response.status >= 500) throw new WebhookDeliveryError(`The endpoint answered ${response.status}.`);
    throw new WebhookRejectedError(response.status);
  },
});
