import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { WorkloadClass } from './workload-class.ts';

/** Props of {@link OffloadExports}. */
export interface OffloadExportsProps {
  /** The workload class whose worker runs `tasks.export` (the batch class). */
  readonly workload: WorkloadClass;
  /** Days an export is kept. @default 30 */
  readonly retentionDays?: number;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Task exports (`tasks.export`, batch class): an encrypted, private bucket whose objects the batch
 * worker writes under `exports/<tenant>/<task>.ndjson` and nothing else can write; objects expire.
 */
export class OffloadExports extends Construct {
  public readonly bucket: Bucket;

  public constructor(scope: Construct, id: string, props: OffloadExportsProps) {
    super(scope, id);
    const retentionDays = props.retentionDays ?? 30;
    if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new Error(`retentionDays must be a positive integer, got ${retentionDays}`);
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(retentionDays) }],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    const worker = props.workload.worker;
    worker.addEnvironment('EXPORTS_BUCKET', this.bucket.bucketName);
    // PutObject under exports/ only (grantPut would add s3:Abort* as well).
    worker.addToRolePolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [this.bucket.arnForObjects('exports/*')] }));
  }
}
