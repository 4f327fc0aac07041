import * as z from 'zod/mini';
import { signWebhook, type WebhookStore } from '../core/webhooks.ts';
import { WebhookSecretNotSealedError } from '../core/webhook-secret-errors.ts';
import type { WebhookSecretOpener } from '../core/webhook-secrets.ts';
import { defineTask } from './definition.ts';
import { WebhookDeliveryError, WebhookGoneError, WebhookNotConfiguredError, WebhookRejectedError } from './webhook-errors.ts';
import { postWebhook, type PostOptions } from './webhook-post.ts';

/** A reference to the endpoint, never its secret (see {@link DeliveryInput} in core/webhooks.ts). */
const DeliveryInput = z.strictObject({
  webhookId: z.string(),
  messageId: z.string(),
  payload: z.strictObject({ type: z.string(), timestamp: z.string(), data: z.record(z.string(), z.unknown()) }),
});

/** What a delivery needs besides its input. */
export interface WebhookDeliveryDeps extends Pick<PostOptions, 'resolve' | 'timeoutMs' | 'maxResponseBytes'> {
  /** Where the webhook (URL and sealed secret) is read at delivery time. */
  readonly webhooks: Pick<WebhookStore, 'get'>;
  /** Opens the sealed secret when the delivery is signed (KMS Decrypt, bound to tenant and webhook). */
  readonly secrets: WebhookSecretOpener;
  /** Loopback receivers allowed (`WEBHOOK_ALLOW_LOOPBACK=true`, set only by the local runtime). */
  readonly allowLoopback: boolean;
}

let deps: (() => WebhookDeliveryDeps) | undefined;

/** Wires deliveries to the webhook store (the integrations worker does; tests pass their own). */
export const setWebhookDeliveryDeps = (factory: () => WebhookDeliveryDeps): void => {
  deps = factory;
};

/**
 * `webhook.delivery`: one signed POST of one lifecycle event to one endpoint, per the Standard
 * Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`). The webhook is read
 * when the delivery runs, so its secret is never copied into the task; a deleted webhook drops the
 * delivery. The secret is stored sealed and opened here, just before signing (a key service
 * refusal fails the delivery for good, an outage retries it; a webhook registered before secrets
 * were sealed is refused with WebhookSecretNotSealedError). The destination is resolved once and every address checked (see postWebhook); a
 * refused one fails the delivery for good. 2xx succeeds; 408, 429, 5xx, timeouts and network
 * errors are retried with exponential backoff (up to 8 attempts); other 4xx fail at once.
 * The `webhook-id` is the same on every attempt, so receivers deduplicate.
 */
export const webhookDelivery = defineTask<z.infer<typeof DeliveryInput>, unknown, { status: number; attempts: number }>({
  type: 'webhook.delivery',
  class: 'integrations',
  input: DeliveryInput,
  timeoutSeconds: 15,
  retry: { maxAttempts: 8 },
  ordering: 'none',
  sensitiveFields: [],
  run: async (input, ctx) => {
    if (!deps) throw new WebhookNotConfiguredError();
    const { webhooks, secrets, allowLoopback, ...limits } = deps();
    const webhook = await webhooks.get(ctx.tenantId, input.webhookId);
    if (!webhook) throw new WebhookGoneError(input.webhookId);
    if (webhook.sealedSecret === undefined) throw new WebhookSecretNotSealedError(webhook.webhookId);
    const secret = await secrets.open(webhook.sealedSecret, { tenantId: webhook.tenantId, webhookId: webhook.webhookId });
    const body = JSON.stringify(input.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    const response = await postWebhook(
      new URL(webhook.url),
      {
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Offload-Webhooks/1',
          'webhook-id': input.messageId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(secret, input.messageId, timestamp, body),
        },
        body,
      },
      { signal: ctx.signal, allowLoopback, ...limits },
    );
    if (response.truncated) ctx.logger.info('webhook response body cut off', { bytesRead: response.bytesRead, status: response.status });
    if (response.status >= 200 && response.status < 300) return { status: response.status, attempts: ctx.attempt };
    if (response.status === 408 || response.status === 429 || response.status >= 500) throw new WebhookDeliveryError(`The endpoint answered ${response.status}.`);
    throw new WebhookRejectedError(response.status);
  },
});
