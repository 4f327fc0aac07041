import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admit, TooManyInFlightError } from '../../lambdas/core/admission.ts';
import { DynamoAdmissionStore } from '../../lambdas/store/admission-store.ts';
import { TaskKeys } from '../../lambdas/store/keys.ts';
import { startLocalDynamo, type LocalDynamo } from '../support/local-dynamo.ts';

describe('admission control', () => {
  let dynamo: LocalDynamo;
  let store: DynamoAdmissionStore;
  const nothingDone = async () => new Set<string>();
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    store = new DynamoAdmissionStore(dynamo.tasksTable, dynamo.docClient, { slotGraceMs: 0 });
  });
  afterAll(async () => dynamo?.stop());

  it('admits up to the limit, refuses the next with 429 and Retry-After, and admits again after a release', async () => {
    // Act
    await admit(store, 'ten_a', 't1', 2, nothingDone);
    await admit(store, 'ten_a', 't2', 2, nothingDone);
    const refused = await admit(store, 'ten_a', 't3', 2, nothingDone).catch((error: unknown) => error);
    await store.release('ten_a', 't1');
    await store.release('ten_a', 't1'); // a duplicate release frees nothing more
    await admit(store, 'ten_a', 't4', 2, nothingDone);
    const refusedAgain = await admit(store, 'ten_a', 't5', 2, nothingDone).catch((error: unknown) => error);
    // Assess
    expect(refused).toBeInstanceOf(TooManyInFlightError);
    expect((refused as TooManyInFlightError).status).toBe(429);
    expect((refused as TooManyInFlightError).headers['Retry-After']).toBe('2');
    expect(refusedAgain).toBeInstanceOf(TooManyInFlightError);
  });

  it('keeps tenants independent', async () => {
    await admit(store, 'ten_b', 'x1', 1, nothingDone);
    await expect(admit(store, 'ten_c', 'y1', 1, nothingDone)).resolves.toMatchObject({ count: 1 });
  });

  it('repairs a drifted counter and a leaked slot instead of refusing forever', async () => {
    // Prepare: one slot whose task already finished (its release was lost), and a counter that
    // counts one admission whose slot was never written (a crash between the two writes).
    await admit(store, 'ten_d', 'finished', 2, nothingDone);
    await dynamo.docClient.send(
      new UpdateCommand({ TableName: dynamo.tasksTable, Key: TaskKeys.inflight('ten_d'), UpdateExpression: 'ADD #c :one', ExpressionAttributeNames: { '#c': 'count' }, ExpressionAttributeValues: { ':one': 1 } }),
    );
    const finishedTasks = async (ids: readonly string[]) => new Set(ids.filter((id) => id === 'finished'));
    // Act
    await admit(store, 'ten_d', 'next-1', 2, finishedTasks);
    await admit(store, 'ten_d', 'next-2', 2, finishedTasks);
    const refused = await admit(store, 'ten_d', 'next-3', 2, finishedTasks).catch((error: unknown) => error);
    // Assess: the true in-flight set is {next-1, next-2}.
    expect(refused).toBeInstanceOf(TooManyInFlightError);
    expect(await store.repair('ten_d', finishedTasks)).toBe(2);
  });
});
