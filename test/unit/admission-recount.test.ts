import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admit, TooManyInFlightError } from '../../lambdas/core/admission.ts';
import { DynamoAdmissionStore } from '../../lambdas/store/admission-store.ts';
import { startLocalDynamo, type LocalDynamo } from '../support/local-dynamo.ts';
import { recordingClient } from '../support/recording-client.ts';

const recording = recordingClient;

describe('admission recount on refusal is bounded per tenant', () => {
  let dynamo: LocalDynamo;
  const nothingDone = async () => new Set<string>();
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
  });
  afterAll(async () => dynamo?.stop());

  it('recounts at most once for N refused submits in a row, across instances', async () => {
    // Prepare: a full tenant, and two "Lambda instances" with their own store and client.
    const first = recording(dynamo.docClient);
    const second = recording(dynamo.docClient);
    const storeA = new DynamoAdmissionStore(dynamo.tasksTable, first.client, { slotGraceMs: 0 });
    const storeB = new DynamoAdmissionStore(dynamo.tasksTable, second.client, { slotGraceMs: 0 });
    await admit(storeA, 'ten_full', 'held-1', 2, nothingDone);
    await admit(storeA, 'ten_full', 'held-2', 2, nothingDone);
    const queriesBefore = first.count(QueryCommand.name);
    // Act: 20 refused submits, alternating instances.
    const outcomes: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      outcomes.push(await admit(i % 2 ? storeB : storeA, 'ten_full', `refused-${i}`, 2, nothingDone).catch((error: unknown) => error));
    }
    // Assess: every one refused, one recount (a single Query page) in all.
    expect(outcomes.every((outcome) => outcome instanceof TooManyInFlightError)).toBe(true);
    expect(first.count(QueryCommand.name) - queriesBefore + second.count(QueryCommand.name)).toBe(1);
  });

  it('still repairs drift: a recount runs again once the interval has passed', async () => {
    // Prepare: a tenant whose slot leaked (its task finished, the release was lost).
    const { client, count } = recording(dynamo.docClient);
    const store = new DynamoAdmissionStore(dynamo.tasksTable, client, { slotGraceMs: 0, repairIntervalMs: 200 });
    let finished = new Set<string>();
    const isDone = async (ids: readonly string[]) => new Set(ids.filter((id) => finished.has(id)));
    await admit(store, 'ten_drift', 'leaked', 1, isDone);
    const refusedEarly = await admit(store, 'ten_drift', 'next-0', 1, isDone).catch((error: unknown) => error); // claims the recount; nothing done yet
    finished = new Set(['leaked']);
    // Act
    const refusedWithinInterval = await admit(store, 'ten_drift', 'next-1', 1, isDone).catch((error: unknown) => error);
    await sleep(250);
    const admitted = await admit(store, 'ten_drift', 'next-2', 1, isDone).catch((error: unknown) => error);
    // Assess
    expect(refusedEarly).toBeInstanceOf(TooManyInFlightError);
    expect(refusedWithinInterval).toBeInstanceOf(TooManyInFlightError);
    expect(admitted).toMatchObject({ count: 1 });
    expect(count(QueryCommand.name)).toBe(2);
  });
});
