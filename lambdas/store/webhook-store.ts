import { DeleteCommand, GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Webhook, WebhookStore } from '../core/webhooks.ts';
import { ddb as defaultClient } from './clients.ts';
import { isConditionFailure } from './conditions.ts';
import { TaskKeys } from './keys.ts';

/**
 * A stored item as a {@link Webhook}: keys dropped, and the plaintext `secret` of an item written
 * before secrets were sealed is never read back (such a webhook has no `sealedSecret`: its
 * deliveries are refused until the tenant registers it again).
 */
const webhookOf = (item: Record<string, unknown>): Webhook => {
  const { pk: _pk, sk: _sk, entity: _entity, secret: _plaintext, ...webhook } = item;
  return { ...webhook, sealedSecret: typeof webhook.sealedSecret === 'string' ? webhook.sealedSecret : undefined } as Webhook;
};

/** {@link WebhookStore} on the tasks table: `TENANT#id/WEBHOOK#id` items, the secret sealed. */
export class DynamoWebhookStore implements WebhookStore {
  public constructor(
    private readonly tableName: string,
    private readonly ddb: DynamoDBDocumentClient = defaultClient,
  ) {}

  public async put(webhook: Webhook): Promise<void> {
    const { webhookId, tenantId, url, events, sealedSecret, createdAt } = webhook;
    if (sealedSecret === undefined) throw new TypeError(`webhook ${webhookId}: refusing to store a webhook without a sealed secret`);
    // Named attributes only: nothing else a caller's object carries (a plaintext secret) is written.
    await this.ddb.send(new PutCommand({ TableName: this.tableName, Item: { ...TaskKeys.webhook(tenantId, webhookId), entity: 'webhook', webhookId, tenantId, url, events, sealedSecret, createdAt } }));
  }

  public async get(tenantId: string, webhookId: string): Promise<Webhook | undefined> {
    const { Item } = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: TaskKeys.webhook(tenantId, webhookId), ConsistentRead: true }));
    return Item ? webhookOf(Item) : undefined;
  }

  public async list(tenantId: string): Promise<Webhook[]> {
    const { Items = [] } = await this.ddb.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': TaskKeys.webhook(tenantId, '').pk, ':prefix': 'WEBHOOK#' },
        ConsistentRead: true,
      }),
    );
    return Items.map(webhookOf);
  }

  public async remove(tenantId: string, webhookId: string): Promise<boolean> {
    try {
      await this.ddb.send(new DeleteCommand({ TableName: this.tableName, Key: TaskKeys.webhook(tenantId, webhookId), ConditionExpression: 'attribute_exists(pk)' }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
