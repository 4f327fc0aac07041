import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enterRunning, leaveRunning, runningScope, type FairnessDeps } from '../../lambdas/core/fairness.ts';
import { DynamoAdmissionStore } from '../../lambdas/store/admission-store.ts';
import { DynamoParkingLot } from '../../lambdas/store/parking-lot.ts';
import { DynamoTaskStore } from '../../lambdas/store/task-store.ts';
import { startLocalDynamo, type LocalDynamo } from '../support/local-dynamo.ts';
import { taskRecord } from '../support/tasks.ts';
import { RecordingPublisher } from '../support/recording-publisher.ts';

describe('execution fairness (per-tenant running slots and parking)', () => {
  let dynamo: LocalDynamo;
  let slots: DynamoAdmissionStore;
  let lot: DynamoParkingLot;
  let tasks: DynamoTaskStore;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    slots = new DynamoAdmissionStore(dynamo.tasksTable, dynamo.docClient, { slotGraceMs: 0 });
    lot = new DynamoParkingLot(dynamo.tasksTable, dynamo.docClient);
    tasks = new DynamoTaskStore(dynamo.tasksTable, dynamo.docClient);
  });
  afterAll(async () => dynamo?.stop());

  const deps = (limit: number): FairnessDeps & { events: RecordingPublisher } => ({ slots, lot, tasks, events: new RecordingPublisher(), limit });
  const queued = async (tenantId: string) => {
    const task = taskRecord({ tenantId });
    await tasks.create(task);
    return task;
  };
  const slotCount = async (tenantId: string) => slots.repair(runningScope(tenantId, 'interactive'), async () => new Set());

  it('admits up to the limit per tenant, parks the rest, and leaves other tenants unaffected', async () => {
    // Prepare
    const fairness = deps(2);
    const flood = [await queued('ten_a1'), await queued('ten_a1'), await queued('ten_a1'), await queued('ten_a1')];
    const other = await queued('ten_b1');
    // Act
    const entries = await Promise.all(flood.map((task) => enterRunning(fairness, task)));
    const otherEntry = await enterRunning(fairness, other);
    // Assess
    expect(entries.filter(Boolean)).toHaveLength(2);
    expect(otherEntry).toBe(true);
    const parked = flood.filter((_, index) => !entries[index]).map((task) => task.taskId);
    expect(await lot.parked('ten_a1', 'interactive', 10)).toEqual(parked.sort());
    expect(await slotCount('ten_a1')).toBe(2);
  });

  it('wakes the oldest parked task that is still queued when a slot frees, skipping cancelled ones', async () => {
    // Prepare
    const fairness = deps(1);
    const running = await queued('ten_wake');
    const cancelledWhileParked = await queued('ten_wake');
    const next = await queued('ten_wake');
    const last = await queued('ten_wake');
    for (const task of [running, cancelledWhileParked, next, last]) await enterRunning(fairness, task);
    await tasks.cancel(cancelledWhileParked.taskId, new Date().toISOString());
    // Act
    const woken = await leaveRunning(fairness, running);
    // Assess
    expect(woken).toBe(next.taskId);
    expect(fairness.events.submitted).toEqual([next.taskId]);
    expect(await lot.parked('ten_wake', 'interactive', 10)).toEqual([last.taskId]);
    expect(await slotCount('ten_wake')).toBe(0);
  });

  it('reads the parking lot on release only while a task of the tenant is parked (the release reads the count back)', async () => {
    // Prepare: a lot that counts how often it is read
    let reads = 0;
    const fairness: FairnessDeps & { events: RecordingPublisher } = {
      ...deps(1),
      lot: { park: (...args) => lot.park(...args), unpark: (...args) => lot.unpark(...args), parked: (...args) => (reads++, lot.parked(...args)) },
    };
    const alone = await queued('ten_quiet');
    const busy = await queued('ten_quiet');
    const waiting = await queued('ten_quiet');
    // Act
    await enterRunning(fairness, alone);
    await leaveRunning(fairness, alone);
    const readsWithNobodyParked = reads;
    await enterRunning(fairness, busy);
    await enterRunning(fairness, waiting); // parked
    const woken = await leaveRunning(fairness, busy);
    // Assess
    expect(readsWithNobodyParked).toBe(0);
    expect(woken).toBe(waiting.taskId);
    expect(reads).toBe(1);
    expect(fairness.events.submitted).toEqual([waiting.taskId]);
  });

  it('drops a slot leaked by a task that ended without releasing it, so the tenant is never locked out', async () => {
    // Prepare: the slot holder is terminal, but its worker died before releasing the slot
    const fairness = deps(1);
    const leaked = await queued('ten_leak');
    await enterRunning(fairness, leaked);
    await tasks.cancel(leaked.taskId, new Date().toISOString());
    const later = await queued('ten_leak');
    // Act
    const admitted = await enterRunning(fairness, later);
    // Assess
    expect(admitted).toBe(true);
    expect(await lot.parked('ten_leak', 'interactive', 10)).toEqual([]);
    expect(await slotCount('ten_leak')).toBe(1);
  });

  it('takes a parked task back out when a slot freed between its refusal and its parking', async () => {
    // Prepare: a parking lot that frees the holder's slot while parking, like a task ending just then
    const holder = await queued('ten_race');
    const task = await queued('ten_race');
    const fairness = deps(1);
    await enterRunning(fairness, holder);
    const racing: FairnessDeps = {
      ...fairness,
      lot: {
        park: async (...args) => {
          await lot.park(...args);
          await slots.release(runningScope('ten_race', 'interactive'), holder.taskId);
        },
        unpark: (...args) => lot.unpark(...args),
        parked: (...args) => lot.parked(...args),
      },
    };
    // Act
    const admitted = await enterRunning(racing, task);
    // Assess
    expect(admitted).toBe(true);
    expect(await lot.parked('ten_race', 'interactive', 10)).toEqual([]);
  });

  it('lets a running task whose worker died keep its slot (no second slot on takeover)', async () => {
    // Prepare
    const fairness = deps(1);
    const task = await queued('ten_takeover');
    await enterRunning(fairness, task);
    // Act
    const again = await enterRunning(fairness, { ...task, status: 'running' });
    // Assess
    expect(again).toBe(true);
    expect(await slotCount('ten_takeover')).toBe(1);
  });
});
