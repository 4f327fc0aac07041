import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheTableDescriptions, type TableStore } from '../../local/engines/dynamodb-table-cache.ts';
import { captureDynaliteStore } from '../../local/engines/dynamodb-transactions.ts';
import { TEST_CREDENTIALS } from '../support/local-dynamo.ts';

// The local DynamoDB keeps table descriptions in memory (local/engines/dynamodb-table-cache.ts):
// every change to a table must be seen by the next item operation, as without the cache.
describe('local DynamoDB: cached table descriptions follow every table change', () => {
  let server: Server;
  let client: DynamoDBClient;
  const hashKey = (name: string) => ({ KeySchema: [{ AttributeName: name, KeyType: 'HASH' as const }], AttributeDefinitions: [{ AttributeName: name, AttributeType: 'S' as const }], BillingMode: 'PAY_PER_REQUEST' as const });
  const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: Error) => error.name);

  beforeAll(async () => {
    const captured = captureDynaliteStore(() => dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }) as Server);
    cacheTableDescriptions(captured.store as unknown as TableStore);
    server = captured.result;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    client = new DynamoDBClient({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, region: 'us-east-1', credentials: TEST_CREDENTIALS });
  });
  afterAll(async () => {
    client?.destroy();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('sees a deleted table gone and a re-created one with its new key', async () => {
    // Prepare
    await client.send(new CreateTableCommand({ TableName: 'cached', ...hashKey('pk') }));
    await client.send(new PutItemCommand({ TableName: 'cached', Item: { pk: { S: 'a' } } }));
    // Act / Assess: deleted
    await client.send(new DeleteTableCommand({ TableName: 'cached' }));
    expect(await failure(client.send(new PutItemCommand({ TableName: 'cached', Item: { pk: { S: 'b' } } })))).toBe('ResourceNotFoundException');
    // re-created with another key
    await client.send(new CreateTableCommand({ TableName: 'cached', ...hashKey('id') }));
    await client.send(new PutItemCommand({ TableName: 'cached', Item: { id: { S: 'c' }, colour: { S: 'red' } } }));
    expect(await failure(client.send(new PutItemCommand({ TableName: 'cached', Item: { pk: { S: 'd' } } })))).toBe('ValidationException');
    const { Item } = await client.send(new GetItemCommand({ TableName: 'cached', Key: { id: { S: 'c' } } }));
    expect(Item?.colour?.S).toBe('red');
  });
});
