import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cacheTableDescriptions, type TableStore } from '../../local/engines/dynamodb-table-cache.ts';
import { captureDynaliteStore, LocalTransactions } from '../../local/engines/dynamodb-transactions.ts';
import { TaskIndexes } from '../../lambdas/store/task-indexes.ts';

/** A running in-memory dynalite with the stack's two tables. */
export interface LocalDynamo {
  readonly endpoint: string;
  readonly tasksTable: string;
  readonly connectionsTable: string;
  /** A document client configured like the Lambdas' (`removeUndefinedValues`). */
  readonly docClient: DynamoDBDocumentClient;
  stop(): Promise<void>;
}

/** Dummy credentials: dynalite and the local fakes accept any signature. */
export const TEST_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } as const;

/**
 * Starts dynalite in-process on a random port and creates the tasks and connections tables with
 * the key schema and index projections of `lib/constructs/storage.ts` (pk/sk strings; GSI1
 * gsi1pk/gsi1sk and GSI2 gsi2pk/gsi2sk on tasks), with `TransactWriteItems` and the table-description cache as the local runtime has them.
 */
export const startLocalDynamo = async (names: { tasksTable?: string; connectionsTable?: string } = {}): Promise<LocalDynamo> => {
  // With the local engine's TransactWriteItems, as the runtime has it.
  const { result: server, store } = captureDynaliteStore(() => dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }) as Server);
  const [engine] = server.listeners('request') as Parameters<LocalTransactions['dispatcher']>[0][];
  server.removeAllListeners('request');
  server.on('request', new LocalTransactions(store).dispatcher(engine!));
  cacheTableDescriptions(store as unknown as TableStore);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS });
  const tasksTable = names.tasksTable ?? 'offload-test-tasks';
  const connectionsTable = names.connectionsTable ?? 'offload-test-connections';
  const keys = {
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' as const },
      { AttributeName: 'sk', KeyType: 'RANGE' as const },
    ],
    BillingMode: 'PAY_PER_REQUEST' as const,
  };
  await client.send(
    new CreateTableCommand({
      TableName: tasksTable,
      ...keys,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'gsi1pk', AttributeType: 'S' },
        { AttributeName: 'gsi1sk', AttributeType: 'S' },
        { AttributeName: 'gsi2pk', AttributeType: 'S' },
        { AttributeName: 'gsi2sk', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: TaskIndexes.listing.name,
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...TaskIndexes.listing.attributes] },
        },
        {
          IndexName: TaskIndexes.due.name,
          KeySchema: [
            { AttributeName: 'gsi2pk', KeyType: 'HASH' },
            { AttributeName: 'gsi2sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    }),
  );
  await client.send(
    new CreateTableCommand({
      TableName: connectionsTable,
      ...keys,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
    }),
  );
  const docClient = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false } });
  return {
    endpoint,
    tasksTable,
    connectionsTable,
    docClient,
    stop: async () => {
      docClient.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

/**
 * Points the module-scope SDK clients of `lambdas/store/clients.ts` at local endpoints. Call it
 * BEFORE dynamically importing any handler module.
 */
export const useLocalAwsEnv = (settings: {
  dynamoEndpoint: string;
  tasksTable: string;
  connectionsTable: string;
  eventBridgeEndpoint?: string;
  eventBusName?: string;
}): void => {
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = TEST_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = TEST_CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = settings.dynamoEndpoint;
  // Nothing in these tests may reach a real AWS endpoint by accident.
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = settings.eventBridgeEndpoint ?? 'http://127.0.0.1:9';
  process.env.TASKS_TABLE = settings.tasksTable;
  process.env.CONNECTIONS_TABLE = settings.connectionsTable;
  process.env.EVENT_BUS_NAME = settings.eventBusName ?? 'offload-test-bus';
  process.env.WS_MANAGEMENT_ENDPOINT = 'http://127.0.0.1:9/live';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
};
