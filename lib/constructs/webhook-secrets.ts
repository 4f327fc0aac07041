import { RemovalPolicy } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** The environment variable naming the key to both functions (see lambdas/handlers/runtime.ts). */
export const WEBHOOK_SECRETS_KEY_VARIABLE = 'WEBHOOK_SECRETS_KEY_ARN' as const;

/**
 * The encryption context every webhook secret is sealed with (lambdas/store/webhook-secrets.ts):
 * exactly these keys, both present. Each grant holds only under it, so the key can never be used
 * for anything that is not a webhook secret of some tenant's webhook.
 */
export const WEBHOOK_SECRET_CONTEXT_CONDITIONS = {
  'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenantId', 'webhookId'] },
  StringLike: { 'kms:EncryptionContext:tenantId': '?*', 'kms:EncryptionContext:webhookId': 'whk_*' },
} as const;

/** Props of {@link WebhookSecretsKey}. */
export interface WebhookSecretsKeyProps {
  /**
   * What happens to the key when it leaves the stack. Deleting it makes every stored secret
   * unreadable (each webhook must then be registered again).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The customer managed KMS key (yearly rotation) sealing webhook signing secrets: the tasks table
 * holds only ciphertext bound to `{tenantId, webhookId}`. The key policy is CDK's default (the
 * account, so IAM decides); the function registering webhooks may only encrypt and the one
 * delivering them may only decrypt, each only under a webhook secret's encryption context.
 */
export class WebhookSecretsKey extends Construct {
  public readonly key: Key;

  public constructor(scope: Construct, id: string, props: WebhookSecretsKeyProps = {}) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'Offload: seals webhook signing secrets (encryption context tenantId, webhookId)',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** Lets `fn` seal new secrets (kms:Encrypt only, under a webhook secret's context) and tells it the key. */
  public grantSeal(fn: LambdaFunction): void {
    this.grant(fn, 'kms:Encrypt');
    fn.addEnvironment(WEBHOOK_SECRETS_KEY_VARIABLE, this.key.keyArn);
  }

  /** Lets `fn` open secrets when it signs (kms:Decrypt only, under a webhook secret's context) and tells it the key. */
  public grantOpen(fn: LambdaFunction): void {
    this.grant(fn, 'kms:Decrypt');
    fn.addEnvironment(WEBHOOK_SECRETS_KEY_VARIABLE, this.key.keyArn);
  }

  private grant(grantee: IGrantable, action: 'kms:Encrypt' | 'kms:Decrypt'): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: [action], resources: [this.key.keyArn], conditions: structuredClone(WEBHOOK_SECRET_CONTEXT_CONDITIONS) as unknown as Record<string, unknown> }),
    );
  }
}
