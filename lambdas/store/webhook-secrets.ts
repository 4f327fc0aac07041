import type { KMSClient } from '@aws-sdk/client-kms';
import { createHash } from 'node:crypto';
import { WebhookSecretRefusedError, WebhookSecretUnavailableError } from '../core/webhook-secret-errors.ts';
import type { WebhookSecretContext, WebhookSecretOpener, WebhookSecretSealer } from '../core/webhook-secrets.ts';

/** Bounds of the opened-secret cache of one execution environment. */
export const WEBHOOK_SECRET_CACHE = { maxEntries: 256, ttlMs: 60_000 } as const;

/** KMS errors no retry can fix (the rest, throttling and network errors, are retried). */
const PERMANENT_KMS_ERRORS = new Set([
  'AccessDeniedException',
  'InvalidCiphertextException',
  'IncorrectKeyException',
  'NotFoundException',
  'DisabledException',
  'KMSInvalidStateException',
  'InvalidKeyUsageException',
  'ValidationException',
]);

/** Options of {@link KmsWebhookSecrets}. */
export interface KmsWebhookSecretsOptions {
  /** The KMS client. @default one per execution environment (endpoint from `AWS_ENDPOINT_URL_KMS` when set) */
  readonly kms?: KMSClient;
  /** Opened secrets kept at most. @default WEBHOOK_SECRET_CACHE.maxEntries */
  readonly cacheMaxEntries?: number;
  /** How long an opened secret is kept. @default WEBHOOK_SECRET_CACHE.ttlMs */
  readonly cacheTtlMs?: number;
  /** Clock of the cache. @default Date.now */
  readonly now?: () => number;
}

type KmsSdk = Pick<typeof import('@aws-sdk/client-kms'), 'DecryptCommand' | 'EncryptCommand'> & { readonly client: KMSClient };
let sdk: Promise<KmsSdk> | undefined;

/**
 * The KMS SDK, loaded on first use: this module is reachable from every function's shared runtime
 * wiring, and only two functions ever seal or open a secret, so no other function pays the
 * client's module initialisation at cold start (as with Bedrock). A failed load is not cached.
 */
const loadKms = (): Promise<KmsSdk> =>
  (sdk ??= import('@aws-sdk/client-kms').then(
    (module) => ({ client: new module.KMSClient({ maxAttempts: 3 }), DecryptCommand: module.DecryptCommand, EncryptCommand: module.EncryptCommand }),
    (error: unknown) => {
      sdk = undefined;
      throw error;
    },
  ));

/**
 * Webhook signing secrets sealed with AWS KMS: `Encrypt` under the webhook-secrets key with the
 * encryption context `{tenantId, webhookId}` (authenticated, and matched by the IAM conditions of
 * both functions), `Decrypt` with the same context and the key id pinned. A secret is 45 bytes, so
 * KMS encrypts it directly (no data key). Opened secrets are kept in a small bounded cache with a
 * short lifetime, in the delivering function's memory only; nothing here logs a secret.
 */
export class KmsWebhookSecrets implements WebhookSecretSealer, WebhookSecretOpener {
  private readonly kms: KMSClient | undefined;
  private readonly cache = new Map<string, { readonly secret: string; readonly expiresAt: number }>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  public constructor(
    /** The key's ARN (or id): the only key secrets are sealed under and opened with. */
    private readonly keyId: string,
    options: KmsWebhookSecretsOptions = {},
  ) {
    this.kms = options.kms;
    this.maxEntries = options.cacheMaxEntries ?? WEBHOOK_SECRET_CACHE.maxEntries;
    this.ttlMs = options.cacheTtlMs ?? WEBHOOK_SECRET_CACHE.ttlMs;
    this.now = options.now ?? Date.now;
  }

  /** The SDK with this instance's client (an injected one, else the environment's shared one). */
  private async sdk(): Promise<KmsSdk> {
    const loaded = await loadKms();
    return this.kms ? { ...loaded, client: this.kms } : loaded;
  }

  public async seal(secret: string, context: WebhookSecretContext): Promise<string> {
    try {
      const { client, EncryptCommand } = await this.sdk();
      const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId: this.keyId, Plaintext: Buffer.from(secret, 'utf8'), EncryptionContext: { ...encryptionContextOf(context) } }));
      if (!CiphertextBlob) throw new Error('KMS returned no ciphertext');
      return Buffer.from(CiphertextBlob).toString('base64');
    } catch (error) {
      throw failure(error, context.webhookId, 'seal');
    }
  }

  public async open(sealed: string, context: WebhookSecretContext): Promise<string> {
    const key = createHash('sha256').update(`${context.tenantId}\0${context.webhookId}\0${sealed}`).digest('base64');
    const now = this.now();
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > now) return cached.secret;
    if (cached) this.cache.delete(key);
    let secret: string;
    try {
      const { client, DecryptCommand } = await this.sdk();
      const { Plaintext } = await client.send(
        new DecryptCommand({ KeyId: this.keyId, CiphertextBlob: Buffer.from(sealed, 'base64'), EncryptionContext: { ...encryptionContextOf(context) } }),
      );
      if (!Plaintext) throw new Error('KMS returned no plaintext');
      secret = Buffer.from(Plaintext).toString('utf8');
    } catch (error) {
      throw failure(error, context.webhookId, 'open');
    }
    while (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    if (this.maxEntries > 0) this.cache.set(key, { secret, expiresAt: now + this.ttlMs });
    return secret;
  }
}

/** The KMS encryption context of a webhook's secret (both keys always present: the IAM conditions require them). */
export const encryptionContextOf = (context: WebhookSecretContext): Readonly<Record<'tenantId' | 'webhookId', string>> => ({ tenantId: context.tenantId, webhookId: context.webhookId });

/**
 * A KMS failure as a domain error: permanent ones are not retried. The message (stored on the
 * delivery task, which the tenant reads) names only KMS's error code: never data, nor the key,
 * role or account ARNs of KMS's own message, which stays in `cause`.
 */
const failure = (error: unknown, webhookId: string, operation: 'seal' | 'open'): Error => {
  const name = (error as { name?: string }).name ?? 'Error';
  const message = (error as { message?: unknown }).message;
  // The SDK says 'UnknownError' when KMS sends no message (InvalidCiphertextException has none).
  const options = { cause: error, ...(typeof message === 'string' && message && message !== 'UnknownError' ? { internalDetail: `${name}: ${message}` } : {}) };
  return PERMANENT_KMS_ERRORS.has(name) ? new WebhookSecretRefusedError(webhookId, operation, name, options) : new WebhookSecretUnavailableError(webhookId, operation, name, options);
};
