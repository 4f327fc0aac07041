import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
  let killed = 0;
  for (const connectionId of await store.listSubscribers(taskId)) {
    const response = await fetch(`${harness.runtime.endpoints.services.apigatewaymanagementapi}/@connections/${encodeURIComponent(connectionId)}`, { method: 'DELETE' });
    if (response.status === 204) killed++;
  }
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
