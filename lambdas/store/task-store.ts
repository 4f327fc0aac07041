import { createHash } from 'node:crypto';
import { cancellationCodes, isConditionFailure } from './conditions.ts';
import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../core/errors.ts';
import { isTaskId } from '../core/ids.ts';
import type { ProgressEntry, TaskError, TaskRecord, TaskStatus } from '../core/model.ts';
import type { TaskStore } from '../core/ports.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ddb as defaultClient } from './clients.ts';
import { TaskKeys } from './keys.ts';
import { TaskIndexes } from './task-indexes.ts';


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

/** DynamoDB left keys of a BatchGetItem unprocessed through every retry (throttling). */
export class UnprocessedReadsError extends Error {
  public constructor(count: number, tableName: string) {
    super(`DynamoDB left ${count} reads unprocessed on ${tableName}.`);
    this.name = 'UnprocessedReadsError';
  }
}

/** Keys per BatchGetItem call (the API's limit), and how many rounds unprocessed keys get. */
const BATCH_GET_MAX = 100;
const BATCH_GET_ROUNDS = 5;

/** Position of the task update (the lease and cancel fence) in a progress write's transaction. */
const PROGRESS_FENCE = 1;
/** How often a progress write is tried when its transaction conflicts with another write of the task. */
const PROGRESS_CONFLICT_ATTEMPTS = 3;

/** A transaction's idempotency token (at most 36 characters): the same for a resend of one write. */
const progressToken = (taskId: string, owner: string, seq: number, attempt: number): string =>
  createHash('sha256').update(`${taskId}\0${owner}\0${seq}\0${attempt}`).digest('base64url').slice(0, 36);

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
    // One call: the entry and the task's high-water mark, all or nothing, under the lease. The
    // condition is the fence: a cancelled task (status no longer running) or a worker that lost
    // its lease (another owner) fails it, and nothing is written.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.ddb.send(
          new TransactWriteCommand({
            // Deterministic per entry and attempt: when the SDK resends a transaction that did
            // commit (its answer was lost), DynamoDB answers success instead of failing the
            // condition (progressSeq is no longer below seq), so a retry never reads as a lost lease.
            ClientRequestToken: progressToken(taskId, owner, entry.seq, attempt),
            TransactItems: [
              { Put: { TableName: this.tableName, Item: { ...TaskKeys.progress(taskId, entry.seq), entity: 'progress', ...entry } } },
              {
                Update: {
                  TableName: this.tableName,
                  Key: TaskKeys.task(taskId),
                  UpdateExpression: 'SET progressSeq = :seq, updatedAt = :now',
                  ConditionExpression: '#status = :running AND leaseOwner = :owner AND progressSeq < :seq',
                  ExpressionAttributeNames: { '#status': 'status' },
                  ExpressionAttributeValues: { ':seq': entry.seq, ':now': entry.at, ':running': 'running', ':owner': owner },
                },
              },
            ],
          }),
        );
        return 'ok';
      } catch (error) {
        const reasons = cancellationCodes(error);
        if (reasons?.[PROGRESS_FENCE] === 'ConditionalCheckFailed') return 'lease-lost';
        // A transaction conflicts with a concurrent write of the task item (a lease renewal, a
        // cancel): it was cancelled whole, nothing was written; try again, a few times.
        if (reasons?.includes('TransactionConflict') && attempt < PROGRESS_CONFLICT_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.random() * 20));
          continue;
        }
        throw error;
      }
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
          IndexName: TaskIndexes.listing.name,
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
    // The index holds keys only: find the due tasks there, then read them (consistently, so the
    // reconciler acts on their current state, and drops any that stopped being due meanwhile).
    const nowKey = new Date(now).toISOString();
    const keys: Record<string, unknown>[] = [];
    for (const shard of TaskKeys.dueShards) {
      const { Items = [] } = await this.ddb.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: TaskIndexes.due.name,
          KeyConditionExpression: 'gsi2pk = :shard AND gsi2sk < :now',
          ExpressionAttributeValues: { ':shard': shard, ':now': nowKey },
          Limit: limit,
        }),
      );
      keys.push(...Items.map((item) => ({ pk: item.pk, sk: item.sk })));
    }
    const items = await this.readAll(keys);
    return items.filter((item) => typeof item.gsi2sk === 'string' && item.gsi2sk < nowKey).map(toRecord);
  }

  /** Many tasks by id (BatchGetItem, consistent): a batch export joins its events with their tasks in one call. Missing ones are absent. */
  public async getMany(taskIds: readonly string[]): Promise<ReadonlyMap<string, TaskRecord>> {
    const items = await this.readAll([...new Set(taskIds)].map((taskId) => TaskKeys.task(taskId)));
    return new Map(items.map(toRecord).map((task) => [task.taskId, task]));
  }

  /** Reads items by key (BatchGetItem, 100 at a time, consistent), retrying unprocessed keys a few times. */
  private async readAll(keys: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
    const found: Record<string, unknown>[] = [];
    for (let start = 0; start < keys.length; start += BATCH_GET_MAX) {
      let pending: Record<string, unknown>[] = keys.slice(start, start + BATCH_GET_MAX);
      for (let round = 0; pending.length > 0; round++) {
        if (round === BATCH_GET_ROUNDS) throw new UnprocessedReadsError(pending.length, this.tableName);
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));
        const { Responses, UnprocessedKeys } = await this.ddb.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }));
        found.push(...(Responses?.[this.tableName] ?? []));
        pending = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return found;
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
