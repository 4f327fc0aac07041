import { isConditionFailure } from './conditions.ts';
import { DeleteCommand, GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import type { AdmissionStore, ScopeState } from '../core/admission.ts';
import type { WebhookPresence } from '../core/webhook-presence.ts';
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

/** Slots are attributes of the scope's counter item, named after the task they belong to. */
const SLOT_PREFIX = 'slot#' as const;
const slotAttribute = (taskId: string): string => `${SLOT_PREFIX}${taskId}`;

/** The counters of a scope's item (absent item: nothing counted, webhooks not known). */
const stateOf = (item: Record<string, unknown> | undefined): ScopeState => ({
  count: typeof item?.count === 'number' ? item.count : 0,
  ...(typeof item?.webhooks === 'number' ? { webhooks: item.webhooks } : {}),
  ...(typeof item?.parked === 'number' ? { parked: item.parked } : {}),
});

/**
 * {@link AdmissionStore} on the tasks table: one `TENANT#<scope>/INFLIGHT` item per scope holding
 * the counter and a `slot#<task>` attribute per slot (epoch ms it was taken). Slots taken by an
 * earlier version as separate `TENANT#<scope>/SLOT#<task>` items are still counted, released and
 * repaired. Also the tenant's {@link WebhookPresence} (a `webhooks` attribute on the same item, so
 * admission reads it back for free). Item size grows ~50 bytes per held slot (a tenant at the
 * default 100 in flight: ~5 KB, so ~5 write units per admit or release instead of 2 calls of 1), so
 * a scope's limit must stay within a few thousand slots (the 400 KB item limit).
 */
export class DynamoAdmissionStore implements AdmissionStore, WebhookPresence {
  private readonly options: AdmissionStoreOptions;

  public constructor(
    private readonly tableName: string,
    private readonly ddb: DynamoDBDocumentClient = defaultClient,
    options: Partial<AdmissionStoreOptions> = {},
  ) {
    this.options = { ...defaults, ...options };
  }

  public async tryAdmit(tenantId: string, taskId: string, limit: number): Promise<ScopeState | false> {
    // Slot and count in one conditional write on the scope's item: both change together or not at all.
    try {
      const { Attributes } = await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TaskKeys.inflight(tenantId),
          // `parked` starts known at zero (the parking lot counts on it, see DynamoParkingLot).
          UpdateExpression: 'SET #slot = :at, #parked = if_not_exists(#parked, :zero) ADD #count :one',
          ConditionExpression: 'attribute_not_exists(#slot) AND (attribute_not_exists(#count) OR #count < :limit)',
          ExpressionAttributeNames: { '#slot': slotAttribute(taskId), '#count': 'count', '#parked': 'parked' },
          ExpressionAttributeValues: { ':at': Date.now(), ':one': 1, ':limit': limit, ':zero': 0 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return stateOf(Attributes);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // Refused: at the limit, or the task already holds its slot (a retried submit, a duplicate
    // delivery: admitted without counting it twice). Only this path reads.
    const { Item } = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: TaskKeys.inflight(tenantId), ConsistentRead: true }));
    return Item?.[slotAttribute(taskId)] !== undefined ? stateOf(Item) : false;
  }

  public async release(tenantId: string, taskId: string): Promise<ScopeState | undefined> {
    try {
      const { Attributes } = await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TaskKeys.inflight(tenantId),
          UpdateExpression: 'REMOVE #slot ADD #count :minusOne',
          ConditionExpression: 'attribute_exists(#slot)',
          ExpressionAttributeNames: { '#slot': slotAttribute(taskId), '#count': 'count' },
          ExpressionAttributeValues: { ':minusOne': -1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return stateOf(Attributes);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    return this.releaseLegacy(tenantId, taskId);
  }

  /** Frees a slot taken as a separate SLOT# item (before slots lived on the counter item); nothing if none. */
  private async releaseLegacy(tenantId: string, taskId: string): Promise<ScopeState | undefined> {
    try {
      await this.ddb.send(new DeleteCommand({ TableName: this.tableName, Key: TaskKeys.slot(tenantId, taskId), ConditionExpression: 'attribute_exists(pk)' }));
    } catch (error) {
      if (isConditionFailure(error)) return undefined; // already released
      throw error;
    }
    try {
      const { Attributes } = await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TaskKeys.inflight(tenantId),
          UpdateExpression: 'ADD #count :minusOne',
          ConditionExpression: '#count > :zero',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return stateOf(Attributes);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { count: 0 };
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
    const slots: { taskId: string; at: number; legacy: boolean }[] = Object.entries(Item ?? {})
      .filter(([name]) => name.startsWith(SLOT_PREFIX))
      .map(([name, at]) => ({ taskId: name.slice(SLOT_PREFIX.length), at: Number(at), legacy: false }));
    // Slots taken before they lived on the counter item: separate SLOT# items.
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
      slots.push(...(page.Items ?? []).map((item) => ({ taskId: item.taskId as string, at: Date.parse(String(item.at)), legacy: true })));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    // A young slot may belong to a submit still under way (its task not written yet): never judged.
    const settledBefore = Date.now() - this.options.slotGraceMs;
    const candidates = slots.filter((slot) => !(slot.at > settledBefore));
    const done = await isDone(candidates.map((slot) => slot.taskId));
    const leaked = candidates.filter((slot) => done.has(slot.taskId));
    for (const slot of leaked.filter((candidate) => candidate.legacy)) {
      await this.ddb.send(new DeleteCommand({ TableName: this.tableName, Key: TaskKeys.slot(tenantId, slot.taskId) }));
    }
    const dropped = leaked.filter((slot) => !slot.legacy);
    const live = slots.length - leaked.length;
    const names: Record<string, string> = { '#count': 'count' };
    dropped.forEach((slot, i) => (names[`#s${i}`] = slotAttribute(slot.taskId)));
    try {
      // Only if nobody admitted or released meanwhile: the leaked slots go with the reset.
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TaskKeys.inflight(tenantId),
          UpdateExpression: `SET #count = :live${dropped.length ? ` REMOVE ${dropped.map((_, i) => `#s${i}`).join(', ')}` : ''}`,
          ConditionExpression: seen === undefined ? 'attribute_not_exists(#count)' : '#count = :seen',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':live': live, ...(seen === undefined ? {} : { ':seen': seen }) },
        }),
      );
      return { live, reset: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { live, reset: false };
    }
  }

  public async webhookRegistered(tenantId: string, listedBefore: number): Promise<void> {
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: TaskKeys.inflight(tenantId),
        UpdateExpression: 'SET #webhooks = if_not_exists(#webhooks, :listed) + :one',
        ExpressionAttributeNames: { '#webhooks': 'webhooks' },
        ExpressionAttributeValues: { ':listed': listedBefore, ':one': 1 },
      }),
    );
  }

  public async webhookRemoved(tenantId: string): Promise<void> {
    await this.conditionally({
      UpdateExpression: 'ADD #webhooks :minusOne',
      ConditionExpression: '#webhooks > :zero',
      ExpressionAttributeNames: { '#webhooks': 'webhooks' },
      ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0 },
    }, tenantId);
  }

  public async noWebhooksFound(tenantId: string): Promise<void> {
    await this.conditionally({
      UpdateExpression: 'SET #webhooks = :zero',
      ConditionExpression: 'attribute_not_exists(#webhooks)',
      ExpressionAttributeNames: { '#webhooks': 'webhooks' },
      ExpressionAttributeValues: { ':zero': 0 },
    }, tenantId);
  }

  /** An UpdateItem on the tenant's counter item whose failed condition means "nothing to do". */
  private async conditionally(update: Pick<UpdateCommandInput, 'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>, tenantId: string): Promise<void> {
    try {
      await this.ddb.send(new UpdateCommand({ TableName: this.tableName, Key: TaskKeys.inflight(tenantId), ...update }));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}
