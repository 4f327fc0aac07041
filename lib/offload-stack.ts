import { Arn, ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ApiGatewayCloudWatchRole } from './constructs/api-gateway-account.ts';
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
import { API_OUTPUTS, OPERATOR_OUTPUTS } from './stack-outputs.ts';
import { validateKmsKeyArn, validateSecretCompleteArn } from './arns.ts';
import { StackConfigurationError } from './errors.ts';
import { OffloadExports } from './constructs/exports.ts';
import { WebhookSecretsKey } from './constructs/webhook-secrets.ts';
import { DEFAULT_SIMULATED_MODEL, SIMULATED_MODELS } from '../lambdas/tasks/models/simulated.ts';

/** Props of {@link OffloadStack}. */
export interface OffloadStackProps extends StackProps {
  /** Removal policy of the tables. @default RemovalPolicy.RETAIN */
  readonly dataRemovalPolicy?: RemovalPolicy;
  /**
   * An OpenAI-compatible model server for `completion` (models named `openai:<model>`), with its
   * API key in Secrets Manager: `apiKeySecretArn` is the secret's *complete* ARN (ending in `-` and
   * six characters), and `apiKeyKmsKeyArn` the customer managed KMS key encrypting it, if any (the
   * workers are then granted `kms:Decrypt` on it through Secrets Manager).
   * @default none: only the simulated models
   */
  readonly openAiCompatible?: { readonly baseUrl: string; readonly apiKeySecretArn?: string; readonly apiKeyKmsKeyArn?: string };
  /** Serve `completion` models named `bedrock:<model id>` through Amazon Bedrock. @default false */
  readonly bedrock?: boolean;
  /**
   * The model a `completion` runs on when its request names none: a simulated model, or
   * `openai:<model>` / `bedrock:<model id>` when that provider is enabled above.
   * @default 'sim-1' (simulated)
   */
  readonly defaultModel?: string;
  /**
   * The models tenants may run (`completion`'s `model`); any other is refused at submit with `400`
   * and again at execution. Each must be a simulated model or served by a provider enabled above,
   * and the list must hold the default model (checked at synth). Passed to the submit functions and
   * workers as `ALLOWED_MODELS`.
   * @default the default model and the simulated models (`sim-1`, `sim-fast`, `sim-fail`)
   */
  readonly allowedModels?: readonly string[];
  /**
   * Create the role API Gateway pushes logs with and set it as this account and region's API
   * Gateway `cloudWatchRoleArn` (both retained on stack deletion: the setting is account-wide).
   * The WebSocket stage's access logging cannot deploy without that setting, so with `false` it is
   * a prerequisite: for accounts that already manage it elsewhere.
   * @default true
   */
  readonly apiGatewayCloudWatchRole?: boolean;
  /**
   * Browser origins allowed to call the HTTP API cross-origin (CORS), e.g. `https://app.example.com`
   * (context `corsOrigins`, comma-separated). The dashboard is same-origin and needs none.
   * @default none: no cross-origin browser access
   */
  readonly corsOrigins?: readonly string[];
  /**
   * Requests per second each tenant may sustain on the HTTP API; more answer `429` with
   * `Retry-After`. Enforced per authorizer instance (not a global limit: see README, Security).
   * @default 50
   */
  readonly tenantRateLimit?: number;
  /** Requests a tenant may send at once after a quiet period (token bucket capacity). @default 100 */
  readonly tenantBurstLimit?: number;
  /** An e-mail address subscribed to the alarm topic (confirmed by a link AWS sends). @default no subscription */
  readonly alarmEmail?: string;
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

/** The effective `allowedModels`, checked: every entry servable, the default model among them. */
const resolveAllowedModels = (props: OffloadStackProps): readonly string[] => {
  const defaultModel = props.defaultModel ?? DEFAULT_SIMULATED_MODEL;
  const allowed = props.allowedModels ?? [defaultModel, ...SIMULATED.filter((model) => model !== defaultModel)];
  if (allowed.length === 0) throw new StackConfigurationError('allowedModels must name at least one model');
  for (const model of allowed) {
    try {
      validateDefaultModel({ ...props, defaultModel: model });
    } catch (error) {
      throw new StackConfigurationError(`allowedModels: ${(error as Error).message.replace(/^defaultModel /, '')}`, { cause: error });
    }
  }
  if (!allowed.includes(defaultModel)) throw new StackConfigurationError(`allowedModels must include the default model "${defaultModel}"`);
  if (allowed.some((model) => model.includes(','))) throw new StackConfigurationError('allowedModels entries may not contain commas');
  return allowed;
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
  /** The SNS topic every alarm notifies on ALARM and OK (output `AlarmTopicArn`). */
  public readonly alarmTopic: ITopic;
  /** The API Gateway account setting and its CloudWatch role, unless `apiGatewayCloudWatchRole` is false. */
  public readonly apiGatewayCloudWatchRole: ApiGatewayCloudWatchRole | undefined;
  /** The dashboard, a static site under `/dashboard/` on the edge distribution. */
  public readonly dashboard: OffloadDashboardSite;
  /** Signing key of client tokens (generated at deploy, never leaves Secrets Manager). */
  public readonly tokenKey: Secret;
  /** The KMS key sealing webhook signing secrets (output `WebhookSecretsKeyArn`). */
  public readonly webhookSecrets: WebhookSecretsKey;

  public constructor(scope: Construct, id: string, props: OffloadStackProps = {}) {
    super(scope, id, props);
    validateDefaultModel(props);
    const allowedModels = resolveAllowedModels(props);
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
      ...(props.tenantRateLimit !== undefined ? { tenantRateLimit: props.tenantRateLimit } : {}),
      ...(props.tenantBurstLimit !== undefined ? { tenantBurstLimit: props.tenantBurstLimit } : {}),
    });
    // WebSocket stage access logging needs the account's API Gateway CloudWatch role set first.
    this.apiGatewayCloudWatchRole = (props.apiGatewayCloudWatchRole ?? true) ? new ApiGatewayCloudWatchRole(this, 'ApiGatewayAccount') : undefined;
    if (this.apiGatewayCloudWatchRole) this.webSocketApi.stage.node.addDependency(this.apiGatewayCloudWatchRole.account);
    this.httpApi = new OffloadHttpApi(this, 'Http', {
      tasksTable: this.storage.tasksTable,
      connectionsTable: this.storage.connectionsTable,
      bus: this.bus,
      managementEndpoint: this.webSocketApi.managementEndpoint,
      manageConnectionsArn: this.webSocketApi.manageConnectionsArn,
      tokenKey: this.tokenKey,
      ...(props.tenantRateLimit !== undefined ? { tenantRateLimit: props.tenantRateLimit } : {}),
      ...(props.tenantBurstLimit !== undefined ? { tenantBurstLimit: props.tenantBurstLimit } : {}),
      ...(props.corsOrigins !== undefined ? { corsOrigins: props.corsOrigins } : {}),
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
        ...('maxBatchingWindowSeconds' in sizing ? { maxBatchingWindow: Duration.seconds(sizing.maxBatchingWindowSeconds) } : {}),
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
    // Lifecycle events fan out to webhook deliveries on the integrations class (never their own),
    // only for tenants with endpoints: `detail.webhooks` is false when the tenant had none at submit
    // (absent when not known: those route). See lambdas/core/webhook-presence.ts.
    this.webhookFanOut = new Rule(this, 'WebhookFanOut', {
      eventBus: this.bus,
      description: 'Lifecycle events of tenants with webhooks to webhook fan-out (integrations class)',
      eventPattern: {
        source: ['offload'],
        detailType: ['Task Started', 'Task Succeeded', 'Task Failed', 'Task Cancelled'],
        detail: { type: [{ 'anything-but': 'webhook.delivery' }], webhooks: [true, { exists: false }] },
      },
      targets: [new SqsQueue(this.workloads.integrations.queue, { deadLetterQueue: this.workloads.integrations.deadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) })],
    });
    // Webhook secrets are stored sealed: the webhooks function may only encrypt, the integrations
    // worker (which signs deliveries) may only decrypt; no other function may use the key.
    this.webhookSecrets = new WebhookSecretsKey(this, 'WebhookSecrets', { removalPolicy: props.dataRemovalPolicy ?? RemovalPolicy.RETAIN });
    this.webhookSecrets.grantSeal(this.httpApi.webhooksFunction);
    this.webhookSecrets.grantOpen(this.workloads.integrations.worker);
    // Model allowlist: refused at submit (HTTP and WebSocket) and again by the workers.
    for (const fn of [this.httpApi.submitFunction, this.webSocketApi.submitFunction, this.workloads.interactive.worker, this.workloads.batch.worker]) {
      fn.addEnvironment('ALLOWED_MODELS', allowedModels.join(','));
    }
    if (props.defaultModel !== undefined) {
      for (const worker of [this.workloads.interactive.worker, this.workloads.batch.worker]) worker.addEnvironment('DEFAULT_MODEL', props.defaultModel);
    }
    if (props.openAiCompatible) {
      const { baseUrl, apiKeySecretArn, apiKeyKmsKeyArn } = props.openAiCompatible;
      if (!/^https?:\/\//.test(baseUrl)) throw new Error('openAiCompatible.baseUrl must be an http(s) URL');
      for (const fn of [this.httpApi.submitFunction, this.webSocketApi.submitFunction, this.workloads.interactive.worker, this.workloads.batch.worker]) {
        fn.addEnvironment('OPENAI_BASE_URL', baseUrl);
      }
      if (apiKeyKmsKeyArn !== undefined && apiKeySecretArn === undefined) throw new StackConfigurationError('openAiApiKeyKmsKeyArn needs openAiApiKeySecretArn (the secret it encrypts)');
      if (apiKeySecretArn !== undefined) {
        const key = Secret.fromSecretCompleteArn(this, 'OpenAiApiKey', validateSecretCompleteArn(apiKeySecretArn, 'openAiApiKeySecretArn'));
        // A customer managed key: kms:Decrypt on it, only as Secrets Manager decrypts the secret. (An
        // imported key's grantDecrypt through a ViaServicePrincipal adds nothing to the role, so this is explicit.)
        const decrypt =
          apiKeyKmsKeyArn === undefined
            ? undefined
            : new PolicyStatement({
                actions: ['kms:Decrypt'],
                resources: [validateKmsKeyArn(apiKeyKmsKeyArn, 'openAiApiKeyKmsKeyArn')],
                conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Arn.split(apiKeySecretArn, ArnFormat.COLON_RESOURCE_NAME).region}.amazonaws.com` } },
              });
        for (const worker of [this.workloads.interactive.worker, this.workloads.batch.worker]) {
          worker.addEnvironment('OPENAI_API_KEY_SECRET_ARN', apiKeySecretArn);
          key.grantRead(worker);
          if (decrypt) worker.addToRolePolicy(decrypt);
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
    // Finished exports are fetched through short-lived presigned URLs (the exports bucket exists only now).
    this.httpApi.addDownloadRoute(this.exports.bucket);
    this.analytics = new OffloadAnalytics(this, 'AnalyticsExport', {
      bus: this.bus,
      tasksTable: this.storage.tasksTable,
      workload: this.workloads.analytics,
      removalPolicy: props.dataRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.observability = new OffloadObservability(this, 'Observability', {
      workloads: this.workloads,
      httpApi: this.httpApi.api,
      webSocketApi: this.webSocketApi.api,
      webSocketStageName: this.webSocketApi.stage.stageName,
      ...(props.alarmEmail !== undefined ? { alarmEmail: props.alarmEmail } : {}),
    });
    this.alarmTopic = this.observability.alarmTopic;
    this.edge = new OffloadEdge(this, 'Edge', { httpApi: this.httpApi.api, webSocketUrl: this.webSocketApi.stage.url });
    this.dashboard = new OffloadDashboardSite(this, 'Dashboard', {
      distribution: this.edge.distribution,
      webSocketUrl: this.webSocketApi.stage.url,
      responseHeadersPolicy: this.edge.dashboardHeadersPolicy,
    });
    // Every output is declared here, at stack level, so its name is the documented one (no hash).
    new CfnOutput(this, API_OUTPUTS.httpApi, { value: this.httpApi.api.apiEndpoint, description: 'HTTP API endpoint (direct)' });
    new CfnOutput(this, API_OUTPUTS.cdn, { value: this.edge.url, description: 'CloudFront URL (use this one)' });
    new CfnOutput(this, API_OUTPUTS.webSocket, { value: this.webSocketApi.stage.url, description: 'WebSocket API URL' });
    new CfnOutput(this, API_OUTPUTS.dashboard, { value: this.dashboard.url, description: 'The dashboard (sign in with a client token: npx offload token)' });
    // What operators' tools (the `offload` CLI) need: the table holding tenants and keys, each class's queues, the exports bucket.
    new CfnOutput(this, OPERATOR_OUTPUTS.tasksTable, { value: this.storage.tasksTable.tableName, description: 'Tasks table (tasks, tenants, hashed API keys)' });
    for (const className of Object.keys(this.workloads) as (keyof typeof this.workloads)[]) {
      const workload = this.workloads[className];
      new CfnOutput(this, OPERATOR_OUTPUTS.queueUrl[className], { value: workload.queue.queueUrl, description: `${className} queue` });
      new CfnOutput(this, OPERATOR_OUTPUTS.deadLetterQueueUrl[className], { value: workload.deadLetterQueue.queueUrl, description: `${className} dead-letter queue` });
    }
    new CfnOutput(this, OPERATOR_OUTPUTS.connectionsTable, { value: this.storage.connectionsTable.tableName, description: 'Connections table (WebSocket connections; ByKey: by API key id)' });
    new CfnOutput(this, OPERATOR_OUTPUTS.webSocketManagement, { value: this.webSocketApi.managementEndpoint, description: 'WebSocket @connections endpoint (key revocation closes connections)' });
    new CfnOutput(this, OPERATOR_OUTPUTS.exportsBucket, { value: this.exports.bucket.bucketName, description: 'Task exports bucket (tasks.export NDJSON under exports/)' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn, description: 'SNS topic every alarm notifies (subscribe on-call here)' });
    new CfnOutput(this, 'WebhookSecretsKeyArn', { value: this.webhookSecrets.key.keyArn, description: 'KMS key sealing webhook signing secrets (Encrypt: webhooks function; Decrypt: integrations worker)' });
  }
}
