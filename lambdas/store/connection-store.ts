import { BatchWriteCommand, GetCommand, PutCommand, paginateQuery, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { ConnectionStore, Subscription } from '../core/ports.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ddb as defaultClient } from './clients.ts';
import { CONNECTION_TTL_SECONDS, CONNECTIONS_BY_KEY_INDEX, ConnectionKeys } from './keys.ts';

/** `BatchWriteItem` still left writes unprocessed after its retries (throttling). */
export class UnprocessedWritesError extends Error {
  public constructor(count: number, tableName: string) {
    super(`DynamoDB left ${count} writes unprocessed on ${tableName}.`);
    this.name = 'UnprocessedWritesError';
  }
}

const ttl = (): number => Math.floor(Date.now() / 1000) + CONNECTION_TTL_SECONDS;

/** {@link ConnectionStore} on the connections table. */
export class DynamoConnectionStore implements ConnectionStore {
  public constructor(
    private readonly tableName: string,
    private readonly ddb: DynamoDBDocumentClient = defaultClient,
  ) {}

  /** The connection item carries `keyId`, so the sparse {@link CONNECTIONS_BY_KEY_INDEX} finds it by key. */
  public async putConnection(connection: { connectionId: string; tenantId: string; taskIds?: readonly string[]; keyId?: string; credentialExpiresAt?: number; connectedAt: string }): Promise<void> {
    await this.ddb.send(
      new PutCommand({ TableName: this.tableName, Item: { ...ConnectionKeys.connection(connection.connectionId), ...connection, expiresAt: ttl() } }),
    );
  }

  public async getConnection(connectionId: string): Promise<{ connectionId: string; tenantId: string; taskIds?: readonly string[] } | undefined> {
    const { Item } = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: ConnectionKeys.connection(connectionId) }));
    if (!Item) return undefined;
    return { connectionId, tenantId: Item.tenantId as string, ...(Item.taskIds ? { taskIds: Item.taskIds as string[] } : {}) };
  }

  public async listKeyConnections(keyId: string): Promise<string[]> {
    const items = await this.queryAll({ IndexName: CONNECTIONS_BY_KEY_INDEX, KeyConditionExpression: 'keyId = :keyId', ExpressionAttributeValues: { ':keyId': keyId } });
    return items.flatMap((item) => (typeof item.pk === 'string' && item.sk === 'CONN' ? [item.pk.slice('CONN#'.length)] : []));
  }

  public async removeConnection(connectionId: string): Promise<void> {
    const Items = await this.queryAll({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': ConnectionKeys.connection(connectionId).pk },
      ProjectionExpression: 'pk, sk, taskId',
    });
    const keys = Items.flatMap((item) => {
      const own = { pk: item.pk as string, sk: item.sk as string };
      return typeof item.taskId === 'string' ? [own, ConnectionKeys.subscription(item.taskId, connectionId)] : [own];
    });
    await this.batchWrite(keys.map((Key) => ({ DeleteRequest: { Key } })));
  }

  /**
   * Both items of a subscription in one `BatchWriteItem`: the task-side item (what delivery reads)
   * and the connection-side one (what `removeConnection` finds). Written once, never updated.
   */
  public async subscribe(subscription: Subscription): Promise<void> {
    const { taskId, connectionId, tenantId, after, credentialExpiresAt } = subscription;
    const expiresAt = ttl();
    await this.batchWrite([
      { PutRequest: { Item: { ...ConnectionKeys.connectionSub(connectionId, taskId), taskId, expiresAt } } },
      {
        PutRequest: {
          Item: { ...ConnectionKeys.subscription(taskId, connectionId), connectionId, tenantId, after, ...(credentialExpiresAt !== undefined ? { credentialExpiresAt } : {}), expiresAt },
        },
      },
    ]);
  }

  public async unsubscribe(taskId: string, connectionId: string): Promise<void> {
    await this.batchWrite([{ DeleteRequest: { Key: ConnectionKeys.subscription(taskId, connectionId) } }, { DeleteRequest: { Key: ConnectionKeys.connectionSub(connectionId, taskId) } }]);
  }

  public async listSubscriptions(taskId: string): Promise<Subscription[]> {
    const items = await this.queryAll({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sub)',
      ExpressionAttributeValues: { ':pk': ConnectionKeys.subscription(taskId, '').pk, ':sub': 'SUB#' },
      ProjectionExpression: 'connectionId, tenantId, #after, credentialExpiresAt',
      ExpressionAttributeNames: { '#after': 'after' },
      ConsistentRead: true,
    });
    return items.flatMap((item) =>
      typeof item.connectionId === 'string'
        ? [
            {
              taskId,
              connectionId: item.connectionId,
              tenantId: String(item.tenantId ?? ''),
              after: Number(item.after ?? 0),
              ...(typeof item.credentialExpiresAt === 'number' ? { credentialExpiresAt: item.credentialExpiresAt } : {}),
            },
          ]
        : [],
    );
  }

  public async listSubscribers(taskId: string): Promise<string[]> {
    return (await this.listSubscriptions(taskId)).map((subscription) => subscription.connectionId);
  }

  /** Writes (puts or deletes) in batches of 25, retrying unprocessed items with backoff. */
  private async batchWrite(requests: Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < requests.length; i += 25) {
      let batch = requests.slice(i, i + 25);
      for (let attempt = 0; batch.length > 0 && attempt < 5; attempt++) {
        const { UnprocessedItems } = await this.ddb.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: batch } }));
        batch = (UnprocessedItems?.[this.tableName] ?? []) as typeof batch;
        if (batch.length) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      }
      if (batch.length) throw new UnprocessedWritesError(batch.length, this.tableName);
    }
  }

  /** Every item a query on this table matches, across pages. */
  private async queryAll(input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for await (const page of paginateQuery({ client: this.ddb }, { ...input, TableName: this.tableName })) items.push(...(page.Items ?? []));
    return items;
  }
}
