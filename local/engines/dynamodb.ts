import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { ApiCallCounter } from '../http-util.ts';
import { mkdirSync } from 'node:fs';
import dynalite from 'dynalite';
import { type LocalTemplate, UnsupportedTemplateError, localArn } from '../template.ts';
import { localCredentials } from './credentials.ts';
import { dynamodbFault, type FaultInjector } from '../faults.ts';
import type { IamEnforcer } from '../iam/mode.ts';
import { replayableRequest } from '../iam/replay.ts';
import { authorizeDynamoDb } from '../iam/services/dynamodb.ts';
import { cacheTableDescriptions, type TableStore } from './dynamodb-table-cache.ts';
import { captureDynaliteStore, LocalTransactions } from './dynamodb-transactions.ts';

/** A running local DynamoDB. */
export interface LocalDynamo {
  readonly endpoint: string;
  /** The endpoint's HTTP server (its request listeners also serve the in-process transport). */
  readonly server: Server;
  readonly client: DynamoDBClient;
  stop(): Promise<void>;
}

const SUPPORTED = new Set([
  'AttributeDefinitions',
  'KeySchema',
  'GlobalSecondaryIndexes',
  'LocalSecondaryIndexes',
  'BillingMode',
  'ProvisionedThroughput',
  // Accepted and not emulated locally: they change nothing a test can observe.
  'SSESpecification',
  'PointInTimeRecoverySpecification',
  'TimeToLiveSpecification',
  'TableName',
  'Tags',
]);

/**
 * Starts dynalite (the DynamoDB API on LevelDB; on disk under `dataDir`, or in memory) and creates
 * the template's tables. dynalite has conditional writes, queries and GSIs, which is everything
 * the stack's data design uses; `TransactWriteItems` is added by `dynamodb-transactions.ts`. It has
 * no streams or TTL expiry, so the design relies on neither for correctness (TTL only reclaims space).
 */
export const startDynamo = async (
  template: LocalTemplate,
  /** `callerIam`: authorizes each call by its caller's credentials (functions' roles), in the runtime's IAM mode. */
  options: { dataDir?: string; port?: number; counter?: ApiCallCounter; faults?: FaultInjector; callerIam?: IamEnforcer },
): Promise<LocalDynamo> => {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  // TransactWriteItems (dynalite has none) runs in dynalite's own store, under its item locks.
  const { result: server, store } = captureDynaliteStore(
    () =>
      dynalite({
        ...(options.dataDir ? { path: options.dataDir } : {}),
        createTableMs: 0,
        deleteTableMs: 0,
        updateTableMs: 0,
      }) as Server,
  );
  cacheTableDescriptions(store as unknown as TableStore);
  // Count every API call by operation (`X-Amz-Target: DynamoDB_20120810.PutItem`), for the cost model.
  server.on('request', (request: IncomingMessage) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    options.counter?.add('dynamodb', target.split('.')[1] ?? 'Unknown');
  });
  // Fault injection answers before dynalite sees the request, so an injected error is never applied.
  const [dynaliteHandler, ...observers] = server.listeners('request') as ((request: IncomingMessage, response: ServerResponse) => void)[];
  const listeners = [new LocalTransactions(store).dispatcher(dynaliteHandler!), ...observers];
  server.removeAllListeners('request');
  // Requests under way when the engine stops finish first: dynalite throws (uncaught) when its
  // store closes under an operation. Requests arriving while it stops are refused as unavailable.
  let inflight = 0;
  let closing = false;
  const drained: (() => void)[] = [];
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (closing) {
      request.resume();
      response.writeHead(503, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ServiceUnavailableException', message: 'The local DynamoDB is stopping.' }));
      return;
    }
    inflight++;
    let done = false;
    const finished = () => {
      if (done) return;
      done = true;
      if (--inflight === 0) drained.splice(0).forEach((resolve) => resolve());
    };
    response.once('finish', finished);
    response.once('close', finished);
    const fault = dynamodbFault(options.faults, String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '');
    if (fault) {
      request.resume();
      response.writeHead(fault.status, fault.headers).end(fault.body);
      return;
    }
    const iam = options.callerIam;
    if (!iam || iam.mode === 'off') {
      for (const listener of listeners) listener(request, response);
      return;
    }
    // IAM: read the body, authorize the caller, then hand dynalite a replay of the request.
    void replayableRequest(request).then(
      ({ body, replay }) => {
        const refusal = authorizeDynamoDb(iam, request.headers, request.url, body);
        if (refusal) {
          response.writeHead(refusal.status, refusal.headers).end(refusal.body);
          return;
        }
        for (const listener of listeners) listener(replay, response);
      },
      () => response.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: localCredentials, maxAttempts: 5 });

  for (const [logicalId, resource] of template.ofType('AWS::DynamoDB::Table')) {
    const properties = resource.Properties ?? {};
    for (const key of Object.keys(properties)) {
      if (!SUPPORTED.has(key)) throw new UnsupportedTemplateError(logicalId, key, 'table property not supported');
    }
    const tableName = (properties.TableName as string | undefined) ?? `Offload-${logicalId}`;
    const gsis = properties.GlobalSecondaryIndexes as Record<string, unknown>[] | undefined;
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          AttributeDefinitions: properties.AttributeDefinitions as never,
          KeySchema: properties.KeySchema as never,
          BillingMode: 'PAY_PER_REQUEST',
          ...(gsis ? { GlobalSecondaryIndexes: gsis.map((gsi) => ({ IndexName: gsi.IndexName, KeySchema: gsi.KeySchema, Projection: gsi.Projection })) as never } : {}),
        }),
      );
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    const arn = localArn('dynamodb', `table/${tableName}`);
    template.register(logicalId, { ref: tableName, attributes: { Arn: arn, StreamArn: `${arn}/stream/local` } });
  }

  return {
    endpoint,
    server,
    client,
    stop: async () => {
      closing = true;
      if (inflight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise<void>((resolve) => drained.push(resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000)))]);
        clearTimeout(timer);
      }
      client.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
