import { isConditionFailure } from './conditions.ts';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AdmissionStore } from '../core/admission.ts';
import { ddb as defaultClient } from './clients.ts';
import { TaskKeys } from './keys.ts';


/** Options of {@link DynamoAdmissionStore}. */
export interface AdmissionStoreOptions {
  /**
   * How old a slot must be before a repair may judge it leaked: a younger one may belong to a
   * submit still under way, whose task is not written yet. @default 30000
   */
  readonly slotGraceMs: number;
  /**
   * Least time between two recounts of one tenant triggered by refusals ({@link DynamoAdmissionStore.claimRepair}):
   * bounds what a client hammering a full tenant costs. @default 30000
   */
  readonly repairIntervalMs: number;
}

const defaults: AdmissionStoreOptions = { slotGraceMs: 30_000, repairIntervalMs: 30_000 };

/** {@link AdmissionStore} on the tasks table: `TENANT#id/INFLIGHT` counter and `TENANT#id/SLOT#task` slots. */
export class DynamoAdmissionStore implements AdmissionStore {
  private readonly options: AdmissionStoreOptions;

  public constructor(
    private readonly tableName: string,
    private readonly ddb: DynamoDBDocumentClient = defaultClient,
    options: Partial<AdmissionStoreOptions> = {},
  ) {
    this.options = { ...defaults, ...options };
  }

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

  /**
   * One conditional UpdateItem on the counter item: sets `repairedAt` (epoch ms) to now only if it
   * is absent or older than `repairIntervalMs`, so the claim holds across Lambda instances.
   */
  public async claimRepair(tenantId: string): Promise<boolean> {
    const now = Date.now();
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TaskKeys.inflight(tenantId),
          UpdateExpression: 'SET #repairedAt = :now',
          ConditionExpression: 'attribute_not_exists(#repairedAt) OR #repairedAt <= :cutoff',
          ExpressionAttributeNames: { '#repairedAt': 'repairedAt' },
          ExpressionAttributeValues: { ':now': now, ':cutoff': now - this.options.repairIntervalMs },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  public async repair(tenantId: string, isDone: (taskIds: readonly string[]) => Promise<ReadonlySet<string>>): Promise<number> {
    // The reset is conditional on nobody admitting or releasing meanwhile: try a few times.
    let live = 0;
    for (let attempt = 0; attempt < 3; attempt++) {
      const outcome = await this.recount(tenantId, isDone);
      live = outcome.live;
      if (outcome.reset) break;
    }
    return live;
  }

  private async recount(tenantId: string, isDone: (taskIds: readonly string[]) => Promise<ReadonlySet<string>>): Promise<{ live: number; reset: boolean }> {
    const { Item } = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: TaskKeys.inflight(tenantId), ConsistentRead: true }));
    const seen = Item?.count as number | undefined;
    const slots: { taskId: string; at: number }[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.ddb.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :slot)',
          ExpressionAttributeValues: { ':pk': TaskKeys.inflight(tenantId).pk, ':slot': 'SLOT#' },
          ProjectionExpression: 'taskId, #at',
          ExpressionAttributeNames: { '#at': 'at' },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      slots.push(...(page.Items ?? []).map((item) => ({ taskId: item.taskId as string, at: Date.parse(String(item.at)) })));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    // A young slot may belong to a submit still under way (its task not written yet): never judged.
    const settledBefore = Date.now() - this.options.slotGraceMs;
    const candidates = slots.filter((slot) => !(slot.at > settledBefore)).map((slot) => slot.taskId);
    const done = await isDone(candidates);
    for (const taskId of done) {
      await this.ddb.send(new DeleteCommand({ TableName: this.tableName, Key: TaskKeys.slot(tenantId, taskId) }));
    }
    const live = slots.length - candidates.filter((taskId) => done.has(taskId)).length;
    try {
      // Only if nobody admitted or released meanwhile.
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
      return { live, reset: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { live, reset: false };
    }
  }
}
