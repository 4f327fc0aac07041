import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admit, TooManyInFlightError } from '../../lambdas/core/admission.ts';
import { submitTask } from '../../lambdas/core/submit.ts';
import { DynamoAdmissionStore } from '../../lambdas/store/admission-store.ts';
import { TaskKeys } from '../../lambdas/store/keys.ts';
import { DynamoTaskStore } from '../../lambdas/store/task-store.ts';
import { DynamoTenantStore } from '../../lambdas/store/tenant-store.ts';
import { createTenant } from '../../lambdas/core/auth.ts';
import { routesWebhooks } from '../../lambdas/core/webhook-presence.ts';
import { startLocalDynamo, type LocalDynamo } from '../support/local-dynamo.ts';
import { RecordingPublisher } from '../support/recording-publisher.ts';
import { recordingClient } from '../support/recording-client.ts';

const recording = recordingClient;

describe('admission slots: one conditional write per admit and per release', () => {
  let dynamo: LocalDynamo;
  const nothingDone = async () => new Set<string>();
  const counter = async (scope: string) => (await dynamo.docClient.send(new GetCommand({ TableName: dynamo.tasksTable, Key: TaskKeys.inflight(scope), ConsistentRead: true }))).Item;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
  });
  afterAll(async () => dynamo?.stop());

  it('admits and releases with one UpdateItem each; a duplicate admit or release changes nothing', async () => {
    // Prepare
    const { client, counts } = recording(dynamo.docClient);
    const store = new DynamoAdmissionStore(dynamo.tasksTable, client, { slotGraceMs: 0 });
    // Act
    const admitted = await store.tryAdmit('ten_one', 't1', 2);
    const writesToAdmit = Object.fromEntries(counts);
    counts.clear();
    const released = await store.release('ten_one', 't1');
    const writesToRelease = Object.fromEntries(counts);
    const again = await store.release('ten_one', 't1');
    await store.tryAdmit('ten_one', 't2', 2);
    const duplicate = await store.tryAdmit('ten_one', 't2', 2);
    const item = await counter('ten_one');
    // Assess
    expect(writesToAdmit).toEqual({ UpdateCommand: 1 });
    expect(writesToRelease).toEqual({ UpdateCommand: 1 });
    expect(admitted).toEqual({ count: 1, parked: 0 });
    expect(released).toEqual({ count: 0, parked: 0 });
    expect(again).toBeUndefined();
    expect(duplicate).toEqual({ count: 1, parked: 0 });
    expect(item).toMatchObject({ count: 1, 'slot#t2': expect.any(Number) });
    expect(item).not.toHaveProperty('slot#t1');
  });

  it('never admits past the limit under concurrent submits, and the count always equals the slots held', async () => {
    // Prepare
    const store = new DynamoAdmissionStore(dynamo.tasksTable, dynamo.docClient, { slotGraceMs: 0 });
    // Act
    const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => store.tryAdmit('ten_race', `r${i}`, 5)));
    const item = (await counter('ten_race'))!;
    // Assess
    expect(outcomes.filter(Boolean)).toHaveLength(5);
    expect(item.count).toBe(5);
    expect(Object.keys(item).filter((name) => name.startsWith('slot#'))).toHaveLength(5);
  });

  it('drops a leaked slot (its task ended without releasing) when admission is refused', async () => {
    // Prepare
    const store = new DynamoAdmissionStore(dynamo.tasksTable, dynamo.docClient, { slotGraceMs: 0 });
    await admit(store, 'ten_leak', 'crashed', 1, nothingDone);
    // Act
    await admit(store, 'ten_leak', 'next', 1, async (ids) => new Set(ids.filter((id) => id === 'crashed')));
    const refused = await admit(store, 'ten_leak', 'third', 1, nothingDone).catch((error: unknown) => error);
    // Assess
    expect(refused).toBeInstanceOf(TooManyInFlightError);
    expect(Object.keys((await counter('ten_leak'))!).filter((name) => name.startsWith('slot#'))).toEqual(['slot#next']);
  });

  it('still counts, releases and repairs slots the earlier layout stored as separate SLOT# items', async () => {
    // Prepare: one task admitted by the earlier layout (a slot item and the count), still in flight.
    const store = new DynamoAdmissionStore(dynamo.tasksTable, dynamo.docClient, { slotGraceMs: 0 });
    await dynamo.docClient.send(new PutCommand({ TableName: dynamo.tasksTable, Item: { ...TaskKeys.slot('ten_old', 'old-1'), entity: 'slot', taskId: 'old-1', at: new Date(0).toISOString() } }));
    await dynamo.docClient.send(
      new UpdateCommand({ TableName: dynamo.tasksTable, Key: TaskKeys.inflight('ten_old'), UpdateExpression: 'ADD #c :one', ExpressionAttributeNames: { '#c': 'count' }, ExpressionAttributeValues: { ':one': 1 } }),
    );
    // Act
    const refused = await admit(store, 'ten_old', 'new-1', 1, nothingDone).catch((error: unknown) => error);
    const released = await store.release('ten_old', 'old-1');
    const admitted = await admit(store, 'ten_old', 'new-1', 1, nothingDone);
    // Assess
    expect(refused).toBeInstanceOf(TooManyInFlightError);
    expect(released).toEqual({ count: 0 });
    expect(admitted).toEqual({ count: 1, parked: 0 });
    expect(await store.repair('ten_old', nothingDone)).toBe(1);
  });
});

describe('webhook presence on the tenant counter, read back by admission', () => {
  let dynamo: LocalDynamo;
  let store: DynamoAdmissionStore;
  let tasks: DynamoTaskStore;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    store = new DynamoAdmissionStore(dynamo.tasksTable, dynamo.docClient, { slotGraceMs: 0 });
    tasks = new DynamoTaskStore(dynamo.tasksTable, dynamo.docClient);
  });
  afterAll(async () => dynamo?.stop());

  const submit = async (tenantId: string) => {
    const events = new RecordingPublisher();
    const { task } = await submitTask({ tasks, events, admission: { store, limit: 10 } }, { tenantId }, { type: 'completion', input: { prompt: 'hi' } });
    return { stored: (await tasks.get(task.taskId))!, detail: events.events[0]!.detail };
  };

  it('marks tasks (and their events) of a tenant not known to be without webhooks as routed, and of one without as not', async () => {
    // Act
    const unknown = await submit('ten_p1');
    await store.noWebhooksFound('ten_p1');
    const none = await submit('ten_p1');
    // Assess
    expect(unknown.stored.webhooks).toBe(true);
    expect(unknown.detail).toMatchObject({ webhooks: true });
    expect(none.stored.webhooks).toBe(false);
    expect(none.detail).toMatchObject({ webhooks: false });
  });

  it('counts registrations and deletions, starting from the listed endpoints when the count is not known', async () => {
    // Act
    await store.webhookRegistered('ten_p2', 2); // two endpoints from before the count existed, plus this one
    const three = (await submit('ten_p2')).stored.webhooks;
    for (let i = 0; i < 3; i++) await store.webhookRemoved('ten_p2');
    const zero = (await submit('ten_p2')).stored.webhooks;
    await store.webhookRemoved('ten_p2'); // never below zero
    await store.noWebhooksFound('ten_p2'); // known already: no change
    await store.webhookRegistered('ten_p2', 0);
    const one = (await submit('ten_p2')).stored.webhooks;
    // Assess
    expect([three, zero, one]).toEqual([true, false, true]);
    expect((await dynamo.docClient.send(new GetCommand({ TableName: dynamo.tasksTable, Key: TaskKeys.inflight('ten_p2') }))).Item?.webhooks).toBe(1);
  });
});

describe('a new tenant is known to have no webhook endpoints', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
  });
  afterAll(async () => dynamo?.stop());

  it('admits its first task with webhooks known to be 0 (its events skip the fan-out); a tenant stored again keeps its count', async () => {
    // Prepare
    const tenants = new DynamoTenantStore(dynamo.tasksTable, dynamo.docClient);
    const admission = new DynamoAdmissionStore(dynamo.tasksTable, dynamo.docClient, { slotGraceMs: 0 });
    const { tenantId } = await createTenant(tenants, 'fresh');
    // Act
    const first = await admission.tryAdmit(tenantId, 't1', 5);
    await admission.webhookRegistered(tenantId, 0);
    await tenants.putTenant({ tenantId, name: 'renamed', createdAt: new Date().toISOString() });
    const later = await admission.tryAdmit(tenantId, 't2', 5);
    // Assess
    expect(first).toMatchObject({ webhooks: 0 });
    expect(first && routesWebhooks(first.webhooks)).toBe(false);
    expect(later).toMatchObject({ webhooks: 1 });
  });
});
