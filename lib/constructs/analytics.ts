import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import { privateDataBucket } from './private-bucket.ts';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { WorkloadClass } from './workload-class.ts';

/** Props of {@link OffloadAnalytics}. */
export interface OffloadAnalyticsProps {
  readonly bus: IEventBus;
  readonly tasksTable: ITable;
  /** The analytics workload class whose worker exports. */
  readonly workload: WorkloadClass;
  /** Keyed-hash (`hash`) or drop (`drop`) sensitive fields. @default 'hash' */
  readonly maskMode?: 'hash' | 'drop';
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Analytics forwarding: terminal lifecycle events reach the analytics queue; its worker joins each
 * with its task, keyed-hashes (per-tenant key) or drops the type's sensitive fields, and writes
 * date-partitioned NDJSON to an encrypted, private bucket.
 */
export class OffloadAnalytics extends Construct {
  public readonly bucket: Bucket;
  public readonly maskKey: Secret;
  public readonly rule: Rule;

  public constructor(scope: Construct, id: string, props: OffloadAnalyticsProps) {
    super(scope, id);
    this.bucket = privateDataBucket(this, 'Bucket', { expirationDays: 400, ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}) });
    this.maskKey = new Secret(this, 'MaskKey', {
      description: 'Offload: master key of per-tenant keyed hashes in analytics exports',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    const worker = props.workload.worker;
    worker.addEnvironment('ANALYTICS_BUCKET', this.bucket.bucketName);
    worker.addEnvironment('ANALYTICS_KEY_SECRET_ARN', this.maskKey.secretArn);
    worker.addEnvironment('MASK_MODE', props.maskMode ?? 'hash');
    // PutObject on this bucket's objects only (grantPut would add s3:Abort* as well).
    worker.addToRolePolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [this.bucket.arnForObjects('events/*')] }));
    this.maskKey.grantRead(worker);
    this.rule = new Rule(this, 'Export', {
      eventBus: props.bus,
      description: 'Terminal lifecycle events to the analytics export',
      eventPattern: { source: ['offload'], detailType: ['Task Succeeded', 'Task Failed', 'Task Cancelled'] },
      targets: [new SqsQueue(props.workload.queue, { deadLetterQueue: props.workload.deadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) })],
    });
  }
}
