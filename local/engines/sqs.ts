import { sqsFault, type FaultInjector } from '../faults.ts';
import { SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import http, { Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { type LocalTemplate, UnsupportedTemplateError } from '../template.ts';
import { localCredentials } from './credentials.ts';
import { startSqsQueryFront } from './sqs-query-protocol.ts';
import type { IamEnforcer } from '../iam/mode.ts';

/** A running local SQS. */
export interface LocalSqs {
  readonly endpoint: string;
  readonly client: SQSClient;
  readonly server: FauxqsServer;
  /** The public endpoint's HTTP server (SQS over JSON and query, S3); its request listener also serves the in-process transport. */
  readonly httpServer: Server;
  /** Queue URL by ARN. */
  readonly urlByArn: Map<string, string>;
  /**
   * A dedicated client with its own connection pool. Long polls hold a socket for up to 20 s, so
   * pollers must never share a pool with senders (a full pool would stall every SendMessage).
   */
  newClient(maxSockets: number): SQSClient;
  /**
   * SendMessage as an AWS service integration makes it (EventBridge targets and dead-letter
   * queues): straight into the queue's store, with the same validation (body characters, size,
   * FIFO group and deduplication) and the same injected faults as the public endpoint, without an
   * SDK client and an HTTP hop on the runtime's main thread. The caller checks the queue policy.
   * Throws {@link ServiceSendError} as the endpoint would refuse.
   */
  sendFromService(queueArn: string, body: string, options?: { readonly messageGroupId?: string; readonly messageDeduplicationId?: string; readonly messageAttributes?: Record<string, { DataType: string; StringValue?: string }> }): { messageId: string };
  stop(): Promise<void>;
}

/** A service-side SendMessage refused, with the error code the public endpoint would answer. */
export class ServiceSendError extends Error {
  public override readonly name = 'ServiceSendError';
  public constructor(
    public readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const ATTRIBUTES = ['VisibilityTimeout', 'MessageRetentionPeriod', 'DelaySeconds', 'ReceiveMessageWaitTimeSeconds', 'MaximumMessageSize', 'FifoQueue', 'ContentBasedDeduplication', 'SqsManagedSseEnabled'] as const;
/** Accepted, not emulated locally: they change nothing a test can observe. */
const BUCKET_PROPERTIES = new Set(['BucketName', 'BucketEncryption', 'PublicAccessBlockConfiguration', 'OwnershipControls', 'LifecycleConfiguration', 'VersioningConfiguration', 'Tags']);
const IGNORED = new Set(['KmsMasterKeyId', 'KmsDataKeyReusePeriodSeconds', 'Tags', 'QueueName', 'DeduplicationScope', 'FifoThroughputLimit']);

/**
 * Starts fauxqs (an SQS emulator with visibility timeouts, long polling, DLQ redrive and FIFO;
 * persisted in SQLite under `dataDir`) and creates the template's queues, dead-letter queues
 * first so redrive policies can name them.
 */
export const startSqs = async (
  template: LocalTemplate,
  /** `callerIam`: authorizes each SQS and S3 call by its caller's credentials, in the runtime's IAM mode. */
  /** `inProcess`: the public endpoint hands requests to fauxqs without a second loopback connection. @default true */
  options: { dataDir?: string; port?: number; faults?: FaultInjector; callerIam?: IamEnforcer; inProcess?: boolean },
): Promise<LocalSqs> => {
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    await commitWithoutFsync();
  }
  const { result: server, servers } = await capturingServers(() => startFauxqs({ port: 0, logger: false, ...(options.dataDir ? { dataDir: options.dataDir } : {}) }));
  const fauxqsHttp = servers.find((candidate) => (candidate.address() as AddressInfo | null)?.port === server.port);
  // The public endpoint speaks both SQS protocols: JSON (current SDKs) passes through to fauxqs,
  // query (AWS CLI 2.9 and older SDKs) is translated.
  const front = await startSqsQueryFront({ port: server.port, ...(options.inProcess !== false && fauxqsHttp ? { server: fauxqsHttp } : {}) }, options.port ?? 0, options.faults, options.callerIam);
  const endpoint = `http://127.0.0.1:${front.port}`;
  const clients: SQSClient[] = [];
  const newClient = (maxSockets: number): SQSClient => {
    const created = new SQSClient({
      endpoint,
      region: 'us-east-1',
      credentials: localCredentials,
      maxAttempts: 5,
      requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets }) }),
    });
    clients.push(created);
    return created;
  };
  const client = newClient(256);
  const urlByArn = new Map<string, string>();
  const nameByArn = new Map<string, string>();

  const queues = template.ofType('AWS::SQS::Queue');
  const withRedrive = (id: string) => Boolean(template.resource(id).Properties?.RedrivePolicy);
  for (const [logicalId, resource] of [...queues].sort(([a], [b]) => Number(withRedrive(a)) - Number(withRedrive(b)))) {
    const properties = resource.Properties ?? {};
    const attributes: Record<string, string> = {};
    for (const [key, value] of Object.entries(properties)) {
      if ((ATTRIBUTES as readonly string[]).includes(key)) attributes[key] = String(template.resolve(value, logicalId));
      else if (key === 'RedrivePolicy') attributes.RedrivePolicy = JSON.stringify(template.resolve(value, logicalId));
      else if (!IGNORED.has(key)) throw new UnsupportedTemplateError(logicalId, key, 'queue property not supported');
    }
    const fifo = attributes.FifoQueue === 'true';
    const name = (properties.QueueName as string | undefined) ?? `Offload-${logicalId}${fifo ? '.fifo' : ''}`;
    // A persisted queue keeps its messages: update its attributes instead of re-creating it.
    const existing = server.inspectQueue(name);
    const created = existing ? { queueUrl: existing.url, queueArn: existing.arn, queueName: existing.name } : server.createQueue(name, { attributes });
    if (existing) {
      const { FifoQueue: _fifo, ...mutable } = attributes;
      if (Object.keys(mutable).length) await client.send(new SetQueueAttributesCommand({ QueueUrl: existing.url, Attributes: mutable }));
    }
    urlByArn.set(created.queueArn, created.queueUrl);
    nameByArn.set(created.queueArn, created.queueName);
    template.register(logicalId, { ref: created.queueUrl, attributes: { Arn: created.queueArn, QueueName: created.queueName, QueueUrl: created.queueUrl } });
  }

  // S3 buckets live in the same emulator (fauxqs serves S3 on the same port).
  for (const [logicalId, resource] of template.ofType('AWS::S3::Bucket')) {
    for (const key of Object.keys(resource.Properties ?? {})) {
      if (!BUCKET_PROPERTIES.has(key)) throw new UnsupportedTemplateError(logicalId, key, 'bucket property not supported');
    }
    const name = String(resource.Properties?.BucketName ?? `offload-${logicalId.toLowerCase()}`);
    server.createBucket(name);
    template.register(logicalId, { ref: name, attributes: { Arn: `arn:aws:s3:::${name}`, DomainName: `${name}.s3.amazonaws.com` } });
  }

  return {
    endpoint,
    client,
    server,
    httpServer: front.server,
    urlByArn,
    newClient,
    sendFromService: (queueArn, body, sendOptions = {}) => {
      const name = nameByArn.get(queueArn);
      if (!name) throw new ServiceSendError('AWS.SimpleQueueService.NonExistentQueue', `The specified queue does not exist: ${queueArn}`);
      const fault = sqsFault(options.faults, 'SendMessage');
      if (fault) {
        const { __type, message } = JSON.parse(String(fault.body)) as { __type: string; message: string };
        throw new ServiceSendError(__type.split('#').pop() ?? __type, message);
      }
      try {
        const sent = server.sendMessage(name, body, {
          ...(sendOptions.messageGroupId ? { messageGroupId: sendOptions.messageGroupId } : {}),
          ...(sendOptions.messageDeduplicationId ? { messageDeduplicationId: sendOptions.messageDeduplicationId } : {}),
          ...(sendOptions.messageAttributes ? { messageAttributes: sendOptions.messageAttributes as never } : {}),
        });
        return { messageId: sent.messageId };
      } catch (error) {
        throw new ServiceSendError('InvalidParameterValue', (error as Error).message, { cause: error });
      }
    },
    stop: async () => {
      for (const created of clients) created.destroy();
      front.server.closeAllConnections();
      await new Promise<void>((resolve) => front.server.close(() => resolve()));
      await server.stop();
    },
  };
};

/**
 * fauxqs keeps its store in SQLite in WAL mode with SQLite's default `synchronous = FULL`: every
 * SendMessage, receive and delete is a commit with an fsync, run synchronously on the runtime's
 * main thread, which every emulator shares (measured: 1.5–1.8 ms of a blocked event loop per
 * message under load). `NORMAL` is SQLite's recommended setting for WAL: each commit is still
 * written to the log before the call returns, so messages survive the runtime's crash or kill;
 * only an operating-system crash or power loss can take the last commits (fsync at checkpoints).
 * Set once per process on fauxqs's persistence class, before its database is opened.
 */
let fsyncPatched: Promise<void> | undefined;
const commitWithoutFsync = (): Promise<void> =>
  (fsyncPatched ??= (async () => {
    // The package exports only its entry; the persistence module sits beside it (same module instance).
    const entry = fileURLToPath(import.meta.resolve('fauxqs'));
    const persistence = (await import(pathToFileURL(path.join(path.dirname(entry), 'persistence.js')).href)) as {
      PersistenceManager?: { prototype: { prepareStatements?: (...args: unknown[]) => unknown; db?: { exec(sql: string): void } } };
    };
    const prototype = persistence.PersistenceManager?.prototype;
    const prepare = prototype?.prepareStatements;
    // A fauxqs release that moved this keeps SQLite's default (correct, slower).
    if (!prototype || typeof prepare !== 'function') return;
    prototype.prepareStatements = function (this: { db?: { exec(sql: string): void } }, ...args: unknown[]) {
      this.db?.exec('PRAGMA synchronous = NORMAL');
      return prepare.apply(this, args);
    };
  })());

/**
 * Runs `start` and returns the HTTP servers created meanwhile: fauxqs does not expose its
 * (fastify's) server, whose request listener the front injects requests into.
 */
const capturingServers = async <T>(start: () => Promise<T>): Promise<{ result: T; servers: Server[] }> => {
  const servers: Server[] = [];
  const original = http.createServer;
  http.createServer = ((...args: Parameters<typeof http.createServer>) => {
    const created = original(...args);
    servers.push(created);
    return created;
  }) as typeof http.createServer;
  try {
    return { result: await start(), servers };
  } finally {
    http.createServer = original;
  }
};
