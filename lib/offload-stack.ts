import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { OffloadDashboardSite } from './constructs/dashboard-site.ts';
import { OffloadEdge } from './constructs/edge.ts';
import { OffloadHttpApi } from './constructs/http-api.ts';
import { OffloadStorage } from './constructs/storage.ts';
import { Reconciler } from './constructs/reconciler.ts';
import { OffloadAnalytics } from './constructs/analytics.ts';
import { OffloadObservability } from './constructs/observability.ts';
import { OffloadWebSocketApi } from './constructs/websocket-api.ts';
import { WorkloadClass } from './constructs/workload-class.ts';
import { WORKLOAD_CLASS_SIZING } from './workload-classes.ts';
import { OPERATOR_OUTPUTS } from './stack-outputs.ts';
import { OffloadExports } from './constructs/exports.ts';
import { SIMULATED_MODELS } from '../lambdas/tasks/models/simulated.ts';

/** Props of {@link OffloadStack}. */
export interface OffloadStackProps extends StackProps {
  /** Removal policy of the tables. @default RemovalPolicy.RETAIN */
  readonly dataRemovalPolicy?: RemovalPolicy;
  /**
   * An OpenAI-compatible model server for `completion` (models named `openai:<model>`), with its
   * API key in Secrets Manager. @default none: only the simulated models
   */
  readonly openAiCompatible?: { readonly baseUrl: string; readonly apiKeySecretArn?: string };
  /** Serve `completion` models named `bedrock:<model id>` through Amazon Bedrock. @default false */
  readonly bedrock?: boolean;
  /**
   * The model a `completion` runs on when its request names none: a simulated model, or
   * `openai:<model>` / `bedrock:<model id>` when that provider is enabled above.
   * @default 'sim-1' (simulated)
   */
  readonly defaultModel?: string;
}

/** Simulated models every stack serves. */
const SIMULATED = Object.keys(SIMULATED_MODELS);

/** Checks `defaultModel` against the providers the stack enables (a default nobody serves would fail every task). */
const validateDefaultModel = (props: OffloadStackProps): void => {
  const model = props.defaultModel;
  if (model === undefined) return;
  if (SIMULATED.includes(model)) return;
  if (/^openai:[\w.:\/-]{1,90}$/.test(model)) {
    if (!props.openAiCompatible) throw new Error(`defaultModel "${model}" needs the openAiCompatible provider to be configured`);
    return;
  }
  if (/^bedrock:[\w.:\/-]{1,90}$/.test(model)) {
    if (!props.bedrock) throw new Error(`defaultModel "${model}" needs bedrock: true`);
    return;
  }
  throw new Error(`defaultModel "${model}" is not a simulated model (${SIMULATED.join(', ')}), openai:<model> or bedrock:<model id>`);
};

/**
 * The whole Offload backbone: storage, bus, workload classes with their queues and workers, the
 * HTTP and WebSocket APIs, and CloudFront in front of the HTTP API.
 */
export class OffloadStack extends Stack {
  public readonly storage: OffloadStorage;
  public readonly bus: EventBus;
  public readonly httpApi: OffloadHttpApi;
  public readonly webSocketApi: OffloadWebSocketApi;
  /** The bucket `tasks.export` writes to (batch class). */
  public readonly exports: OffloadExports;
  /** One queue, DLQ and worker per workload class. */
  public readonly workloads: Readonly<Record<keyof typeof WORKLOAD_CLASS_SIZING, WorkloadClass>>;
  public readonly edge: OffloadEdge;
  public readonly reconciler: Reconciler;
  /** Masked NDJSON export of lifecycle events. */
  public readonly analytics: OffloadAnalytics;
  /** Routes lifecycle events to the webhook fan-out. */
  public readonly webhookFanOut: Rule;
  /** Dashboard and alarms. */
  public readonly observability: OffloadObservability;
  /** The dashboard, a static site under `/dashboard/` on the edge distribution. */
  public readonly dashboard: OffloadDashboardSite;
  /** Signing key of client tokens (generated at deploy, never leaves Secrets Manager). */
  public readonly tokenKey: Secret;

  public constructor(scope: Construct, id: string, props: OffloadStackProps = {}) {
    super(scope, id, props);
    validateDefaultModel(props);
    this.storage = new OffloadStorage(this, 'Storage', { removalPolicy: props.dataRemovalPolicy ?? RemovalPolicy.RETAIN });
    this.bus = new EventBus(this, 'Bus', { description: 'Offload task lifecycle events' });
    this.tokenKey = new Secret(this, 'ClientTokenKey', {
      description: 'Offload: HMAC key signing short-lived client tokens',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    this.webSocketApi = new OffloadWebSocketApi(this, 'WebSocket', {
      tokenKey: this.tokenKey,
      tasksTable: this.storage.tasksTable,
      connectionsTable: this.storage.connectionsTable,
      bus: this.bus,
    });
    this.httpApi = new OffloadHttpApi(this, 'Http', {
      tasksTable: this.storage.tasksTable,
      connectionsTable: this.storage.connectionsTable,
      bus: this.bus,
      managementEndpoint: this.webSocketApi.managementEndpoint,
      manageConnectionsArn: this.webSocketApi.manageConnectionsArn,
      tokenKey: this.tokenKey,
    });
    const workload = (className: keyof typeof WORKLOAD_CLASS_SIZING) => {
      const sizing = WORKLOAD_CLASS_SIZING[className];
      return new WorkloadClass(this, sizing.id, {
        className,
        bus: this.bus,
        tasksTable: this.storage.tasksTable,
        connectionsTable: this.storage.connectionsTable,
        managementEndpoint: this.webSocketApi.managementEndpoint,
        manageConnectionsArn: this.webSocketApi.manageConnectionsArn,
        timeout: sizing.timeout,
        memorySize: sizing.memorySize,
        maxConcurrency: sizing.maxConcurrency,
        batchSize: sizing.batchSize,
        maxReceiveCount: sizing.maxReceiveCount,
      });
    };
    this.workloads = {
      interactive: workload('interactive'),
      batch: workload('batch'),
      integrations: workload('integrations'),
      analytics: workload('analytics'),
    };
    this.httpApi.addQueueDepthsRoute(this.workloads);
    this.reconciler = new Reconciler(this, 'Reconciler', {
      tasksTable: this.storage.tasksTable,
      bus: this.bus,
      deadLetterQueues: Object.fromEntries(Object.entries(this.workloads).map(([name, workload]) => [name, workload.deadLetterQueue])),
    });
    // Lifecycle events fan out to webhook deliveries on the integrations class (never their own).
    this.webhookFanOut = new Rule(this, 'WebhookFanOut', {
      eventBus: this.bus,
      description: 'Lifecycle events to webhook fan-out (integrations class)',
      eventPattern: {
        source: ['offload'],
        detailType: ['Task Started', 'Task Succeeded', 'Task Failed', 'Task Cancelled'],
        detail: { type: [{ 'anything-but': 'webhook.delivery' }] },
      },
      targets: [new SqsQueue(this.workloads.integrations.queue, { deadLetterQueue: this.workloads.integrations.deadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) })],
    });
    if (props.defaultModel !== undefined) {
      for (const worker of [this.workloads.interactive.worker, this.workloads.batch.worker]) worker.addEnvironment('DEFAULT_MODEL', props.defaultModel);
    }
    if (props.openAiCompatible) {
      const { baseUrl, apiKeySecretArn } = props.openAiCompatible;
      if (!/^https?:\/\//.test(baseUrl)) throw new Error('openAiCompatible.baseUrl must be an http(s) URL');
      for (const fn of [this.httpApi.submitFunction, this.webSocketApi.submitFunction, this.workloads.interactive.worker, this.workloads.batch.worker]) {
        fn.addEnvironment('OPENAI_BASE_URL', baseUrl);
      }
      if (apiKeySecretArn) {
        const key = Secret.fromSecretCompleteArn(this, 'OpenAiApiKey', apiKeySecretArn);
        for (const worker of [this.workloads.interactive.worker, this.workloads.batch.worker]) {
          worker.addEnvironment('OPENAI_API_KEY_SECRET_ARN', apiKeySecretArn);
          key.grantRead(worker);
        }
      }
    }
    if (props.bedrock) {
      for (const fn of [this.httpApi.submitFunction, this.webSocketApi.submitFunction]) fn.addEnvironment('BEDROCK_ENABLED', 'true');
      for (const worker of [this.workloads.interactive.worker, this.workloads.batch.worker]) {
        worker.addEnvironment('BEDROCK_ENABLED', 'true');
        worker.addToRolePolicy(
          new PolicyStatement({
            actions: ['bedrock:InvokeModelWithResponseStream'],
            resources: [`arn:${this.partition}:bedrock:*::foundation-model/*`, `arn:${this.partition}:bedrock:${this.region}:${this.account}:inference-profile/*`],
          }),
        );
      }
    }
    this.exports = new OffloadExports(this, 'TaskExports', { workload: this.workloads.batch, removalPolicy: props.dataRemovalPolicy ?? RemovalPolicy.RETAIN });
    this.analytics = new OffloadAnalytics(this, 'AnalyticsExport', {
      bus: this.bus,
      tasksTable: this.storage.tasksTable,
      workload: this.workloads.analytics,
      removalPolicy: props.dataRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.observability = new OffloadObservability(this, 'Observability', { workloads: this.workloads, httpApi: this.httpApi.api });
    this.edge = new OffloadEdge(this, 'Edge', { httpApi: this.httpApi.api });
    this.dashboard = new OffloadDashboardSite(this, 'Dashboard', { distribution: this.edge.distribution, webSocketUrl: this.webSocketApi.stage.url });
    // What operators' tools (the `offload` CLI) need: the table holding tenants and keys, and each class's queues.
    new CfnOutput(this, OPERATOR_OUTPUTS.tasksTable, { value: this.storage.tasksTable.tableName, description: 'Tasks table (tasks, tenants, hashed API keys)' });
    for (const className of Object.keys(this.workloads) as (keyof typeof this.workloads)[]) {
      const workload = this.workloads[className];
      new CfnOutput(this, OPERATOR_OUTPUTS.queueUrl[className], { value: workload.queue.queueUrl, description: `${className} queue` });
      new CfnOutput(this, OPERATOR_OUTPUTS.deadLetterQueueUrl[className], { value: workload.deadLetterQueue.queueUrl, description: `${className} dead-letter queue` });
    }
  }
}
