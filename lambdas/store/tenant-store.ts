import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { TenantStore } from '../core/ports.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ddb as defaultClient } from './clients.ts';
import { TaskKeys } from './keys.ts';

/** {@link TenantStore} on the tasks table. API keys are stored by hash only. */
export class DynamoTenantStore implements TenantStore {
  public constructor(
    private readonly tableName: string,
    private readonly ddb: DynamoDBDocumentClient = defaultClient,
  ) {}

  public async putTenant(tenant: { tenantId: string; name: string; createdAt: string }): Promise<void> {
    await this.ddb.send(new PutCommand({ TableName: this.tableName, Item: { ...TaskKeys.tenant(tenant.tenantId), entity: 'tenant', ...tenant } }));
  }

  public async putApiKey(key: { keyHash: string; keyId: string; tenantId: string; createdAt: string }): Promise<void> {
    await this.ddb.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...TaskKeys.apiKey(key.keyHash), entity: 'apiKey', keyId: key.keyId, tenantId: key.tenantId, createdAt: key.createdAt, status: 'active' },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  public async findApiKey(keyHash: string): Promise<{ tenantId: string; keyId: string } | undefined> {
    const { Item } = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: TaskKeys.apiKey(keyHash) }));
    if (!Item || Item.status !== 'active') return undefined;
    return { tenantId: Item.tenantId as string, keyId: Item.keyId as string };
  }
}
