import type { FaultInjector } from '../faults.ts';
import { SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mkdirSync } from 'node:fs';
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
  stop(): Promise<void>;
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
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
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
    stop: async () => {
      for (const created of clients) created.destroy();
      front.server.closeAllConnections();
      await new Promise<void>((resolve) => front.server.close(() => resolve()));
      await server.stop();
    },
  };
};

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
