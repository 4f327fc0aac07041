import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, hashIdempotencyKey } from '../../lambdas/core/idempotency.ts';
import { DynamoIdempotencyStore } from '../../lambdas/store/idempotency-store.ts';
import { TaskKeys } from '../../lambdas/store/keys.ts';
import { startLocalDynamo, type LocalDynamo } from '../support/local-dynamo.ts';

describe('DynamoIdempotencyStore', () => {
  let dynamo: LocalDynamo;
  let store: DynamoIdempotencyStore;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    store = new DynamoIdempotencyStore(dynamo.tasksTable, dynamo.docClient);
  });
  afterAll(async () => dynamo?.stop());

  it('gives the key to one request; a concurrent one is told it is in progress', async () => {
    // Prepare
    const key = hashIdempotencyKey('concurrent');
    // Act
    const claims = await Promise.all([store.claim('t1', key, 'fp', 'tsk_a'), store.claim('t1', key, 'fp', 'tsk_b')]);
    // Assess
    expect(claims.map((claim) => claim.kind).sort()).toEqual(['in-progress', 'owner']);
  });

  it('replays a completed key, rejects another fingerprint, and keeps tenants apart', async () => {
    // Prepare
    const key = hashIdempotencyKey('done');
    await store.claim('t1', key, 'fp1', 'tsk_1');
    await store.complete('t1', key);
    // Act / Assess
    expect(await store.claim('t1', key, 'fp1', 'tsk_2')).toEqual({ kind: 'replay', taskId: 'tsk_1' });
    expect(await store.claim('t1', key, 'fp2', 'tsk_3')).toEqual({ kind: 'mismatch' });
    expect(await store.claim('t2', key, 'fp1', 'tsk_4')).toEqual({ kind: 'owner', taskId: 'tsk_4' });
  });

  it('lets a retry take over a key whose first request crashed, keeping the same task id', async () => {
    // Prepare: the holder never completed and its lock has run out.
    const key = hashIdempotencyKey('crashed');
    await store.claim('t1', key, 'fp', 'tsk_first');
    await dynamo.docClient.send(
      new UpdateCommand({ TableName: dynamo.tasksTable, Key: TaskKeys.idempotency('t1', key), UpdateExpression: 'SET lockedUntil = :past', ExpressionAttributeValues: { ':past': 1 } }),
    );
    // Act
    const takeover = await store.claim('t1', key, 'fp', 'tsk_second');
    // Assess
    expect(takeover).toEqual({ kind: 'owner', taskId: 'tsk_first' });
  });

  it('forgets a released key and treats an expired one as new', async () => {
    // Prepare
    const released = hashIdempotencyKey('released');
    await store.claim('t1', released, 'fp', 'tsk_r1');
    await store.release('t1', released);
    const expired = hashIdempotencyKey('expired');
    await store.claim('t1', expired, 'fp-old', 'tsk_e1');
    await store.complete('t1', expired);
    await dynamo.docClient.send(
      new UpdateCommand({ TableName: dynamo.tasksTable, Key: TaskKeys.idempotency('t1', expired), UpdateExpression: 'SET expiresAt = :past', ExpressionAttributeValues: { ':past': 1 } }),
    );
    // Act / Assess
    expect(await store.claim('t1', released, 'fp', 'tsk_r2')).toEqual({ kind: 'owner', taskId: 'tsk_r2' });
    expect(await store.claim('t1', expired, 'fp-new', 'tsk_e2')).toEqual({ kind: 'owner', taskId: 'tsk_e2' });
  });

  it('fingerprints JSON independent of key order, and validates keys', () => {
    expect(fingerprint({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(fingerprint({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(fingerprint({ a: 1 })).not.toBe(fingerprint({ a: 2 }));
    expect(() => hashIdempotencyKey('')).toThrow();
    expect(() => hashIdempotencyKey('has space')).toThrow();
    expect(hashIdempotencyKey('ok-key_1')).toMatch(/^[0-9a-f]{64}$/);
  });
});
