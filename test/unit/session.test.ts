import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mustWait } from '../../lambdas/core/session.ts';
import { TaskKeys } from '../../lambdas/store/keys.ts';
import { DynamoSessionStore } from '../../lambdas/store/session-store.ts';
import { DynamoTaskStore } from '../../lambdas/store/task-store.ts';
import { startLocalDynamo, type LocalDynamo } from '../support/local-dynamo.ts';
import { taskRecord } from '../support/tasks.ts';

describe('session gate', () => {
  let dynamo: LocalDynamo;
  let sessions: DynamoSessionStore;
  let tasks: DynamoTaskStore;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    sessions = new DynamoSessionStore(dynamo.tasksTable, dynamo.docClient);
    tasks = new DynamoTaskStore(dynamo.tasksTable, dynamo.docClient);
  });
  afterAll(async () => dynamo?.stop());

  const queuedInSession = async (sessionId: string) => {
    const base = taskRecord({ sessionId });
    const sessionSeq = await sessions.enqueue(base.tenantId, sessionId, base.taskId);
    const task = { ...base, sessionSeq };
    await tasks.create(task);
    return task;
  };

  it('makes a later task wait while an earlier one is in flight, and lets it go once that ends', async () => {
    // Prepare
    const first = await queuedInSession('s1');
    const second = await queuedInSession('s1');
    // Act
    const blocked = await mustWait(sessions, tasks, second);
    const firstItself = await mustWait(sessions, tasks, first);
    await tasks.cancel(first.taskId, new Date().toISOString());
    const released = await mustWait(sessions, tasks, second);
    // Assess
    expect([first.sessionSeq, second.sessionSeq]).toEqual([1, 2]);
    expect(blocked).toBe(true);
    expect(firstItself).toBe(false);
    expect(released).toBe(false);
  });

  it('never blocks on a position whose task was never written (a crash between the two writes)', async () => {
    // Prepare: position 1 is taken, but its task record never lands; it is older than the grace.
    await sessions.enqueue('ten_test', 's2', 'tsk_never_written');
    await dynamo.docClient.send(
      new UpdateCommand({ TableName: dynamo.tasksTable, Key: TaskKeys.sessionMember('ten_test', 's2', 1), UpdateExpression: 'SET #at = :old', ExpressionAttributeNames: { '#at': 'at' }, ExpressionAttributeValues: { ':old': 1 } }),
    );
    const second = await queuedInSession('s2');
    // Act / Assess
    expect(await mustWait(sessions, tasks, second)).toBe(false);
    expect(await sessions.before('ten_test', 's2', second.sessionSeq, 10)).toEqual([]);
  });

  it('keeps sessions independent', async () => {
    await queuedInSession('s3');
    const other = await queuedInSession('s4');
    expect(await mustWait(sessions, tasks, other)).toBe(false);
  });

  it('a retried submit that took two positions blocks neither itself nor the task between them', async () => {
    // Prepare: task T's first submit took position 1 and failed; task X took 2; T's retry took 3.
    const t = taskRecord({ sessionId: 's-retry' });
    await sessions.enqueue(t.tenantId, 's-retry', t.taskId);
    const x = await queuedInSession('s-retry');
    const tSeq = await sessions.enqueue(t.tenantId, 's-retry', t.taskId);
    await tasks.create({ ...t, sessionSeq: tSeq });
    // Act
    const xWaits = await mustWait(sessions, tasks, x);
    const tWaits = await mustWait(sessions, tasks, { ...t, sessionSeq: tSeq });
    // Assess: X is first (T's leftover position is dropped); T waits for X, not for itself
    expect([x.sessionSeq, tSeq]).toEqual([2, 3]);
    expect(xWaits).toBe(false);
    expect(tWaits).toBe(true);
    await tasks.cancel(x.taskId, new Date().toISOString());
    expect(await mustWait(sessions, tasks, { ...t, sessionSeq: tSeq })).toBe(false);
  });
});
