import { isConditionFailure } from './conditions.ts';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { IDEMPOTENCY_LOCK_MS, IDEMPOTENCY_RETENTION_SECONDS, type IdempotencyClaim, type IdempotencyStore } from '../core/idempotency.ts';
import { ddb as defaultClient } from './clients.ts';
import { TaskKeys } from './keys.ts';


/**
 * {@link IdempotencyStore} on the tasks table: one item per (tenant, key hash), claimed with a
 * conditional put, expiring by TTL after the retention window. Expiry is also checked in the
 * condition, since TTL deletion is lazy.
 */
export class DynamoIdempotencyStore implements IdempotencyStore {
  public constructor(
    private readonly tableName: string,
    private readonly ddb: DynamoDBDocumentClient = defaultClient,
  ) {}

  public async claim(tenantId: string, keyHash: string, fingerprint: string, proposedTaskId: string): Promise<IdempotencyClaim> {
    const Key = TaskKeys.idempotency(tenantId, keyHash);
    const nowMs = Date.now();
    const nowS = Math.floor(nowMs / 1000);
    try {
      await this.ddb.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...Key, entity: 'idempotency', fingerprint, taskId: proposedTaskId, state: 'in_progress', lockedUntil: nowMs + IDEMPOTENCY_LOCK_MS, expiresAt: nowS + IDEMPOTENCY_RETENTION_SECONDS },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :nowS',
          ExpressionAttributeValues: { ':nowS': nowS },
        }),
      );
      return { kind: 'owner', taskId: proposedTaskId };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const { Item } = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }));
    if (!Item) return this.claim(tenantId, keyHash, fingerprint, proposedTaskId);
    if (Item.fingerprint !== fingerprint) return { kind: 'mismatch' };
    if (Item.state === 'completed') return { kind: 'replay', taskId: Item.taskId as string };
    if (Number(Item.lockedUntil) >= nowMs) return { kind: 'in-progress' };
    // The first request died holding the key: take it over, keeping its task id.
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET lockedUntil = :until',
          ConditionExpression: '#state = :inProgress AND lockedUntil = :seen',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':until': nowMs + IDEMPOTENCY_LOCK_MS, ':inProgress': 'in_progress', ':seen': Item.lockedUntil },
        }),
      );
      return { kind: 'owner', taskId: Item.taskId as string };
    } catch (error) {
      if (isConditionFailure(error)) return { kind: 'in-progress' };
      throw error;
    }
  }

  public async complete(tenantId: string, keyHash: string): Promise<void> {
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: TaskKeys.idempotency(tenantId, keyHash),
        UpdateExpression: 'SET #state = :completed REMOVE lockedUntil',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':completed': 'completed' },
      }),
    );
  }

  public async release(tenantId: string, keyHash: string): Promise<void> {
    await this.ddb.send(new DeleteCommand({ TableName: this.tableName, Key: TaskKeys.idempotency(tenantId, keyHash) }));
  }
}
