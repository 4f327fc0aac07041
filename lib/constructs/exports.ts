import type { RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import { privateDataBucket } from './private-bucket.ts';
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
    this.bucket = privateDataBucket(this, 'Bucket', { expirationDays: props.retentionDays ?? 30, ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}) });
    const worker = props.workload.worker;
    worker.addEnvironment('EXPORTS_BUCKET', this.bucket.bucketName);
    // PutObject under exports/ only (grantPut would add s3:Abort* as well).
    worker.addToRolePolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [this.bucket.arnForObjects('exports/*')] }));
  }
}
