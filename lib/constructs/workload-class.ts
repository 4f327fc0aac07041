import { Duration, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { OffloadFunction } from './offload-function.ts';

/** Props of {@link WorkloadClass}. */
export interface WorkloadClassProps {
  /** The workload class name, as in task definitions (`interactive`, `batch`, ...). */
  readonly className: string;
  readonly bus: IEventBus;
  readonly tasksTable: ITable;
  readonly connectionsTable: ITable;
  /** The WebSocket API's `@connections` endpoint (https://.../stage). */
  readonly managementEndpoint: string;
  /** ARN pattern the worker may call `execute-api:ManageConnections` on. */
  readonly manageConnectionsArn: string;
  /** Worker timeout: the longest task of the class plus margin. @default Duration.minutes(5) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** Cap on concurrent worker invocations for this class (2–1000). @default 10 */
  readonly maxConcurrency?: number;
  /** Messages per invocation (1-10, or up to 10,000 with a batching window). @default 5 */
  readonly batchSize?: number;
  /**
   * How long the event source gathers messages before invoking the worker (up to 5 minutes), for
   * classes where latency does not matter and fewer, larger batches do. @default - none: invoke as soon as messages arrive
   */
  readonly maxBatchingWindow?: Duration;
  /** Receives before a message goes to the DLQ. @default 5 */
  readonly maxReceiveCount?: number;
  /**
   * How many tasks of one tenant may run at once in this class; more are parked until one ends, so
   * one tenant's backlog cannot occupy every worker while another tenant waits.
   * @default half of maxConcurrency, rounded up
   */
  readonly tenantConcurrency?: number;
}

/**
 * One workload class: an encrypted queue with its DLQ, the EventBridge rule routing the class's
 * `Task Submitted` events to it, and a worker Lambda draining it through an event source mapping
 * with partial batch responses and a concurrency cap. One class cannot starve another.
 */
export class WorkloadClass extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly worker: OffloadFunction;
  public readonly rule: Rule;

  public constructor(scope: Construct, id: string, props: WorkloadClassProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.minutes(5);
    const maxConcurrency = props.maxConcurrency ?? 10;
    if (maxConcurrency < 2 || maxConcurrency > 1000) throw new Error(`${id}: maxConcurrency must be within 2-1000`);
    const batchSize = props.batchSize ?? 5;
    const windowSeconds = props.maxBatchingWindow?.toSeconds();
    if (windowSeconds !== undefined && (windowSeconds < 0 || windowSeconds > 300)) throw new Error(`${id}: maxBatchingWindow must be within 0-300 seconds`);
    const maxBatchSize = windowSeconds ? 10_000 : 10;
    if (batchSize < 1 || batchSize > maxBatchSize) throw new Error(`${id}: batchSize must be within 1-${maxBatchSize}`);
    const tenantConcurrency = props.tenantConcurrency ?? Math.ceil(maxConcurrency / 2);
    if (!Number.isInteger(tenantConcurrency) || tenantConcurrency < 1 || tenantConcurrency > maxConcurrency) {
      throw new Error(`${id}: tenantConcurrency must be an integer within 1-maxConcurrency`);
    }

    this.deadLetterQueue = new Queue(this, 'Dlq', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED, // EventBridge cannot write to queues under the AWS-managed KMS key
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });

    this.worker = new OffloadFunction(this, 'Worker', {
      entry: 'handlers/worker.ts',
      description: `Offload ${props.className} worker`,
      timeout,
      memorySize: props.memorySize ?? 512,
      environment: {
        WORKLOAD_CLASS: props.className,
        TASKS_TABLE: props.tasksTable.tableName,
        CONNECTIONS_TABLE: props.connectionsTable.tableName,
        EVENT_BUS_NAME: props.bus.eventBusName,
        WS_MANAGEMENT_ENDPOINT: props.managementEndpoint,
        QUEUE_URL: this.queue.queueUrl,
        DLQ_URL: this.deadLetterQueue.queueUrl,
        TENANT_RUNNING_LIMIT: String(tenantConcurrency),
      },
    });
    props.tasksTable.grantReadWriteData(this.worker);
    this.deadLetterQueue.grantSendMessages(this.worker);
    props.connectionsTable.grantReadWriteData(this.worker);
    props.bus.grantPutEventsTo(this.worker);
    this.worker.addToRolePolicy(new PolicyStatement({ actions: ['execute-api:ManageConnections'], resources: [props.manageConnectionsArn] }));
    this.worker.addEventSource(
      new SqsEventSource(this.queue, { batchSize, maxConcurrency, reportBatchItemFailures: true, ...(props.maxBatchingWindow ? { maxBatchingWindow: props.maxBatchingWindow } : {}) }),
    );

    this.rule = new Rule(this, 'SubmittedRule', {
      eventBus: props.bus,
      description: `Routes submitted ${props.className} tasks to their queue`,
      eventPattern: { source: ['offload'], detailType: ['Task Submitted'], detail: { class: [props.className] } },
      targets: [new SqsQueue(this.queue, { deadLetterQueue: this.deadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) })],
    });
    Stack.of(this);
  }
}
