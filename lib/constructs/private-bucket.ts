import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/** Options of {@link privateDataBucket}. */
export interface PrivateDataBucketOptions {
  /** Days an object is kept. */
  readonly expirationDays: number;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A bucket for data the workers write (analytics batches, task exports): SSE-S3, TLS only, no
 * public access, ACLs off, objects expiring after `expirationDays`.
 */
export const privateDataBucket = (scope: Construct, id: string, options: PrivateDataBucketOptions): Bucket => {
  if (!Number.isInteger(options.expirationDays) || options.expirationDays < 1) throw new Error(`expirationDays must be a positive integer, got ${options.expirationDays}`);
  return new Bucket(scope, id, {
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [{ expiration: Duration.days(options.expirationDays) }],
    removalPolicy: options.removalPolicy ?? RemovalPolicy.RETAIN,
  });
};
