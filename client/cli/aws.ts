import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { SQSClientConfig } from '@aws-sdk/client-sqs';
import type { AdminTarget } from './config.ts';

/** The static credentials the local engines accept (they verify no signature). */
const LOCAL_CREDENTIALS = { accessKeyId: 'LOCALKEY', secretAccessKey: 'localsecret' } as const;

const configFor = (admin: AdminTarget, service: 'dynamodb' | 'sqs'): DynamoDBClientConfig & SQSClientConfig => ({
  maxAttempts: 3,
  ...(admin.region ? { region: admin.region } : {}),
  ...(admin.local ? { endpoint: admin.local[service], credentials: LOCAL_CREDENTIALS } : {}),
});

/** The tenant store on the stack's table (AWS SDK loaded only by admin commands, to keep startup fast). */
export const tenantStoreFor = async (admin: AdminTarget) => {
  const [{ DynamoDBClient }, { DynamoDBDocumentClient }, { DynamoTenantStore }] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('@aws-sdk/lib-dynamodb'),
    import('../../lambdas/store/tenant-store.ts'),
  ]);
  const client = DynamoDBDocumentClient.from(new DynamoDBClient(configFor(admin, 'dynamodb')), { marshallOptions: { removeUndefinedValues: true } });
  return { store: new DynamoTenantStore(admin.tasksTable, client), close: () => client.destroy() };
};

/**
 * What closes a revoked key's WebSocket connections: the connections store on the stack's
 * connections table and a closer on its `@connections` endpoint; undefined when the target does not
 * name them (outputs of an older stack).
 */
export const keyConnectionsFor = async (admin: AdminTarget) => {
  if (!admin.connections) return undefined;
  const [{ DynamoDBClient }, { DynamoDBDocumentClient }, { DynamoConnectionStore }, { ConnectionsPusher }] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('@aws-sdk/lib-dynamodb'),
    import('../../lambdas/store/connection-store.ts'),
    import('../../lambdas/store/pusher.ts'),
  ]);
  const client = DynamoDBDocumentClient.from(new DynamoDBClient(configFor(admin, 'dynamodb')), { marshallOptions: { removeUndefinedValues: true } });
  const closer = new ConnectionsPusher(admin.connections.managementEndpoint, {
    maxAttempts: 3,
    ...(admin.region ? { region: admin.region } : {}),
    ...(admin.local ? { credentials: LOCAL_CREDENTIALS } : {}),
  });
  return { connections: new DynamoConnectionStore(admin.connections.table, client), closer, close: () => (client.destroy(), closer.destroy()) };
};

/** An SQS client for the stack's queues. */
export const sqsFor = async (admin: AdminTarget) => {
  const sqs = await import('@aws-sdk/client-sqs');
  // Address the configured (or regional) endpoint, not the host inside a queue URL.
  const client = new sqs.SQSClient({ ...configFor(admin, 'sqs'), useQueueUrlAsEndpoint: false });
  return { sqs, client };
};
