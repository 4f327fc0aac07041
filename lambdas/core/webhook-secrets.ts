import { randomBytes } from 'node:crypto';

/**
 * What a webhook's signing secret is bound to when it is sealed: the KMS encryption context. A
 * sealed secret opens only under the same tenant and webhook, so a ciphertext copied to another
 * webhook's record (or another tenant's) never opens.
 */
export interface WebhookSecretContext {
  readonly tenantId: string;
  readonly webhookId: string;
}

/** Seals a new signing secret (the registering function: encrypt only). */
export interface WebhookSecretSealer {
  /** The secret encrypted under the webhook-secrets key, bound to `context`; an opaque string. */
  seal(secret: string, context: WebhookSecretContext): Promise<string>;
}

/** Opens a sealed signing secret when a delivery is signed (the delivering function: decrypt only). */
export interface WebhookSecretOpener {
  /** The plaintext `whsec_` secret; fails when `context` is not the one it was sealed with. */
  open(sealed: string, context: WebhookSecretContext): Promise<string>;
}

/** Bytes of key material in a signing secret (Standard Webhooks: 24 to 64). */
export const WEBHOOK_SECRET_BYTES = 32 as const;

/** A new `whsec_<base64>` signing secret (Standard Webhooks). */
export const newWebhookSecret = (): string => `whsec_${randomBytes(WEBHOOK_SECRET_BYTES).toString('base64')}`;
