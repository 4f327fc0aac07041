import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { runningScope, type ParkingLot } from '../core/fairness.ts';
import { ddb as defaultClient } from './clients.ts';
import { isConditionFailure } from './conditions.ts';
import { TaskKeys } from './keys.ts';

/** A parked task's item expires a day later (by TTL) if nothing removed it; the reconciler still re-dispatches the task. */
const RETENTION_SECONDS = 24 * 60 * 60;
const expiresAt = (): number => Math.floor(Date.now() / 1000) + RETENTION_SECONDS;

/**
 * {@link ParkingLot} on the tasks table: `PARK#tenant#class` partitions of `TASK#task` items in
 * task-id (time) order, and a `parked` count on the running scope's counter item (see
 * `ScopeState.parked`), so a released slot wakes nobody without a Query when none is parked.
 */
export class DynamoParkingLot implements ParkingLot {
  public constructor(
    private readonly tableName: string,
    private readonly ddb: DynamoDBDocumentClient = defaultClient,
  ) {}

  public async park(tenantId: string, workloadClass: string, taskId: string): Promise<void> {
    // Counted first: a count that errs high only costs a wake-up Query that finds nothing.
    await this.countParked(tenantId, workloadClass, 1);
    await this.ddb.send(
      new PutCommand({ TableName: this.tableName, Item: { ...TaskKeys.parked(tenantId, workloadClass, taskId), entity: 'parked', taskId, at: Date.now(), expiresAt: expiresAt() } }),
    );
  }

  public async unpark(tenantId: string, workloadClass: string, taskId: string): Promise<boolean> {
    try {
      await this.ddb.send(new DeleteCommand({ TableName: this.tableName, Key: TaskKeys.parked(tenantId, workloadClass, taskId), ConditionExpression: 'attribute_exists(pk)' }));
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
    await this.countParked(tenantId, workloadClass, -1);
    return true;
  }

  /** Adjusts the `parked` count on the running scope's counter item (never below zero), which releasing a slot reads back. */
  private async countParked(tenantId: string, workloadClass: string, delta: 1 | -1): Promise<void> {
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TaskKeys.inflight(runningScope(tenantId, workloadClass)),
          UpdateExpression: 'ADD #parked :delta',
          ...(delta < 0 ? { ConditionExpression: '#parked > :zero', ExpressionAttributeValues: { ':delta': delta, ':zero': 0 } } : { ExpressionAttributeValues: { ':delta': delta } }),
          ExpressionAttributeNames: { '#parked': 'parked' },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  public async parked(tenantId: string, workloadClass: string, limit: number): Promise<string[]> {
    const { Items = [] } = await this.ddb.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': TaskKeys.parked(tenantId, workloadClass, '').pk, ':prefix': 'TASK#' },
        ProjectionExpression: 'taskId',
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return Items.map((item) => String(item.taskId));
  }
}
