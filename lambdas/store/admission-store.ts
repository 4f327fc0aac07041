import { isConditionFailure } from './conditions.ts';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AdmissionStore } from '../core/admission.ts';
import { ddb as defaultClient } from './clients.ts';
import { TaskKeys } from './keys.ts';


/** {@link AdmissionStore} on the tasks table: `TENANT#id/INFLIGHT` counter and `TENANT#id/SLOT#task` slots. */
export class DynamoAdmissionStore implements AdmissionStore {
  public constructor(
    private readonly tableName: string,
    private readonly ddb: DynamoDBDocumentClient = defaultClient,
  ) {}

  public async tryAdmit(tenantId: string, taskId: string, limit: number): Promise<boolean> {
    // The slot first, only if the task holds none: a retried submit or a duplicate delivery of the
    // same task finds its slot and is admitted without counting it twice.
    try {
      await this.ddb.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...TaskKeys.slot(tenantId, taskId), entity: 'slot', taskId, at: new Date().toISOString() },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return true; // already admitted
      throw error;
    }
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TaskKeys.inflight(tenantId),
          UpdateExpression: 'ADD #count :one',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':one': 1, ':limit': limit },
        }),
      );
      return true;
    } catch (error) {
      // At the limit (or the count failed): give the slot back. A crash before this leaves a slot
      // without its count, which the repair on the next refusal counts in.
      await this.ddb.send(new DeleteCommand({ TableName: this.tableName, Key: TaskKeys.slot(tenantId, taskId) }));
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  public async release(tenantId: string, taskId: string): Promise<void> {
    try {
      await this.ddb.send(new DeleteCommand({ TableName: this.tableName, Key: TaskKeys.slot(tenantId, taskId), ConditionExpression: 'attribute_exists(pk)' }));
    } catch (error) {
      if (isConditionFailure(error)) return; // already released
      throw error;
    }
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TaskKeys.inflight(tenantId),
          UpdateExpression: 'ADD #count :minusOne',
          ConditionExpression: '#count > :zero',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0 },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  public async repair(tenantId: string, isDone: (taskIds: readonly string[]) => Promise<ReadonlySet<string>>): Promise<number> {
    const { Item } = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: TaskKeys.inflight(tenantId), ConsistentRead: true }));
    const seen = Item?.count as number | undefined;
    const slots: string[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.ddb.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :slot)',
          ExpressionAttributeValues: { ':pk': TaskKeys.inflight(tenantId).pk, ':slot': 'SLOT#' },
          ProjectionExpression: 'taskId',
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      slots.push(...(page.Items ?? []).map((item) => item.taskId as string));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    const done = await isDone(slots);
    for (const taskId of done) {
      await this.ddb.send(new DeleteCommand({ TableName: this.tableName, Key: TaskKeys.slot(tenantId, taskId) }));
    }
    const live = slots.length - [...done].filter((taskId) => slots.includes(taskId)).length;
    try {
      // Only if nobody admitted or released meanwhile; otherwise the next refusal repairs again.
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TaskKeys.inflight(tenantId),
          UpdateExpression: 'SET #count = :live',
          ConditionExpression: seen === undefined ? 'attribute_not_exists(#count)' : '#count = :seen',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':live': live, ...(seen === undefined ? {} : { ':seen': seen }) },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    return live;
  }
}
