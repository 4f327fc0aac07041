import { Duration } from 'aws-cdk-lib';
import { CorsHttpMethod, HttpApi, HttpMethod, ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { accessLogs } from './access-log.ts';
import { OffloadFunction } from './offload-function.ts';
import type { WorkloadClass } from '../../lambdas/core/model.ts';
import { queueUrlVariables } from '../../lambdas/core/queue-depths.ts';
import { TENANT_RATE_DEFAULTS, TENANT_RATE_ENV } from '../../lambdas/core/rate-limit.ts';
import { inflightLimitOf } from '../inflight-limit.ts';
import { StackConfigurationError } from '../errors.ts';

/** A rate limit must be a positive number. */
const positive = (value: number, name: string): number => {
  if (!Number.isFinite(value) || value <= 0) throw new StackConfigurationError(`${name} must be a positive number, got ${value}`);
  return value;
};

/** Props of {@link OffloadHttpApi}. */
export interface OffloadHttpApiProps {
  readonly tasksTable: ITable;
  readonly connectionsTable: ITable;
  readonly bus: IEventBus;
  /** The WebSocket `@connections` endpoint, for routes that push (cancel). */
  readonly managementEndpoint: string;
  /** ARN pattern for `execute-api:ManageConnections`. */
  readonly manageConnectionsArn: string;
  /** The client-token signing key. */
  readonly tokenKey: ISecret;
  /** Tasks a tenant may have queued or running at once (1-5000); more answer `429`. @default 100 */
  readonly tenantInflightLimit?: number;
  /**
   * Requests per second each tenant may sustain; more answer `429` (a token bucket per tenant in
   * each authorizer instance: not a global limit, see `lambdas/core/rate-limit.ts`). @default 50
   */
  readonly tenantRateLimit?: number;
  /** Requests a tenant may send at once after a quiet period (the bucket's capacity). @default 100 */
  readonly tenantBurstLimit?: number;
  /** Stage-wide throttling. @default { rateLimit: 1000, burstLimit: 2000 } */
  readonly throttle?: ThrottleSettings;
  /**
   * Browser origins (`https://app.example.com`) whose pages may call the API cross-origin (CORS).
   * The dashboard needs none: it is served by the distribution in front of the API, so its calls
   * are same-origin. No wildcard.
   * @default none: no CORS configuration, browsers refuse cross-origin reads
   */
  readonly corsOrigins?: readonly string[];
}

/** A CORS origin: scheme, host and optional port, nothing else (no wildcard, path or trailing slash). */
const ORIGIN_PATTERN = /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?$/;

/** Checks the configured CORS origins (see {@link OffloadHttpApiProps.corsOrigins}). */
export const validCorsOrigins = (origins: readonly string[]): string[] =>
  origins.map((origin) => {
    if (!ORIGIN_PATTERN.test(origin)) throw new StackConfigurationError(`corsOrigins: "${origin}" is not an origin like https://app.example.com (no wildcard, path or trailing slash)`);
    return origin;
  });

/**
 * The HTTP API `v1`: a Lambda authorizer resolving tenant API keys, and one small function per
 * route so each carries only the permissions and code it needs.
 */
export class OffloadHttpApi extends Construct {
  public readonly api: HttpApi;
  public readonly authorizerFunction: OffloadFunction;
  public readonly submitFunction: OffloadFunction;
  public readonly getTaskFunction: OffloadFunction;
  public readonly getEventsFunction: OffloadFunction;
  public readonly listFunction: OffloadFunction;
  public readonly cancelFunction: OffloadFunction;
  public readonly tokensFunction: OffloadFunction;
  public readonly webhooksFunction: OffloadFunction;
  /** Serves the public API descriptions (`/v1/openapi.json`, `/v1/asyncapi.json`). */
  public readonly documentsFunction: OffloadFunction;
  /** Serves `GET /v1/queues` (queue depths per workload class), once {@link addQueueDepthsRoute} ran. */
  public queueDepthsFunction: OffloadFunction | undefined;
  /** Serves `GET /v1/tasks/{id}/download` (presigned export URLs), once {@link addDownloadRoute} ran. */
  public downloadFunction: OffloadFunction | undefined;
  private readonly authorizer: HttpLambdaAuthorizer;
  private readonly tasksTable: ITable;

  public constructor(scope: Construct, id: string, props: OffloadHttpApiProps) {
    super(scope, id);
    this.tasksTable = props.tasksTable;
    const environment = { TASKS_TABLE: props.tasksTable.tableName };

    this.authorizerFunction = new OffloadFunction(this, 'Authorizer', {
      entry: 'handlers/http/rate-limited-authorizer.ts',
      description: 'Offload HTTP API authorizer (tenant API keys, client tokens)',
      environment: {
        ...environment,
        TOKEN_SECRET_ARN: props.tokenKey.secretArn,
        [TENANT_RATE_ENV.ratePerSecond]: String(positive(props.tenantRateLimit ?? TENANT_RATE_DEFAULTS.ratePerSecond, 'tenantRateLimit')),
        [TENANT_RATE_ENV.burst]: String(positive(props.tenantBurstLimit ?? TENANT_RATE_DEFAULTS.burst, 'tenantBurstLimit')),
      },
    });
    props.tasksTable.grantReadData(this.authorizerFunction);
    props.tokenKey.grantRead(this.authorizerFunction);
    // No identity source: the authorizer runs for every request and marks it authenticated or not,
    // so that missing credentials are answered by the route as problem+json 401.
    const authorizer = new HttpLambdaAuthorizer('ApiKeyAuthorizer', this.authorizerFunction, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: [],
      resultsCacheTtl: Duration.seconds(0),
    });
    this.authorizer = authorizer;

    this.api = new HttpApi(this, 'Api', {
      description: 'Offload HTTP API v1',
      createDefaultStage: true,
      ...(props.corsOrigins?.length
        ? {
            corsPreflight: {
              allowOrigins: validCorsOrigins(props.corsOrigins),
              allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST, CorsHttpMethod.DELETE],
              allowHeaders: ['authorization', 'content-type', 'idempotency-key', 'if-none-match'],
              exposeHeaders: ['etag', 'location', 'retry-after', 'idempotent-replayed'],
              maxAge: Duration.hours(1),
            },
          }
        : {}),
    });
    const throttle = props.throttle ?? { rateLimit: 1000, burstLimit: 2000 };
    const stage = this.api.defaultStage?.node.defaultChild as import('aws-cdk-lib/aws-apigatewayv2').CfnStage;
    stage.defaultRouteSettings = { throttlingRateLimit: throttle.rateLimit, throttlingBurstLimit: throttle.burstLimit };
    stage.accessLogSettings = accessLogs(this, 'AccessLogs', 'http');

    this.submitFunction = new OffloadFunction(this, 'Submit', {
      entry: 'handlers/http/submit.ts',
      description: 'Offload POST /v1/tasks (ack path)',
      environment: { ...environment, EVENT_BUS_NAME: props.bus.eventBusName, TENANT_INFLIGHT_LIMIT: inflightLimitOf(props.tenantInflightLimit) },
    });
    props.tasksTable.grantReadWriteData(this.submitFunction);
    props.bus.grantPutEventsTo(this.submitFunction);

    this.getTaskFunction = new OffloadFunction(this, 'GetTask', {
      entry: 'handlers/http/get-task.ts',
      description: 'Offload GET /v1/tasks/{id}',
      environment,
    });
    props.tasksTable.grantReadData(this.getTaskFunction);

    this.getEventsFunction = new OffloadFunction(this, 'GetEvents', {
      entry: 'handlers/http/get-events.ts',
      description: 'Offload GET /v1/tasks/{id}/events',
      environment,
    });
    props.tasksTable.grantReadData(this.getEventsFunction);

    this.listFunction = new OffloadFunction(this, 'ListTasks', {
      entry: 'handlers/http/list-tasks.ts',
      description: 'Offload GET /v1/tasks',
      // Listing cursors are sealed under a key derived from the token signing secret (lambdas/core/cursor.ts).
      environment: { ...environment, TOKEN_SECRET_ARN: props.tokenKey.secretArn },
    });
    props.tasksTable.grantReadData(this.listFunction);
    props.tokenKey.grantRead(this.listFunction);

    this.cancelFunction = new OffloadFunction(this, 'CancelTask', {
      entry: 'handlers/http/cancel-task.ts',
      description: 'Offload POST /v1/tasks/{id}/cancel',
      environment: {
        ...environment,
        EVENT_BUS_NAME: props.bus.eventBusName,
        CONNECTIONS_TABLE: props.connectionsTable.tableName,
        WS_MANAGEMENT_ENDPOINT: props.managementEndpoint,
      },
    });
    props.tasksTable.grantReadWriteData(this.cancelFunction);
    props.connectionsTable.grantReadWriteData(this.cancelFunction);
    props.bus.grantPutEventsTo(this.cancelFunction);
    this.cancelFunction.addToRolePolicy(new PolicyStatement({ actions: ['execute-api:ManageConnections'], resources: [props.manageConnectionsArn] }));

    this.tokensFunction = new OffloadFunction(this, 'Tokens', {
      entry: 'handlers/http/tokens.ts',
      description: 'Offload POST /v1/tokens (client tokens)',
      environment: { TOKEN_SECRET_ARN: props.tokenKey.secretArn },
    });
    props.tokenKey.grantRead(this.tokensFunction);

    this.webhooksFunction = new OffloadFunction(this, 'Webhooks', {
      entry: 'handlers/http/webhooks.ts',
      description: 'Offload /v1/webhooks (register, list, delete endpoints)',
      environment,
    });
    props.tasksTable.grantReadWriteData(this.webhooksFunction);

    const route = (path: string, method: HttpMethod, fn: OffloadFunction, name: string) =>
      this.api.addRoutes({ path, methods: [method], integration: new HttpLambdaIntegration(name, fn), authorizer });
    route('/v1/tasks', HttpMethod.POST, this.submitFunction, 'SubmitIntegration');
    route('/v1/tasks/{id}', HttpMethod.GET, this.getTaskFunction, 'GetTaskIntegration');
    route('/v1/tasks/{id}/events', HttpMethod.GET, this.getEventsFunction, 'GetEventsIntegration');
    route('/v1/tasks', HttpMethod.GET, this.listFunction, 'ListTasksIntegration');
    route('/v1/tasks/{id}/cancel', HttpMethod.POST, this.cancelFunction, 'CancelTaskIntegration');
    route('/v1/tokens', HttpMethod.POST, this.tokensFunction, 'TokensIntegration');
    const webhooks = new HttpLambdaIntegration('WebhooksIntegration', this.webhooksFunction);
    this.api.addRoutes({ path: '/v1/webhooks', methods: [HttpMethod.POST, HttpMethod.GET], integration: webhooks, authorizer });
    this.api.addRoutes({ path: '/v1/webhooks/{id}', methods: [HttpMethod.DELETE], integration: webhooks, authorizer });

    // The API descriptions are public: no authorizer, no data access, no environment.
    this.documentsFunction = new OffloadFunction(this, 'ApiDocuments', {
      entry: 'handlers/http/api-documents.ts',
      description: 'Offload GET /v1/openapi.json and /v1/asyncapi.json (public API descriptions)',
    });
    const documents = new HttpLambdaIntegration('ApiDocumentsIntegration', this.documentsFunction);
    for (const path of ['/v1/openapi.json', '/v1/asyncapi.json']) this.api.addRoutes({ path, methods: [HttpMethod.GET], integration: documents });
  }

  /**
   * Adds `GET /v1/queues` behind the authorizer: approximate visible, in-flight and dead-lettered
   * message counts of each workload class (read-only aggregate figures, for the dashboard). Its
   * function may call `sqs:GetQueueAttributes` on exactly these queues and nothing else.
   *
   * @example
   * ```ts
   * httpApi.addQueueDepthsRoute({ interactive: { queue, deadLetterQueue }, ... });
   * ```
   */
  public addQueueDepthsRoute(queues: Readonly<Record<WorkloadClass, { readonly queue: IQueue; readonly deadLetterQueue: IQueue }>>): OffloadFunction {
    if (this.queueDepthsFunction) throw new Error('GET /v1/queues is already routed');
    const environment: Record<string, string> = {};
    for (const [workloadClass, { queue, deadLetterQueue }] of Object.entries(queues) as [WorkloadClass, { queue: IQueue; deadLetterQueue: IQueue }][]) {
      const names = queueUrlVariables(workloadClass);
      environment[names.queueUrl] = queue.queueUrl;
      environment[names.deadLetterQueueUrl] = deadLetterQueue.queueUrl;
    }
    const fn = new OffloadFunction(this, 'QueueDepths', {
      entry: 'handlers/http/queues.ts',
      description: 'Offload GET /v1/queues (queue depths per workload class)',
      environment,
    });
    for (const { queue, deadLetterQueue } of Object.values(queues)) {
      queue.grant(fn, 'sqs:GetQueueAttributes');
      deadLetterQueue.grant(fn, 'sqs:GetQueueAttributes');
    }
    this.api.addRoutes({ path: '/v1/queues', methods: [HttpMethod.GET], integration: new HttpLambdaIntegration('QueueDepthsIntegration', fn), authorizer: this.authorizer });
    this.queueDepthsFunction = fn;
    return fn;
  }

  /**
   * Adds `GET /v1/tasks/{id}/download` behind the authorizer: a presigned S3 GET URL (valid
   * `DOWNLOAD_URL_TTL_SECONDS`) of a succeeded `tasks.export` task's NDJSON. A presigned URL
   * carries its signer's permissions, so the function may read the tasks table and call
   * `s3:GetObject` under `exports/` of the exports bucket, and nothing else.
   *
   * @example
   * ```ts
   * httpApi.addDownloadRoute(exports.bucket);
   * ```
   */
  public addDownloadRoute(exportsBucket: IBucket): OffloadFunction {
    if (this.downloadFunction) throw new Error('GET /v1/tasks/{id}/download is already routed');
    const fn = new OffloadFunction(this, 'DownloadTask', {
      entry: 'handlers/http/download-task.ts',
      description: 'Offload GET /v1/tasks/{id}/download (presigned URL of a finished export)',
      environment: { TASKS_TABLE: this.tasksTable.tableName, EXPORTS_BUCKET: exportsBucket.bucketName },
    });
    this.tasksTable.grantReadData(fn);
    // GetObject under exports/ only (grantRead would add s3:GetBucket* and s3:List* on the whole bucket).
    fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [exportsBucket.arnForObjects('exports/*')] }));
    this.api.addRoutes({ path: '/v1/tasks/{id}/download', methods: [HttpMethod.GET], integration: new HttpLambdaIntegration('DownloadTaskIntegration', fn), authorizer: this.authorizer });
    this.downloadFunction = fn;
    return fn;
  }
}
