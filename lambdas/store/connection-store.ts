import { isConditionFailure } from './conditions.ts';
import { BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, UpdateCommand, paginateQuery, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { ConnectionStore, SubscriptionState } from '../core/ports.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ddb as defaultClient } from './clients.ts';
import { CONNECTION_TTL_SECONDS, CONNECTIONS_BY_KEY_INDEX, ConnectionKeys } from './keys.ts';


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
    for (let i = 0; i < keys.length; i += 25) {
      let requests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
      for (let attempt = 0; requests.length > 0 && attempt < 5; attempt++) {
        const { UnprocessedItems } = await this.ddb.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
        requests = (UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
        if (requests.length) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      }
    }
  }

  public async subscribe(taskId: string, connectionId: string, tenantId: string, cursor: number): Promise<void> {
    await this.ddb.send(new PutCommand({ TableName: this.tableName, Item: { ...ConnectionKeys.connectionSub(connectionId, taskId), taskId, expiresAt: ttl() } }));
    await this.ddb.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...ConnectionKeys.subscription(taskId, connectionId), connectionId, tenantId, cursor, statusSent: false, dirty: false, expiresAt: ttl() },
      }),
    );
  }

  public async unsubscribe(taskId: string, connectionId: string): Promise<void> {
    await this.ddb.send(new DeleteCommand({ TableName: this.tableName, Key: ConnectionKeys.subscription(taskId, connectionId) }));
    await this.ddb.send(new DeleteCommand({ TableName: this.tableName, Key: ConnectionKeys.connectionSub(connectionId, taskId) }));
  }

  public async listSubscribers(taskId: string): Promise<string[]> {
    const items = await this.queryAll({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sub)',
      ExpressionAttributeValues: { ':pk': ConnectionKeys.subscription(taskId, '').pk, ':sub': 'SUB#' },
      ProjectionExpression: 'connectionId',
    });
    return items.map((item) => item.connectionId as string);
  }

  /** Every item a query on this table matches, across pages. */
  private async queryAll(input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for await (const page of paginateQuery({ client: this.ddb }, { ...input, TableName: this.tableName })) items.push(...(page.Items ?? []));
    return items;
  }

  public async acquire(taskId: string, connectionId: string, owner: string, leaseMs: number): Promise<SubscriptionState | 'held' | 'missing'> {
    const now = Date.now();
    try {
      const { Attributes } = await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: ConnectionKeys.subscription(taskId, connectionId),
          UpdateExpression: 'SET leaseOwner = :owner, leaseUntil = :until, dirty = :false',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(leaseOwner) OR leaseUntil < :now)',
          ExpressionAttributeValues: { ':owner': owner, ':until': now + leaseMs, ':now': now, ':false': false },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { cursor: Number(Attributes?.cursor ?? 0), statusSent: Attributes?.statusSent === true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const { Item } = await this.ddb.send(
        new GetCommand({ TableName: this.tableName, Key: ConnectionKeys.subscription(taskId, connectionId), ConsistentRead: true }),
      );
      return Item ? 'held' : 'missing';
    }
  }

  public async markDirty(taskId: string, connectionId: string): Promise<void> {
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: ConnectionKeys.subscription(taskId, connectionId),
          UpdateExpression: 'SET dirty = :true',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':true': true },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  public async advance(taskId: string, connectionId: string, owner: string, state: SubscriptionState): Promise<boolean> {
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: ConnectionKeys.subscription(taskId, connectionId),
          UpdateExpression: 'SET #cursor = :cursor, statusSent = :sent',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeNames: { '#cursor': 'cursor' },
          ExpressionAttributeValues: { ':cursor': state.cursor, ':sent': state.statusSent, ':owner': owner },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  public async release(
    taskId: string,
    connectionId: string,
    owner: string,
    state: SubscriptionState,
    options: { readonly force?: boolean; readonly leaseMs?: number } = {},
  ): Promise<'released' | 'dirty' | 'lost'> {
    const Key = ConnectionKeys.subscription(taskId, connectionId);
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET #cursor = :cursor, statusSent = :sent REMOVE leaseOwner, leaseUntil',
          ConditionExpression: options.force ? 'leaseOwner = :owner' : 'leaseOwner = :owner AND dirty = :false',
          ExpressionAttributeNames: { '#cursor': 'cursor' },
          ExpressionAttributeValues: { ':cursor': state.cursor, ':sent': state.statusSent, ':owner': owner, ...(options.force ? {} : { ':false': false }) },
        }),
      );
      return 'released';
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      if (options.force) return 'lost';
    }
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET #cursor = :cursor, statusSent = :sent, dirty = :false, leaseUntil = :until',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeNames: { '#cursor': 'cursor' },
          ExpressionAttributeValues: { ':cursor': state.cursor, ':sent': state.statusSent, ':owner': owner, ':false': false, ':until': Date.now() + (options.leaseMs ?? 10_000) },
        }),
      );
      return 'dirty';
    } catch (error) {
      if (isConditionFailure(error)) return 'lost';
      throw error;
    }
  }
}
