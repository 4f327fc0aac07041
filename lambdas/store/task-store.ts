import { isConditionFailure } from './conditions.ts';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../core/errors.ts';
import { isTaskId } from '../core/ids.ts';
import type { ProgressEntry, TaskError, TaskRecord, TaskStatus } from '../core/model.ts';
import type { TaskStore } from '../core/ports.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ddb as defaultClient } from './clients.ts';
import { TaskKeys } from './keys.ts';


/** Decodes a listing cursor, accepting only a key of the caller's own partition. */
const decodeCursor = (cursor: string, partition: string): Record<string, unknown> => {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw new ValidationError('cursor is invalid.', { cause: error });
  }
  const fields = key as Record<string, unknown> | null;
  // Exactly the key of a task item of the caller's partition (what `LastEvaluatedKey` holds), so
  // that no forged value (empty, of another shape) ever reaches DynamoDB as a start key.
  const valid =
    fields !== null &&
    typeof fields === 'object' &&
    Object.keys(fields).sort().join(',') === 'gsi1pk,gsi1sk,pk,sk' &&
    fields.gsi1pk === partition &&
    isTaskId(fields.gsi1sk) &&
    fields.pk === TaskKeys.task(fields.gsi1sk).pk &&
    fields.sk === TaskKeys.task(fields.gsi1sk).sk;
  if (!valid) throw new ValidationError('cursor is invalid.');
  return fields;
};

const STRIP = new Set(['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'entity']);

/** How long a queued task may wait before the reconciler re-dispatches it. */
export const QUEUED_GRACE_MS = 2 * 60_000;
/** How long a terminal task may stay unsettled before the reconciler finishes its bookkeeping. */
export const SETTLE_GRACE_MS = 30_000;
const toRecord = (item: Record<string, unknown>): TaskRecord =>
  Object.fromEntries(Object.entries(item).filter(([key]) => !STRIP.has(key))) as unknown as TaskRecord;

/** {@link TaskStore} on a DynamoDB table (tasks and their progress log share a partition). */
export class DynamoTaskStore implements TaskStore {
  public constructor(
    private readonly tableName: string,
    private readonly ddb: DynamoDBDocumentClient = defaultClient,
  ) {}

  public async create(task: TaskRecord): Promise<void> {
    await this.ddb.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...TaskKeys.task(task.taskId),
          ...TaskKeys.byTenant(task.tenantId, task.taskId),
          ...TaskKeys.due(task.taskId, Date.parse(task.createdAt) + QUEUED_GRACE_MS),
          entity: 'task',
          ...task,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  public async get(taskId: string): Promise<TaskRecord | undefined> {
    const { Item } = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: TaskKeys.task(taskId), ConsistentRead: true }));
    return Item ? toRecord(Item) : undefined;
  }

  public async claim(taskId: string, owner: string, leaseUntil: number, now: string): Promise<TaskRecord | undefined> {
    try {
      const { Attributes } = await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TaskKeys.task(taskId),
          UpdateExpression:
            'SET #status = :running, leaseOwner = :owner, leaseUntil = :until, attempts = attempts + :one, startedAt = if_not_exists(startedAt, :now), updatedAt = :now, gsi2sk = :due',
          ConditionExpression: 'attribute_exists(pk) AND (#status = :queued OR (#status = :running AND leaseUntil < :nowMs))',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':running': 'running',
            ':queued': 'queued',
            ':owner': owner,
            ':until': leaseUntil,
            ':one': 1,
            ':now': now,
            ':nowMs': Date.now(),
            ':due': TaskKeys.due(taskId, leaseUntil).gsi2sk,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? toRecord(Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  public async renewLease(taskId: string, owner: string, leaseUntil: number): Promise<boolean> {
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TaskKeys.task(taskId),
          UpdateExpression: 'SET leaseUntil = :until, gsi2sk = :due',
          ConditionExpression: '#status = :running AND leaseOwner = :owner',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':until': leaseUntil, ':due': TaskKeys.due(taskId, leaseUntil).gsi2sk, ':running': 'running', ':owner': owner },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  public async appendProgress(taskId: string, owner: string, entry: ProgressEntry): Promise<'ok' | 'lease-lost'> {
    // Entry first (idempotent on seq), then the task's high-water mark under the lease. A crash
    // between the two leaves an entry above progressSeq that the next attempt overwrites.
    await this.ddb.send(new PutCommand({ TableName: this.tableName, Item: { ...TaskKeys.progress(taskId, entry.seq), entity: 'progress', ...entry } }));
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TaskKeys.task(taskId),
          UpdateExpression: 'SET progressSeq = :seq, updatedAt = :now',
          ConditionExpression: '#status = :running AND leaseOwner = :owner AND progressSeq < :seq',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':seq': entry.seq, ':now': entry.at, ':running': 'running', ':owner': owner },
        }),
      );
      return 'ok';
    } catch (error) {
      if (isConditionFailure(error)) return 'lease-lost';
      throw error;
    }
  }

  public async finish(
    taskId: string,
    owner: string,
    outcome: { status: Extract<TaskStatus, 'succeeded' | 'failed' | 'cancelled'>; result?: unknown; error?: TaskError },
    now: string,
  ): Promise<boolean> {
    const sets = ['#status = :status', 'finishedAt = :now', 'updatedAt = :now'];
    const values: Record<string, unknown> = { ':status': outcome.status, ':now': now, ':running': 'running', ':owner': owner, ':due': TaskKeys.due(taskId, Date.now() + SETTLE_GRACE_MS).gsi2sk };
    const names: Record<string, string> = { '#status': 'status' };
    if (outcome.result !== undefined) {
      sets.push('#result = :result');
      values[':result'] = outcome.result;
      names['#result'] = 'result';
    }
    if (outcome.error !== undefined) {
      sets.push('#error = :error');
      values[':error'] = outcome.error;
      names['#error'] = 'error';
    }
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TaskKeys.task(taskId),
          // The task stays in the reconciliation index until settled (see settleTerminal).
          UpdateExpression: `SET ${sets.join(', ')}, gsi2sk = :due REMOVE leaseOwner, leaseUntil`,
          ConditionExpression: '#status = :running AND leaseOwner = :owner',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  public async release(taskId: string, owner: string, error: TaskError, now: string): Promise<void> {
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TaskKeys.task(taskId),
          UpdateExpression: 'SET #status = :queued, lastError = :error, updatedAt = :now, gsi2sk = :due REMOVE leaseOwner, leaseUntil',
          ConditionExpression: '#status = :running AND leaseOwner = :owner',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':queued': 'queued', ':running': 'running', ':owner': owner, ':error': error, ':now': now, ':due': TaskKeys.due(taskId, Date.now() + QUEUED_GRACE_MS).gsi2sk },
        }),
      );
    } catch (caught) {
      if (!isConditionFailure(caught)) throw caught;
    }
  }

  public async cancel(taskId: string, now: string): Promise<TaskRecord | undefined> {
    try {
      const { Attributes } = await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TaskKeys.task(taskId),
          UpdateExpression: 'SET #status = :cancelled, finishedAt = :now, updatedAt = :now, gsi2sk = :due REMOVE leaseOwner, leaseUntil',
          ConditionExpression: '#status IN (:queued, :running)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':cancelled': 'cancelled', ':queued': 'queued', ':running': 'running', ':now': now, ':due': TaskKeys.due(taskId, Date.now() + SETTLE_GRACE_MS).gsi2sk },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? toRecord(Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  public async listByTenant(
    tenantId: string,
    options: { limit: number; status?: TaskStatus; cursor?: string },
  ): Promise<{ items: TaskRecord[]; nextCursor?: string }> {
    const partition = TaskKeys.byTenant(tenantId, '').gsi1pk;
    let start = options.cursor ? decodeCursor(options.cursor, partition) : undefined;
    const items: TaskRecord[] = [];
    // A status filter may leave pages short; read on (bounded) until the page is full.
    for (let round = 0; round < 5 && items.length < options.limit; round++) {
      const page = await this.ddb.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'GSI1',
          KeyConditionExpression: 'gsi1pk = :pk',
          ExpressionAttributeValues: { ':pk': partition, ...(options.status ? { ':status': options.status } : {}) },
          ...(options.status ? { FilterExpression: '#status = :status', ExpressionAttributeNames: { '#status': 'status' } } : {}),
          ScanIndexForward: false,
          Limit: options.limit - items.length,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(page.Items ?? []).map(toRecord));
      start = page.LastEvaluatedKey;
      if (!start) break;
    }
    return { items, ...(start ? { nextCursor: Buffer.from(JSON.stringify(start)).toString('base64url') } : {}) };
  }

  public async settle(taskId: string): Promise<void> {
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: TaskKeys.task(taskId),
        UpdateExpression: 'REMOVE gsi2pk, gsi2sk',
        ConditionExpression: '#status IN (:succeeded, :failed, :cancelled)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':succeeded': 'succeeded', ':failed': 'failed', ':cancelled': 'cancelled' },
      }),
    ).catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
  }

  public async listDue(now: number, limit: number): Promise<TaskRecord[]> {
    const due: TaskRecord[] = [];
    for (const shard of TaskKeys.dueShards) {
      const { Items = [] } = await this.ddb.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'GSI2',
          KeyConditionExpression: 'gsi2pk = :shard AND gsi2sk < :now',
          ExpressionAttributeValues: { ':shard': shard, ':now': new Date(now).toISOString() },
          Limit: limit,
        }),
      );
      due.push(...Items.map(toRecord));
    }
    return due;
  }

  public async postpone(taskId: string, until: number): Promise<void> {
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: TaskKeys.task(taskId),
        UpdateExpression: 'SET gsi2sk = :due ADD redispatches :one',
        ConditionExpression: 'attribute_exists(gsi2pk)',
        ExpressionAttributeValues: { ':due': TaskKeys.due(taskId, until).gsi2sk, ':one': 1 },
      }),
    ).catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
  }

  public async listProgress(taskId: string, after: number, limit: number): Promise<ProgressEntry[]> {
    const from = TaskKeys.progress(taskId, after + 1).sk;
    const to = TaskKeys.progress(taskId, 9_999_999_999).sk;
    const { Items = [] } = await this.ddb.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': TaskKeys.task(taskId).pk, ':from': from, ':to': to },
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return Items.map((item) => ({ seq: item.seq as number, data: item.data, at: item.at as string }));
  }
}
