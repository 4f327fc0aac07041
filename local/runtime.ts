import { FaultInjector, type FaultConfig } from './faults.ts';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { LocalCdn } from './cdn.ts';
import { BUCKET_DEPLOYMENT_TYPE, bucketDeploymentProviders, deployBuckets, s3OriginReader } from './bucket-deployment.ts';
import { mintClientToken, withDevCredential } from './dashboard-config.ts';
import { DASHBOARD_CONFIG, DASHBOARD_PAGE, DASHBOARD_PATH } from '../dashboard/site.ts';
import { LocalSecretsManager } from './secretsmanager.ts';
import { DEFAULT_KMS_PORT, KMS_ENDPOINT_VARIABLE, LocalKms } from './kms/kms-service.ts';
import { BEDROCK_ENDPOINT_VARIABLE, DEFAULT_BEDROCK_PORT, LocalBedrockRuntime } from './bedrock/local-bedrock-runtime.ts';
import { ensureDevTenant, type DevTenant } from './dev-tenant.ts';
import { ensurePrivateDir, writePrivateFile } from './private-file.ts';
import { startDynamo, type LocalDynamo } from './engines/dynamodb.ts';
import { localCredentials } from './engines/credentials.ts';
import { startSqs, type LocalSqs } from './engines/sqs.ts';
import { LocalEventBridge } from './eventbridge/eventbridge-service.ts';
import { ApiCallCounter } from './http-util.ts';
import { LocalHttpApi } from './apigateway/http-api.ts';
import { LocalWebSocketApi, DEFAULT_WS_LIMITS, type WebSocketLimits } from './apigateway/websocket-api.ts';
import { LocalFunction } from './lambda/lambda-service.ts';
import { InProcessTransport } from './lambda/in-process-transport.ts';
import { SqsEventSource } from './lambda/sqs-event-source.ts';
import { PROJECT_DIR, synthesizeInChild } from './synth-child.ts';
import { LOCAL_REGION, LocalTemplate, UnsupportedTemplateError, assemblyStackId, localArn } from './template.ts';
import { OPERATOR_OUTPUTS } from '../lib/stack-outputs.ts';
import { DEFAULT_IAM_MODE, IamEnforcer, type IamMode } from './iam/mode.ts';
import { IamPolicyStore } from './iam/policy-store.ts';
import { checkSqsEventSourceRole, sqsEventSourceMappings } from './iam/event-source-role.ts';
import { withOriginAccessControl } from './iam/origin-access-control.ts';
import { loadStackTemplate, locateStack } from './preflight/cloud-assembly.ts';
import { checkDeployPreflight, type PreflightOptions } from './preflight/preflight.ts';

/** Fixed ports `npm start` uses, so URLs stay stable between runs. */
export const DEFAULT_PORTS = { httpApi: 4700, webSocketApi: 4701, cdn: 4702, dynamodb: 4703, sqs: 4704, eventbridge: 4705, secretsmanager: 4706 } as const;
export type Ports = { readonly [K in keyof typeof DEFAULT_PORTS]: number };

/** Options of {@link startRuntime}; the {@link PreflightOptions} describe the AWS account the deploy preflight assumes. */
export interface RuntimeOptions extends PreflightOptions {
  /** State directory. @default '.offload' */
  readonly dir?: string;
  /** Start with empty data. @default false */
  readonly fresh?: boolean;
  /** Ports, or 0 for each to pick free ones. @default DEFAULT_PORTS */
  readonly ports?: Partial<Ports> | 'dynamic';
  /**
   * Run an existing cloud assembly (`cdk synth -o <dir>`) instead of synthesizing: its stack is
   * read from `manifest.json` (a directory without one holding `Offload.template.json` is read as stack `Offload`).
   */
  readonly cdkOut?: string;
  /** Stack of `cdkOut` to run (artifact id or stack name) when it holds several. @default its only stack */
  readonly stackName?: string;
  /** Project whose app is synthesized. @default this repository */
  readonly projectDir?: string;
  /** Where function and runtime logs go. @default 'console' */
  readonly logs?: 'console' | 'file' | 'silent';
  /** WebSocket limits. @default AWS's */
  readonly webSocketLimits?: Partial<WebSocketLimits>;
  /** Start polling the queues. Off only to hold messages in the queues (tests of persistence). @default true */
  readonly eventSources?: boolean;
  /** Multiplies schedule intervals (see LocalEventBridgeOptions). @default 1 */
  readonly scheduleTimeScale?: number;
  /** Extra environment for every function (for example a faster progress interval). */
  readonly functionEnvironment?: Record<string, string>;
  /**
   * Caps every SQS event source's maximum concurrency below the template's (tests that need a
   * saturated class without hundreds of invocations). @default the template's values
   */
  readonly eventSourceMaxConcurrency?: number;
  /**
   * Fault injection (off by default): an injector shared across restarts, or its configuration.
   * Without this option the environment is read (`OFFLOAD_FAULTS` JSON or `OFFLOAD_FAULTS_FILE`).
   */
  readonly faults?: FaultInjector | FaultConfig;
  /**
   * Nice value of the workload-class workers' environment threads (0 = the same priority as the
   * request path); `OFFLOAD_WORKER_NICE` in the environment when not given. @default DEFAULT_WORKER_NICE
   */
  readonly workerNice?: number;
  /**
   * Warm execution environments kept per function, as AWS keeps environments between requests:
   * created in the background after start (one at a time, yielding to invocations that wait for a
   * creation, so start-up does not starve the engines) and replenished when environments end
   * (timeouts, crashes). A burst of up to this many concurrent requests to a function pays no cold
   * start; bigger bursts create the rest on demand. Each costs a cold start's CPU (~0.4 s) and its memory; 0 creates
   * environments on demand only. `OFFLOAD_WARM_ENVIRONMENTS` in the environment when not given.
   * @default DEFAULT_WARM_ENVIRONMENTS
   */
  readonly warmEnvironments?: number;
  /**
   * Local only, invisible to the functions' code and to AWS: the functions' SDK calls to the local
   * engines (DynamoDB, SQS, S3, EventBridge, Secrets Manager, `@connections`) and the SQS pollers'
   * calls cross a MessagePort into the engine's request listener instead of a loopback HTTP
   * connection; the same SDK signs and parses the same wire format, and call counting, fault
   * injection and IAM enforcement apply as on HTTP. Off: everything over loopback HTTP.
   * `OFFLOAD_IN_PROCESS_TRANSPORT=off` in the environment turns it off when not given. @default true
   */
  readonly inProcessTransport?: boolean;
  /**
   * IAM enforcement: each function calls AWS with credentials of its own role, and a call its
   * policies do not allow is refused as AWS refuses it (`strict`), only logged (`soft`), or not
   * checked (`off`). @default 'strict'
   */
  readonly iam?: IamMode;
}

/**
 * On AWS the workers of each class run on capacity of their own; on one machine they share the
 * cores with the API emulation and the ack path, so they run at a lower priority by default.
 */
export const DEFAULT_WORKER_NICE = 10;

/** Warm environments kept per function by default (see {@link RuntimeOptions.warmEnvironments}). */
export const DEFAULT_WARM_ENVIRONMENTS = 1;

/** The `.offload/endpoints.json` document (SPEC §4). */
export interface Endpoints {
  readonly httpApi: string;
  readonly webSocketApi: string;
  readonly cdn: string;
  readonly services: { readonly dynamodb: string; readonly sqs: string; readonly eventbridge: string; readonly apigatewaymanagementapi: string; readonly secretsmanager: string };
  readonly devTenant: DevTenant;
  readonly dashboard: string;
  /** What operators' tools need (the `offload` CLI): the same values as the stack's operator outputs on AWS. */
  readonly resources: OperatorResources;
}

/** The tasks table and each workload class's queue and DLQ, by URL. */
export interface OperatorResources {
  readonly tasksTable: string;
  /** The connections table: revoking a key finds its connections there (the `@connections` endpoint is `services.apigatewaymanagementapi`). */
  readonly connectionsTable: string;
  readonly queues: { readonly [K in keyof typeof OPERATOR_OUTPUTS.queueUrl]: { readonly url: string; readonly deadLetterUrl: string } };
}

/** A running local Offload. */
export interface Runtime {
  readonly endpoints: Endpoints;
  readonly template: LocalTemplate;
  readonly functions: ReadonlyMap<string, LocalFunction>;
  readonly eventSources: readonly SqsEventSource[];
  readonly counter: ApiCallCounter;
  /** The fault injector, when this run injects faults. */
  readonly faults: FaultInjector | undefined;
  readonly sqs: LocalSqs;
  readonly dynamo: LocalDynamo;
  readonly eventBridge: LocalEventBridge;
  readonly cdn: LocalCdn;
  readonly webSocket: LocalWebSocketApi;
  /** IAM: the template's policies, the functions' credentials, the enforcement mode. */
  readonly iam: IamEnforcer;
  /** The local KMS (the template's keys). */
  readonly kms: LocalKms;
  /** A multi-line start-up summary. */
  readonly summary: string;
  stop(): Promise<void>;
}

const IGNORED_TYPES = new Set([
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::Logs::LogGroup',
  'AWS::Lambda::Permission',
  'AWS::SQS::QueuePolicy',
  'AWS::S3::BucketPolicy',
  'AWS::ApiGatewayV2::Integration',
  'AWS::ApiGatewayV2::Route',
  'AWS::ApiGatewayV2::RouteResponse',
  'AWS::ApiGatewayV2::Authorizer',
  'AWS::ApiGatewayV2::Stage',
  'AWS::CloudFront::CachePolicy',
  'AWS::CDK::Metadata',
  // CloudWatch is not emulated: metrics are the EMF lines in the function logs.
  'AWS::CloudWatch::Alarm',
  'AWS::CloudWatch::Dashboard',
  // Nothing to create: an S3 origin naming one is read as cloudfront.amazonaws.com, checked against the bucket policy (local/iam/origin-access-control.ts).
  'AWS::CloudFront::OriginAccessControl',
  // Account-wide API Gateway setting (the CloudWatch role WebSocket stage logging needs on AWS): no local counterpart.
  'AWS::ApiGateway::Account',
  // Alarm notifications (topic, its policy and key, the optional e-mail subscription): alarms are not emulated either.
  'AWS::SNS::Topic',
  'AWS::SNS::TopicPolicy',
  'AWS::SNS::Subscription',
]);
const HANDLED_TYPES = new Set([
  'AWS::DynamoDB::Table',
  'AWS::SQS::Queue',
  'AWS::Events::EventBus',
  'AWS::Events::Rule',
  'AWS::Lambda::Function',
  'AWS::Lambda::EventSourceMapping',
  'AWS::ApiGatewayV2::Api',
  'AWS::CloudFront::Distribution',
  // Applied by the local CDN to the behaviours naming it (local/cdn.ts).
  'AWS::CloudFront::ResponseHeadersPolicy',
  // Viewer-request functions, run by the local CDN (local/cloudfront-functions.ts).
  'AWS::CloudFront::Function',
  'AWS::SecretsManager::Secret',
  // The local KMS (local/kms/): symmetric keys, their key policies enforced as AWS KMS does.
  'AWS::KMS::Key',
  'AWS::S3::Bucket',
  // BucketDeployment: the runtime copies the sources itself (local/bucket-deployment.ts); its
  // provider function (Python) and that function's layer (the AWS CLI) are never run locally.
  BUCKET_DEPLOYMENT_TYPE,
  'AWS::Lambda::LayerVersion',
]);

/**
 * Starts the embedded local runtime: synthesizes the real stack, then runs its template on this
 * machine — DynamoDB (dynalite), SQS (fauxqs), EventBridge, API Gateway HTTP and WebSocket APIs,
 * CloudFront and every Lambda from its bundled asset — and writes `endpoints.json`.
 */
export const startRuntime = async (options: RuntimeOptions = {}): Promise<Runtime> => {
  const dir = path.resolve(options.dir ?? '.offload');
  if (options.fresh) rmSync(path.join(dir, 'data'), { recursive: true, force: true });
  ensurePrivateDir(dir);
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const ports: Ports =
    options.ports === 'dynamic'
      ? { httpApi: 0, webSocketApi: 0, cdn: 0, dynamodb: 0, sqs: 0, eventbridge: 0, secretsmanager: 0 }
      : { ...DEFAULT_PORTS, ...(options.ports ?? {}) };
  const logMode = options.logs ?? 'console';
  const logFile = path.join(dir, 'runtime.log');
  // Set once stop() begins: late asynchronous work (an async invocation's retry, say) ends quietly.
  let stopping = false;
  // Set once stop() finished: nothing may write into the state directory after (its owner may be removing it).
  let stopped = false;
  const log = (source: string, line: string) => {
    if (stopped) return;
    if (logMode === 'console') process.stdout.write(`[${source}] ${line}\n`);
    else if (logMode === 'file') {
      // A log line is never worth a crash: the state directory may already be gone after stop().
      try {
        appendFileSync(logFile, `${new Date().toISOString()} [${source}] ${line}\n`);
      } catch {
        /* dropped */
      }
    }
  };

  const cdkOut = options.cdkOut ?? path.join(dir, 'cdk.out');
  // The stack (its template and asset manifest) comes from the assembly's manifest.json; then the deploy preflight.
  const stack = locateStack(cdkOut, options.cdkOut ? options.stackName : await synthesizeInChild(cdkOut, options.projectDir ?? PROJECT_DIR));
  const template = loadStackTemplate(stack);
  checkDeployPreflight(template.template, options);
  for (const [logicalId, resource] of Object.entries(template.template.Resources)) {
    if (!IGNORED_TYPES.has(resource.Type) && !HANDLED_TYPES.has(resource.Type)) {
      throw new UnsupportedTemplateError(logicalId, 'Type', `${resource.Type} is not supported by the local runtime`);
    }
  }
  const deploymentProviders = bucketDeploymentProviders(template);
  for (const [logicalId] of template.ofType('AWS::Lambda::LayerVersion')) {
    if (!deploymentProviders.layers.has(logicalId)) throw new UnsupportedTemplateError(logicalId, 'Type', 'Lambda layers are supported only as the BucketDeployment provider\u2019s');
  }
  for (const [logicalId, resource] of Object.entries(template.template.Resources)) {
    if (resource.Type === 'AWS::Logs::LogGroup') template.register(logicalId, { ref: `/aws/offload/${logicalId}`, attributes: { Arn: localArn('logs', `log-group:/aws/offload/${logicalId}`) } });
    if (resource.Type === 'AWS::CloudFront::CachePolicy') template.register(logicalId, { ref: logicalId, attributes: { Id: logicalId } });
    if (resource.Type === 'AWS::CloudFront::ResponseHeadersPolicy') template.register(logicalId, { ref: logicalId, attributes: { Id: logicalId } });
    if (resource.Type === 'AWS::CloudFront::Function') {
      template.register(logicalId, { ref: logicalId, attributes: { FunctionARN: localArn('cloudfront', `function/${logicalId}`), Stage: 'LIVE' } });
    }
  }

  // IAM: reads the roles and policies (registering the roles' values); documents resolve once the resources exist.
  const iam = new IamEnforcer(IamPolicyStore.fromTemplate(template), options.iam ?? DEFAULT_IAM_MODE, (line) => log('iam', line));

  const workerNice = options.workerNice ?? (process.env.OFFLOAD_WORKER_NICE ? Number(process.env.OFFLOAD_WORKER_NICE) : DEFAULT_WORKER_NICE);
  if (!Number.isInteger(workerNice) || workerNice < 0 || workerNice > 19) throw new RangeError(`workerNice must be an integer from 0 to 19, got ${workerNice}`);
  const warmEnvironments = options.warmEnvironments ?? (process.env.OFFLOAD_WARM_ENVIRONMENTS ? Number(process.env.OFFLOAD_WARM_ENVIRONMENTS) : DEFAULT_WARM_ENVIRONMENTS);
  if (!Number.isInteger(warmEnvironments) || warmEnvironments < 0) throw new RangeError(`warmEnvironments must be a non-negative integer, got ${warmEnvironments}`);
  const inProcess = options.inProcessTransport ?? process.env.OFFLOAD_IN_PROCESS_TRANSPORT !== 'off';
  const counter = new ApiCallCounter();
  const faults = options.faults instanceof FaultInjector ? options.faults : options.faults ? new FaultInjector(options.faults) : FaultInjector.fromEnvironment();
  if (faults) log('faults', `fault injection on: ${JSON.stringify(faults.config.probabilities)}`);
  const dynamo = await startDynamo(template, { dataDir: path.join(dir, 'data', 'dynamodb'), port: ports.dynamodb, counter, callerIam: iam, ...(faults ? { faults } : {}) });
  const sqs = await startSqs(template, { dataDir: path.join(dir, 'data', 'sqs'), port: ports.sqs, callerIam: iam, inProcess, ...(faults ? { faults } : {}) });
  const secrets = new LocalSecretsManager(template, path.join(dir, 'data', 'secrets.json'), counter, iam);
  secrets.load();
  const kms = new LocalKms(template, path.join(dir, 'data', 'kms.json'), counter, iam);
  kms.load();
  const functions = new Map<string, LocalFunction>();
  const functionOf = (logicalId: string): LocalFunction => {
    const fn = functions.get(logicalId);
    if (!fn) throw new Error(`No local function ${logicalId}`);
    return fn;
  };
  for (const [logicalId] of template.ofType('AWS::Lambda::Function')) {
    const name = `Offload-${logicalId}`;
    template.register(logicalId, { ref: name, attributes: { Arn: localArn('lambda', `function:${name}`) } });
  }
  const eventBridge = new LocalEventBridge(template, sqs, counter, (line) => log('eventbridge', line), {
    // Asynchronous invocation: accepted at once; Lambda retries a failing function twice.
    invokeFunction: async (arn, event) => {
      const fn = functionOf(arn.split(':function:')[1]!.replace(/^Offload-/, ''));
      void (async () => {
        for (let attempt = 1; attempt <= 3 && !stopping; attempt++) {
          try {
            await fn.invoke(event);
            return;
          } catch (error) {
            if (stopping) return;
            log('lambda', `${fn.config.functionName} async invocation attempt ${attempt} failed: ${(error as Error).message}`);
            await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt).unref());
          }
        }
      })();
    },
    ...(options.scheduleTimeScale !== undefined ? { scheduleTimeScale: options.scheduleTimeScale } : {}),
    ...(faults ? { faults } : {}),
    callerIam: iam,
    // Deliveries need the target's queue policy or Lambda permission (service-to-service hops).
    iam,
  });
  eventBridge.load();
  const httpApis: LocalHttpApi[] = [];
  const webSockets: LocalWebSocketApi[] = [];
  for (const [logicalId, resource] of template.ofType('AWS::ApiGatewayV2::Api')) {
    if (resource.Properties?.ProtocolType === 'HTTP') httpApis.push(new LocalHttpApi(template, logicalId, functionOf, (line) => log('http-api', line), iam));
    else if (resource.Properties?.ProtocolType === 'WEBSOCKET') webSockets.push(new LocalWebSocketApi(template, logicalId, functionOf, counter, { ...DEFAULT_WS_LIMITS, ...options.webSocketLimits }, (line) => log('websocket-api', line), faults, iam));
    else throw new UnsupportedTemplateError(logicalId, 'ProtocolType', String(resource.Properties?.ProtocolType));
  }
  if (httpApis.length !== 1 || webSockets.length !== 1) throw new Error('The local runtime expects exactly one HTTP API and one WebSocket API');
  const httpApi = httpApis[0]!;
  const webSocket = webSockets[0]!;
  httpApi.registerId();
  webSocket.registerId();
  webSocket.callerIam = iam;
  httpApi.load();
  webSocket.load();

  const distributions = template.ofType('AWS::CloudFront::Distribution');
  if (distributions.length !== 1) throw new Error('The local runtime expects exactly one CloudFront distribution');
  // S3 (the analytics export, the dashboard site) lives in the SQS engine's process (fauxqs serves both).
  const s3 = new S3Client({ endpoint: sqs.endpoint, region: LOCAL_REGION, forcePathStyle: true, credentials: localCredentials, maxAttempts: 3 });
  const dashboardKey = `${DASHBOARD_PATH.slice(1)}${DASHBOARD_CONFIG}`;
  let dashboardBucket = '';
  let devApiKey = '';
  // S3 answers the distribution's origin access control reads as the bucket policy decides.
  const s3Origin = withDevCredential(withOriginAccessControl(s3OriginReader(s3), iam, template, distributions[0]![0]), { get bucket() { return dashboardBucket; }, key: dashboardKey }, () => mintClientToken(httpApi.endpoint, devApiKey));
  // A response headers policy naming the WebSocket API (the dashboard's CSP connect-src) names its AWS origin: the local server's instead.
  const cdn = new LocalCdn(template, distributions[0]![0], () => httpApi.endpoint, s3Origin, {
    headerRewrites: () => [[`wss://${webSocket.apiId}.execute-api.${LOCAL_REGION}.amazonaws.com`, new URL(webSocket.endpoint).origin]],
  });
  cdn.load();
  template.register(distributions[0]![0], { ref: 'LOCALCDN', attributes: { DomainName: 'local.cloudfront.net' } });
  // Deploy time: Lambda refuses an SQS event source mapping whose role may not consume the queue.
  try {
    for (const mapping of sqsEventSourceMappings(template, iam.store)) checkSqsEventSourceRole(iam, mapping);
  } catch (error) {
    await Promise.allSettled([sqs.stop(), dynamo.stop()]);
    throw error;
  }

  await httpApi.start(ports.httpApi);
  await webSocket.start(ports.webSocketApi);
  await cdn.start(ports.cdn);
  await eventBridge.start(ports.eventbridge);
  await secrets.start(ports.secretsmanager);
  await kms.start(options.ports === 'dynamic' ? 0 : DEFAULT_KMS_PORT);
  // Bedrock Runtime (ConverseStream, simulated text) only when some function calls Bedrock.
  const bedrockEnabled = template
    .ofType('AWS::Lambda::Function')
    .some(([, resource]) => ((resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}).BEDROCK_ENABLED === 'true');
  const bedrock = bedrockEnabled ? new LocalBedrockRuntime(iam, (line) => log('bedrock', line)) : undefined;
  await bedrock?.start(options.ports === 'dynamic' ? 0 : DEFAULT_BEDROCK_PORT);

  // Endpoints the stack addresses by AWS host name, rewritten to their local servers.
  const rewrites: [string, string][] = [
    [`https://${webSocket.apiId}.execute-api.${LOCAL_REGION}.amazonaws.com/${webSocket.stageName}`, webSocket.managementEndpoint],
    [`https://${httpApi.apiId}.execute-api.${LOCAL_REGION}.amazonaws.com`, httpApi.endpoint],
  ];
  const awsEnvironment = {
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
    AWS_SESSION_TOKEN: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    [KMS_ENDPOINT_VARIABLE]: kms.endpoint,
    AWS_ENDPOINT_URL_S3: sqs.endpoint,
    AWS_S3_FORCE_PATH_STYLE: 'true',
    ...(bedrock ? { [BEDROCK_ENDPOINT_VARIABLE]: bedrock.endpoint } : {}),
  };
  iam.load();
  await iam.validateActions();
  // Function threads reach these engines over a MessagePort (RuntimeOptions.inProcessTransport).
  const transport = inProcess ? new InProcessTransport() : undefined;
  if (transport) {
    for (const [endpoint, server] of [
      [dynamo.endpoint, dynamo.server],
      [sqs.endpoint, sqs.httpServer],
      [eventBridge.endpoint, eventBridge.server],
      [secrets.endpoint, secrets.server],
      [kms.endpoint, kms.server],
      [webSocket.managementEndpoint, webSocket.server],
    ] as const) {
      transport.register(endpoint, server);
    }
  }
  for (const [logicalId, resource] of template.ofType('AWS::Lambda::Function')) {
    if (deploymentProviders.functions.has(logicalId)) continue;
    const properties = resource.Properties ?? {};
    const variables = ((properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
    const environment: Record<string, string> = {};
    for (const [name, value] of Object.entries(variables)) {
      let resolved = template.resolveString(value, `${logicalId}.Environment.Variables.${name}`);
      for (const [from, to] of rewrites) if (resolved.startsWith(from)) resolved = to + resolved.slice(from.length);
      environment[name] = resolved;
    }
    const name = `Offload-${logicalId}`;
    const memorySize = Number(properties.MemorySize ?? 128);
    const codeDir = template.assetPathOf(logicalId);
    functions.set(
      logicalId,
      new LocalFunction(
        {
          logicalId,
          functionName: name,
          arn: localArn('lambda', `function:${name}`),
          codeDir,
          handler: String(properties.Handler ?? 'index.handler'),
          timeoutSeconds: Number(properties.Timeout ?? 3),
          memorySize,
          environment: {
            ...environment,
            ...awsEnvironment,
            // Credentials of the function's own role session (IAM enforcement identifies it by them).
            ...iam.environmentOf(logicalId, name),
            AWS_EXECUTION_ENV: `AWS_Lambda_${String(properties.Runtime ?? 'nodejs24.x')}`,
            AWS_LAMBDA_FUNCTION_NAME: name,
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memorySize),
            AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
            AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
            LAMBDA_TASK_ROOT: codeDir,
            _HANDLER: String(properties.Handler ?? 'index.handler'),
            // Local only: webhook endpoints on loopback (test receivers) are allowed.
            WEBHOOK_ALLOW_LOOPBACK: 'true',
            ...options.functionEnvironment,
          },
          ...(properties.ReservedConcurrentExecutions !== undefined ? { reservedConcurrency: Number(properties.ReservedConcurrentExecutions) } : {}),
          // Queue-driven workers yield the cores to the request path (see LocalFunctionConfig.cpuNice).
          ...(environment.WORKLOAD_CLASS ? { cpuNice: workerNice } : {}),
          compileCacheDir: path.join(dir, 'compile-cache'),
          ...(transport ? { transport } : {}),
        },
        log,
      ),
    );
    // Fault injection kills or times out worker invocations (the functions that run tasks) mid-way.
    const fn = functions.get(logicalId)!;
    if (faults && fn.config.environment.WORKLOAD_CLASS) {
      fn.faultPlan = () =>
        faults.roll('workerKill') ? { kind: 'workerKill', delayMs: faults.killDelayMs() } : faults.roll('invocationTimeout') ? { kind: 'invocationTimeout', delayMs: faults.killDelayMs() } : undefined;
    }
  }

  const eventSources: SqsEventSource[] = [];
  for (const [logicalId, resource] of template.ofType('AWS::Lambda::EventSourceMapping')) {
    const properties = resource.Properties ?? {};
    const queueArn = template.resolveString(properties.EventSourceArn, logicalId);
    const queueUrl = sqs.urlByArn.get(queueArn);
    if (!queueUrl) throw new UnsupportedTemplateError(logicalId, 'EventSourceArn', 'only SQS event sources are supported');
    const functionId = (properties.FunctionName as { Ref?: string })?.Ref;
    if (!functionId || !functions.has(functionId)) throw new UnsupportedTemplateError(logicalId, 'FunctionName', 'expected a Ref to a function of this stack');
    const scaling = properties.ScalingConfig as { MaximumConcurrency?: number } | undefined;
    const source = new SqsEventSource(
      {
        logicalId,
        queueArn,
        queueUrl,
        batchSize: Number(properties.BatchSize ?? 10),
        maxBatchingWindowSeconds: Number(properties.MaximumBatchingWindowInSeconds ?? 0),
        ...(scaling?.MaximumConcurrency !== undefined || options.eventSourceMaxConcurrency !== undefined
          ? { maxConcurrency: Math.min(scaling?.MaximumConcurrency ?? Infinity, options.eventSourceMaxConcurrency ?? Infinity) }
          : {}),
        reportBatchItemFailures: ((properties.FunctionResponseTypes as string[] | undefined) ?? []).includes('ReportBatchItemFailures'),
        // The pollers receive and delete as the function's execution role.
        credentials: iam.identities.issue(functionId, iam.store.roleOfFunction(functionId, functionOf(functionId).config.functionName)),
        ...(transport ? { transport } : {}),
      },
      () => functionOf(functionId),
      sqs,
      counter,
      (line) => log('event-source', line),
    );
    eventSources.push(source);
  }

  const tasksTable = template.ofType('AWS::DynamoDB::Table').find(([id]) => id.startsWith('StorageTasks'));
  if (!tasksTable) throw new Error('The template has no tasks table');
  const devTenant = await ensureDevTenant(dynamo.client, template.resolveString({ Ref: tasksTable[0] }, 'devTenant'), path.join(dir, 'dev-tenant.json'));
  if (options.eventSources !== false) for (const source of eventSources) source.start();
  for (const fn of functions.values()) fn.keepWarm(warmEnvironments);
  devApiKey = devTenant.apiKey;
  const sites = await deployBuckets(template, s3, {
    rewrites: [[`wss://${webSocket.apiId}.execute-api.${LOCAL_REGION}.amazonaws.com/${webSocket.stageName}`, webSocket.endpoint]],
    log: (line) => log('bucket-deployment', line),
  });
  dashboardBucket = sites.find((site) => site.keys.includes(dashboardKey))?.bucket ?? '';

  const endpoints: Endpoints = {
    httpApi: httpApi.endpoint,
    webSocketApi: webSocket.endpoint,
    cdn: cdn.endpoint,
    services: { dynamodb: dynamo.endpoint, sqs: sqs.endpoint, eventbridge: eventBridge.endpoint, apigatewaymanagementapi: webSocket.managementEndpoint, secretsmanager: secrets.endpoint },
    devTenant,
    dashboard: `${cdn.endpoint}${DASHBOARD_PATH}${DASHBOARD_PAGE}`,
    resources: operatorResources(template),
  };
  writePrivateFile(path.join(dir, 'endpoints.json'), JSON.stringify(endpoints, null, 2) + '\n');

  const summary = [
    `functions (${functions.size}): ${[...functions.values()].map((fn) => fn.config.functionName.replace('Offload-', '')).join(', ')}`,
    `HTTP routes: ${httpApi.routeKeys.join(', ')}`,
    `IAM: ${iam.mode} (each function calls AWS as its own role)`,
    `WebSocket routes: ${webSocket.routeKeys.join(', ')}`,
    `queues: ${[...sqs.urlByArn.keys()].map((arn) => arn.split(':').pop()).join(', ')}`,
    `rules: ${template.ofType('AWS::Events::Rule').map(([id]) => id).join(', ')}`,
    ...(eventBridge.schedules.length ? [`schedules: ${eventBridge.schedules.map((schedule) => `${schedule.name} next ${schedule.next.toISOString()}`).join(', ')}`] : []),
  ].join('\n');

  return {
    endpoints,
    template,
    functions,
    eventSources,
    counter,
    faults,
    sqs,
    dynamo,
    eventBridge,
    cdn,
    webSocket,
    iam,
    kms,
    summary,
    stop: async () => {
      log('runtime', 'stopping');
      stopping = true;
      // Stop taking work, let what runs finish (bounded), then end environments, then the engines.
      await Promise.allSettled(eventSources.map((source) => source.stop()));
      await Promise.allSettled([cdn.stop(), httpApi.stop(), webSocket.stop()]);
      await Promise.allSettled([...functions.values()].map((fn) => fn.drain(5_000)));
      await eventBridge.stop();
      await secrets.stop();
      await kms.stop();
      await bedrock?.stop();
      await Promise.allSettled([...functions.values()].map((fn) => fn.shutdown()));
      s3.destroy();
      await Promise.allSettled([sqs.stop(), dynamo.stop()]);
      stopped = true;
    },
  };
};

/** Resolves the stack's operator outputs (see lib/stack-outputs.ts) to their local values. */
const operatorResources = (template: LocalTemplate): OperatorResources => {
  const output = (name: string): string => {
    const value = template.template.Outputs?.[name]?.Value;
    if (value === undefined) throw new UnsupportedTemplateError(name, 'Outputs', 'the stack lacks this operator output');
    return template.resolveString(value, name);
  };
  const classes = Object.keys(OPERATOR_OUTPUTS.queueUrl) as (keyof typeof OPERATOR_OUTPUTS.queueUrl)[];
  return {
    tasksTable: output(OPERATOR_OUTPUTS.tasksTable),
    connectionsTable: output(OPERATOR_OUTPUTS.connectionsTable),
    queues: Object.fromEntries(
      classes.map((name) => [name, { url: output(OPERATOR_OUTPUTS.queueUrl[name]), deadLetterUrl: output(OPERATOR_OUTPUTS.deadLetterQueueUrl[name]) }]),
    ) as OperatorResources['queues'],
  };
};
