import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ApiKeyInfo, TenantAdminStore } from '../core/ports.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ddb as defaultClient } from './clients.ts';
import { isConditionFailure } from './conditions.ts';
import { TaskKeys } from './keys.ts';

/**
 * {@link TenantAdminStore} on the tasks table. API keys are stored by hash only: `APIKEY#hash`
 * (what authentication reads) and the tenant's record of it, `TENANT#id/APIKEY#keyId` (what
 * listing and revocation read), both carrying the key's status.
 */
export class DynamoTenantStore implements TenantAdminStore {
  public constructor(
    private readonly tableName: string,
    private readonly ddb: DynamoDBDocumentClient = defaultClient,
  ) {}

  /**
   * Stores the tenant. A tenant stored for the first time starts with its webhook count known to
   * be 0 (see `core/webhook-presence.ts`), so its lifecycle events are not routed to the webhook
   * fan-out before it registers an endpoint; a tenant stored again keeps its count.
   */
  public async putTenant(tenant: { tenantId: string; name: string; createdAt: string }): Promise<void> {
    const { Attributes: before } = await this.ddb.send(
      new PutCommand({ TableName: this.tableName, Item: { ...TaskKeys.tenant(tenant.tenantId), entity: 'tenant', ...tenant }, ReturnValues: 'ALL_OLD' }),
    );
    if (before) return;
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: TaskKeys.inflight(tenant.tenantId),
        UpdateExpression: 'SET #webhooks = if_not_exists(#webhooks, :zero)',
        ExpressionAttributeNames: { '#webhooks': 'webhooks' },
        ExpressionAttributeValues: { ':zero': 0 },
      }),
    );
  }

  public async getTenant(tenantId: string): Promise<{ tenantId: string; name: string; createdAt: string } | undefined> {
    const { Item } = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: TaskKeys.tenant(tenantId), ConsistentRead: true }));
    return Item ? { tenantId: Item.tenantId as string, name: Item.name as string, createdAt: Item.createdAt as string } : undefined;
  }

  /**
   * Records the key for its tenant first, then makes it usable: a crash in between leaves a listed
   * key that never authenticates (harmless), never a working key that cannot be listed or revoked.
   */
  public async putApiKey(key: { keyHash: string; keyId: string; tenantId: string; createdAt: string }): Promise<void> {
    const record = { keyId: key.keyId, tenantId: key.tenantId, createdAt: key.createdAt, status: 'active' };
    await this.ddb.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...TaskKeys.tenantApiKey(key.tenantId, key.keyId), entity: 'tenantApiKey', ...record, keyHash: key.keyHash },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    await this.ddb.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...TaskKeys.apiKey(key.keyHash), entity: 'apiKey', ...record },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  public async findApiKey(keyHash: string): Promise<{ tenantId: string; keyId: string } | undefined> {
    const { Item } = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: TaskKeys.apiKey(keyHash) }));
    if (!Item || Item.status !== 'active') return undefined;
    return { tenantId: Item.tenantId as string, keyId: Item.keyId as string };
  }

  public async isApiKeyActive(tenantId: string, keyId: string): Promise<boolean> {
    const { Item } = await this.ddb.send(
      new GetCommand({ TableName: this.tableName, Key: TaskKeys.tenantApiKey(tenantId, keyId), ProjectionExpression: '#status', ExpressionAttributeNames: { '#status': 'status' } }),
    );
    return Item?.status === 'active';
  }

  public async listApiKeys(tenantId: string): Promise<ApiKeyInfo[]> {
    const keys: ApiKeyInfo[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.ddb.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': TaskKeys.tenant(tenantId).pk, ':prefix': 'APIKEY#' },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        keys.push({
          keyId: item.keyId as string,
          tenantId: item.tenantId as string,
          status: item.status === 'active' ? 'active' : 'revoked',
          createdAt: item.createdAt as string,
          ...(item.revokedAt ? { revokedAt: item.revokedAt as string } : {}),
        });
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return keys;
  }

  /**
   * Revokes the key itself first (authentication stops), then the tenant's record: a crash in
   * between leaves the record `active`, and revoking again completes it.
   */
  public async revokeApiKey(tenantId: string, keyId: string, revokedAt: string): Promise<'revoked' | 'already-revoked' | 'missing'> {
    const { Item } = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: TaskKeys.tenantApiKey(tenantId, keyId), ConsistentRead: true }));
    if (!Item) return 'missing';
    if (Item.status === 'revoked') return 'already-revoked';
    const revoke = (key: Record<string, string>) =>
      this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET #status = :revoked, revokedAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND #status = :active',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':revoked': 'revoked', ':active': 'active', ':at': revokedAt },
        }),
      );
    for (const key of [TaskKeys.apiKey(Item.keyHash as string), TaskKeys.tenantApiKey(tenantId, keyId)]) {
      try {
        await revoke(key);
      } catch (error) {
        // Already revoked by a concurrent call, or a key item never written (crash at issue).
        if (!isConditionFailure(error)) throw error;
      }
    }
    return 'revoked';
  }
}
