import { DeleteCommand, GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Webhook, WebhookStore } from '../core/webhooks.ts';
import { ddb as defaultClient } from './clients.ts';
import { isConditionFailure } from './conditions.ts';
import { TaskKeys } from './keys.ts';

/** {@link WebhookStore} on the tasks table: `TENANT#id/WEBHOOK#id` items. */
export class DynamoWebhookStore implements WebhookStore {
  public constructor(
    private readonly tableName: string,
    private readonly ddb: DynamoDBDocumentClient = defaultClient,
  ) {}

  public async put(webhook: Webhook): Promise<void> {
    await this.ddb.send(new PutCommand({ TableName: this.tableName, Item: { ...TaskKeys.webhook(webhook.tenantId, webhook.webhookId), entity: 'webhook', ...webhook } }));
  }

  public async get(tenantId: string, webhookId: string): Promise<Webhook | undefined> {
    const { Item } = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: TaskKeys.webhook(tenantId, webhookId), ConsistentRead: true }));
    if (!Item) return undefined;
    const { pk: _pk, sk: _sk, entity: _entity, ...webhook } = Item;
    return webhook as Webhook;
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
    return Items.map(({ pk: _pk, sk: _sk, entity: _entity, ...webhook }) => webhook as Webhook);
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
