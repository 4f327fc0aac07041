import { ApiGatewayManagementApiClient, DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { localCredentials } from '../../local/engines/credentials.ts';
import { DynamoConnectionStore } from '../../lambdas/store/connection-store.ts';
import type { Harness } from '../e2e/harness.ts';
import { OffloadClient, type OffloadClientOptions } from '../../client/sdk/index.ts';

/** An SDK client for a harness runtime, as the dev tenant unless a credential is given. */
export const clientFor = (harness: Harness, options: Partial<OffloadClientOptions> = {}): OffloadClient =>
  new OffloadClient({
    endpoint: harness.runtime.endpoints.httpApi,
    webSocketUrl: harness.runtime.endpoints.webSocketApi,
    credential: harness.runtime.endpoints.devTenant.apiKey,
    ...options,
  });

/** The physical name of a template resource of a type whose logical id starts with a prefix. */
export const resourceName = (harness: Harness, type: string, prefix: string): string => {
  const found = harness.runtime.template.ofType(type).find(([id]) => id.startsWith(prefix));
  if (!found) throw new Error(`no ${type} ${prefix}*`);
  return harness.runtime.template.resolveString({ Ref: found[0] }, 'test');
};

/**
 * Closes, server side through the `@connections` management API, every open WebSocket connection
 * subscribed to a task. Returns how many it closed.
 */
export const killSubscribers = async (harness: Harness, taskId: string): Promise<number> => {
  const store = new DynamoConnectionStore(resourceName(harness, 'AWS::DynamoDB::Table', 'StorageConnections'), DynamoDBDocumentClient.from(harness.runtime.dynamo.client));
  const management = new ApiGatewayManagementApiClient({ endpoint: harness.runtime.endpoints.services.apigatewaymanagementapi, region: 'us-east-1', credentials: localCredentials, maxAttempts: 1 });
  let killed = 0;
  for (const connectionId of await store.listSubscribers(taskId)) {
    // Signed as the runtime's admin: the management API refuses unsigned calls, as on AWS.
    try {
      await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      killed++;
    } catch (error) {
      if ((error as Error).name !== 'GoneException') throw error;
    }
  }
  management.destroy();
  return killed;
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Collects every event of an async iterable. */
export const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const events: T[] = [];
  for await (const event of iterable) events.push(event);
  return events;
};
