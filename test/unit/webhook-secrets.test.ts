import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookSecretRefusedError, WebhookSecretUnavailableError } from '../../lambdas/core/webhook-secret-errors.ts';
import { newWebhookSecret } from '../../lambdas/core/webhook-secrets.ts';
import { KmsWebhookSecrets } from '../../lambdas/store/webhook-secrets.ts';
import { startTestKms, type TestKms } from '../support/local-kms.ts';

/** KMS calls of one operation so far. */
const callsOf = (kms: TestKms, operation: string): number => kms.counter.snapshot()[`kms:${operation}`] ?? 0;

describe('KmsWebhookSecrets: signing secrets sealed by KMS, bound to tenant and webhook', () => {
  let kms: TestKms;
  beforeAll(async () => {
    kms = await startTestKms();
  });
  afterAll(async () => kms?.stop());

  it('seals a secret into ciphertext that holds no trace of it, and opens it under the same context', async () => {
    // Prepare
    const secrets = new KmsWebhookSecrets(kms.keyArn, { kms: kms.client() });
    const secret = newWebhookSecret();
    const context = { tenantId: 'ten_a', webhookId: 'whk_01J00000000000000000000001' };
    // Act
    const sealed = await secrets.seal(secret, context);
    const opened = await secrets.open(sealed, context);
    // Assess
    expect(opened).toBe(secret);
    expect(sealed).not.toContain('whsec_');
    expect(Buffer.from(sealed, 'base64').toString('latin1')).not.toContain(secret.slice('whsec_'.length));
    expect(Buffer.from(sealed, 'base64').includes(Buffer.from(secret.slice('whsec_'.length), 'base64'))).toBe(false);
  });

  it('refuses, for good, to open a secret under another tenant or webhook', async () => {
    // Prepare
    const secrets = new KmsWebhookSecrets(kms.keyArn, { kms: kms.client(), cacheMaxEntries: 0 });
    const sealed = await secrets.seal(newWebhookSecret(), { tenantId: 'ten_a', webhookId: 'whk_01J00000000000000000000002' });
    // Act
    const otherTenant = await secrets.open(sealed, { tenantId: 'ten_b', webhookId: 'whk_01J00000000000000000000002' }).catch((error: unknown) => error);
    const otherWebhook = await secrets.open(sealed, { tenantId: 'ten_a', webhookId: 'whk_01J00000000000000000000003' }).catch((error: unknown) => error);
    // Assess
    for (const error of [otherTenant, otherWebhook]) {
      expect(error).toBeInstanceOf(WebhookSecretRefusedError);
      expect(error).toMatchObject({ retryable: false, cause: { name: 'InvalidCiphertextException' } });
    }
    expect((otherTenant as Error).message).toBe('Could not open the signing secret of webhook whk_01J00000000000000000000002: InvalidCiphertextException');
  });

  it('opens a secret once per short interval: later opens are served from the cache until it expires', async () => {
    // Prepare
    let now = 1_000_000;
    const secrets = new KmsWebhookSecrets(kms.keyArn, { kms: kms.client(), cacheTtlMs: 60_000, now: () => now });
    const context = { tenantId: 'ten_c', webhookId: 'whk_01J00000000000000000000004' };
    const sealed = await secrets.seal(newWebhookSecret(), context);
    const before = callsOf(kms, 'Decrypt');
    // Act
    await secrets.open(sealed, context);
    await secrets.open(sealed, context);
    now += 59_999;
    await secrets.open(sealed, context);
    const withinTtl = callsOf(kms, 'Decrypt') - before;
    now += 1;
    await secrets.open(sealed, context);
    // Assess
    expect(withinTtl).toBe(1);
    expect(callsOf(kms, 'Decrypt') - before).toBe(2);
  });

  it('keeps at most cacheMaxEntries secrets, dropping the oldest', async () => {
    // Prepare
    const secrets = new KmsWebhookSecrets(kms.keyArn, { kms: kms.client(), cacheMaxEntries: 2 });
    const contexts = [5, 6, 7].map((n) => ({ tenantId: 'ten_d', webhookId: `whk_01J0000000000000000000000${n}` }));
    const sealed = await Promise.all(contexts.map((context) => secrets.seal(newWebhookSecret(), context)));
    for (const [index, context] of contexts.entries()) await secrets.open(sealed[index]!, context);
    const before = callsOf(kms, 'Decrypt');
    // Act: the two newest are cached, the oldest was dropped.
    await secrets.open(sealed[2]!, contexts[2]!);
    await secrets.open(sealed[1]!, contexts[1]!);
    const cachedCalls = callsOf(kms, 'Decrypt') - before;
    await secrets.open(sealed[0]!, contexts[0]!);
    // Assess
    expect(cachedCalls).toBe(0);
    expect(callsOf(kms, 'Decrypt') - before).toBe(1);
  });

  it('reports an unreachable key service as retryable, naming no data', async () => {
    // Prepare: nothing listens on port 9 (discard).
    const unreachable = new KMSClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' }, maxAttempts: 1 });
    const secrets = new KmsWebhookSecrets(kms.keyArn, { kms: unreachable });
    const secret = newWebhookSecret();
    // Act
    const error = await secrets.seal(secret, { tenantId: 'ten_e', webhookId: 'whk_01J00000000000000000000008' }).catch((caught: unknown) => caught);
    unreachable.destroy();
    // Assess
    expect(error).toBeInstanceOf(WebhookSecretUnavailableError);
    expect(error).toMatchObject({ retryable: true });
    expect((error as Error).message).not.toContain(secret);
  });

  it('refuses, for good, a disabled key', async () => {
    // Prepare
    const secrets = new KmsWebhookSecrets(kms.keyArn, { kms: kms.client(), cacheMaxEntries: 0 });
    const context = { tenantId: 'ten_f', webhookId: 'whk_01J00000000000000000000009' };
    const sealed = await secrets.seal(newWebhookSecret(), context);
    kms.kms.keys.setEnabled(kms.keyArn, false);
    // Act
    const error = await secrets.open(sealed, context).catch((caught: unknown) => caught);
    kms.kms.keys.setEnabled(kms.keyArn, true);
    // Assess
    expect(error).toMatchObject({ name: 'WebhookSecretRefusedError', retryable: false, message: 'Could not open the signing secret of webhook whk_01J00000000000000000000009: DisabledException', cause: { message: `${kms.keyArn} is disabled.` } });
  });
});
