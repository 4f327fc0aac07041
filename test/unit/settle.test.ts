import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admit } from '../../lambdas/core/admission.ts';
import { enterRunning, runningScope } from '../../lambdas/core/fairness.ts';
import type { DetailType, TaskEventDetail } from '../../lambdas/core/model.ts';
import type { EventPublisher } from '../../lambdas/core/ports.ts';
import { reconcile } from '../../lambdas/core/reconcile.ts';
import { settleTerminal } from '../../lambdas/core/settle.ts';
import { DynamoAdmissionStore } from '../../lambdas/store/admission-store.ts';
import { TaskKeys } from '../../lambdas/store/keys.ts';
import { DynamoParkingLot } from '../../lambdas/store/parking-lot.ts';
import { DynamoSessionStore } from '../../lambdas/store/session-store.ts';
import { DynamoTaskStore, SETTLE_GRACE_MS } from '../../lambdas/store/task-store.ts';
import { startLocalDynamo, type LocalDynamo } from '../support/local-dynamo.ts';
import { taskRecord } from '../support/tasks.ts';
import { RecordingPublisher } from '../support/recording-publisher.ts';

/** A publisher whose first `failures` calls fail, like PutEvents failing after the SDK's retries. */
class FlakyPublisher extends RecordingPublisher {
  public constructor(private failures: number) {
    super();
  }
  public override async publish(detailType: DetailType, detail: TaskEventDetail): Promise<void> {
    if (this.failures-- > 0) throw Object.assign(new Error('InternalException'), { name: 'InternalException' });
    return super.publish(detailType, detail);
  }
}

describe('settling terminal tasks: a worker that dies after the terminal write leaks nothing', () => {
  let dynamo: LocalDynamo;
  let tasks: DynamoTaskStore;
  let admission: DynamoAdmissionStore;
  let lot: DynamoParkingLot;
  let sessions: DynamoSessionStore;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    tasks = new DynamoTaskStore(dynamo.tasksTable, dynamo.docClient);
    admission = new DynamoAdmissionStore(dynamo.tasksTable, dynamo.docClient, { slotGraceMs: 0 });
    lot = new DynamoParkingLot(dynamo.tasksTable, dynamo.docClient);
    sessions = new DynamoSessionStore(dynamo.tasksTable, dynamo.docClient);
  });
  afterAll(async () => dynamo?.stop());

  const nothingDone = async () => new Set<string>();
  /** A task admitted, holding a running slot, claimed and finished, whose worker then died. */
  const finishedThenDied = async (tenantId: string, events: EventPublisher) => {
    const task = taskRecord({ tenantId });
    await admit(admission, tenantId, task.taskId, 10, nothingDone);
    await tasks.create(task);
    await enterRunning({ slots: admission, lot, tasks, events, limit: 5 }, task);
    await tasks.claim(task.taskId, 'dead-worker', Date.now() + 60_000, new Date().toISOString());
    await tasks.finish(task.taskId, 'dead-worker', { status: 'succeeded', result: { text: 'ok' } }, new Date().toISOString());
    return task;
  };
  const counters = async (tenantId: string) => ({
    inflight: await admission.repair(tenantId, nothingDone),
    running: await admission.repair(runningScope(tenantId, 'interactive'), nothingDone),
  });

  it('keeps an unsettled terminal task in the reconciliation index; the reconciler settles it once', async () => {
    // Prepare
    const events = new RecordingPublisher();
    const task = await finishedThenDied('ten_settle', events);
    const deps = { tasks, events, admission, sessions, fairness: { slots: admission, lot, tasks, events } };
    // Act
    const early = await reconcile(deps);
    const due = await reconcile({ ...deps, now: () => Date.now() + SETTLE_GRACE_MS + 1_000 });
    const after = await reconcile({ ...deps, now: () => Date.now() + 10 * 60_000 });
    // Assess
    expect(early.settled).not.toContain(task.taskId);
    expect(due.settled).toContain(task.taskId);
    expect(after.settled).not.toContain(task.taskId);
    expect(after.redispatched).not.toContain(task.taskId);
    expect(events.events.filter((event) => event.detail.taskId === task.taskId).map((event) => event.detailType)).toEqual(['Task Succeeded']);
    expect(await counters('ten_settle')).toEqual({ inflight: 0, running: 0 });
  });

  it('recounts the counters when a worker died between freeing a slot and uncounting it', async () => {
    // Prepare: the slots are gone but both counts still include the task
    const events = new RecordingPublisher();
    const task = await finishedThenDied('ten_half_released', events);
    const running = runningScope('ten_half_released', 'interactive');
    for (const scope of ['ten_half_released', running]) await dynamo.docClient.send(new DeleteCommand({ TableName: dynamo.tasksTable, Key: TaskKeys.slot(scope, task.taskId) }));
    const rawCount = async (scope: string) =>
      Number((await dynamo.docClient.send(new GetCommand({ TableName: dynamo.tasksTable, Key: TaskKeys.inflight(scope), ConsistentRead: true }))).Item?.count);
    const before = { inflight: await rawCount('ten_half_released'), running: await rawCount(running) };
    const deps = { tasks, events, admission, sessions, fairness: { slots: admission, lot, tasks, events } };
    // Act
    const report = await reconcile({ ...deps, now: () => Date.now() + SETTLE_GRACE_MS + 1_000 });
    // Assess
    expect(before).toEqual({ inflight: 1, running: 1 });
    expect(report.settled).toContain(task.taskId);
    expect({ inflight: await rawCount('ten_half_released'), running: await rawCount(running) }).toEqual({ inflight: 0, running: 0 });
  });

  it('parks a task that failed for good in the DLQ when its worker died first; a success is never parked', async () => {
    // Prepare: one task failed and one succeeded, both left unsettled by a dead worker
    const events = new RecordingPublisher();
    const failed = taskRecord({ tenantId: 'ten_dead_letter' });
    await tasks.create(failed);
    await tasks.claim(failed.taskId, 'dead-worker', Date.now() + 60_000, new Date().toISOString());
    await tasks.finish(failed.taskId, 'dead-worker', { status: 'failed', error: { code: 'SimulatedModelFailure', message: 'by design' } }, new Date().toISOString());
    const succeeded = await finishedThenDied('ten_dead_letter', events);
    const parked: { taskId: string; status: string; code?: string }[] = [];
    const deadLetter = async (task: { taskId: string; status: string; error?: { code: string } }) => void parked.push({ taskId: task.taskId, status: task.status, code: task.error?.code });
    // Act
    const report = await reconcile({ tasks, events, deadLetter, now: () => Date.now() + SETTLE_GRACE_MS + 1_000 });
    // Assess
    expect(report.settled).toEqual(expect.arrayContaining([failed.taskId, succeeded.taskId]));
    expect(parked.filter((entry) => [failed.taskId, succeeded.taskId].includes(entry.taskId))).toEqual([{ taskId: failed.taskId, status: 'failed', code: 'SimulatedModelFailure' }]);
  });

  it('re-emits the terminal event with the same id, so consumers see a duplicate rather than a new event', async () => {
    // Prepare
    const events = new RecordingPublisher();
    const task = await finishedThenDied('ten_same_id', events);
    const done = { ...(await tasks.get(task.taskId))! };
    // Act
    await settleTerminal({ tasks, events }, done);
    await settleTerminal({ tasks, events }, done);
    // Assess
    const ids = events.events.filter((event) => event.detail.taskId === task.taskId).map((event) => event.detail.eventId);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(1);
  });

  it('does not settle while a step fails; a later pass completes it', async () => {
    // Prepare
    const events = new FlakyPublisher(1);
    const task = await finishedThenDied('ten_flaky', new RecordingPublisher());
    const deps = { tasks, events, admission, sessions };
    const done = (await tasks.get(task.taskId))!;
    // Act
    const first = await settleTerminal(deps, done);
    const retried = await reconcile({ ...deps, now: () => Date.now() + SETTLE_GRACE_MS + 1_000 });
    // Assess
    expect(first).toBe(false);
    expect(retried.settled).toContain(task.taskId);
    expect(events.events.map((event) => event.detailType)).toEqual(['Task Succeeded']);
    expect((await counters('ten_flaky')).inflight).toBe(0);
  });
});
