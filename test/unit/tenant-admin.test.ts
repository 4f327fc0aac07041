import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticateApiKey, createTenant, hashApiKey, listApiKeys, revokeApiKey, rotateApiKey } from '../../lambdas/core/auth.ts';
import { NotFoundError, ValidationError } from '../../lambdas/core/errors.ts';
import { TaskKeys } from '../../lambdas/store/keys.ts';
import { DynamoTenantStore } from '../../lambdas/store/tenant-store.ts';
import { startLocalDynamo, type LocalDynamo } from '../support/local-dynamo.ts';

describe('tenant administration: API key listing, rotation and revocation (DynamoDB)', () => {
  let dynamo: LocalDynamo;
  let store: DynamoTenantStore;

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    store = new DynamoTenantStore(dynamo.tasksTable, dynamo.docClient);
  });
  afterAll(async () => dynamo?.stop());

  it('lists a new tenant’s key by id and status, never the key or its hash', async () => {
    // Prepare
    const { tenantId, apiKey, keyId } = await createTenant(store, 'acme', { now: new Date('2026-01-02T03:04:05Z') });
    // Act
    const keys = await listApiKeys(store, tenantId);
    // Assess
    expect(keys).toEqual([{ keyId, tenantId, status: 'active', createdAt: '2026-01-02T03:04:05.000Z' }]);
    expect(JSON.stringify(keys)).not.toContain(apiKey);
    expect(JSON.stringify(keys)).not.toContain(hashApiKey(apiKey));
    expect(apiKey).toContain(keyId);
  });

  it('revokes one key: it stops authenticating, other keys keep working, and revoking again is a no-op', async () => {
    // Prepare
    const { tenantId, apiKey, keyId } = await createTenant(store, 'beta');
    const second = await rotateApiKey(store, tenantId);
    // Act
    const first = await revokeApiKey(store, tenantId, keyId);
    const again = await revokeApiKey(store, tenantId, keyId);
    // Assess
    expect(first).toBe('revoked');
    expect(again).toBe('already-revoked');
    expect(await authenticateApiKey(store, apiKey)).toBeUndefined();
    expect(await authenticateApiKey(store, second.apiKey)).toEqual({ tenantId, keyId: second.keyId, via: 'apiKey' });
    const keys = await listApiKeys(store, tenantId);
    expect(keys.map((key) => [key.keyId, key.status])).toEqual([
      [keyId, 'revoked'],
      [second.keyId, 'active'],
    ]);
    expect(keys[0]!.revokedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const { Item } = await dynamo.docClient.send(new GetCommand({ TableName: dynamo.tasksTable, Key: TaskKeys.apiKey(hashApiKey(apiKey)) }));
    expect(Item).toMatchObject({ status: 'revoked', tenantId, keyId });
  });

  it('rotates: a new working key, and with revokeOld every earlier key revoked', async () => {
    // Prepare
    const { tenantId, apiKey } = await createTenant(store, 'gamma');
    const extra = await rotateApiKey(store, tenantId);
    // Act
    const rotated = await rotateApiKey(store, tenantId, { revokeOld: true });
    // Assess
    expect(rotated.revokedKeyIds).toHaveLength(2);
    expect(rotated.revokedKeyIds).toContain(extra.keyId);
    expect(await authenticateApiKey(store, rotated.apiKey)).toEqual({ tenantId, keyId: rotated.keyId, via: 'apiKey' });
    expect(await authenticateApiKey(store, apiKey)).toBeUndefined();
    expect(await authenticateApiKey(store, extra.apiKey)).toBeUndefined();
    expect((await listApiKeys(store, tenantId)).filter((key) => key.status === 'active').map((key) => key.keyId)).toEqual([rotated.keyId]);
  });

  it('keeps tenants apart: a key id of another tenant is not found', async () => {
    // Prepare
    const a = await createTenant(store, 'tenant-a');
    const b = await createTenant(store, 'tenant-b');
    // Act
    const crossed = await revokeApiKey(store, b.tenantId, a.keyId).catch((error: unknown) => error);
    // Assess
    expect(crossed).toBeInstanceOf(NotFoundError);
    expect(await authenticateApiKey(store, a.apiKey)).toEqual({ tenantId: a.tenantId, keyId: a.keyId, via: 'apiKey' });
    expect((await listApiKeys(store, b.tenantId)).map((key) => key.keyId)).toEqual([b.keyId]);
  });

  it('refuses unknown tenants and malformed ids', async () => {
    // Prepare
    const { tenantId } = await createTenant(store, 'delta');
    // Act
    const outcomes = await Promise.all([
      rotateApiKey(store, 'ten_missing').catch((error: unknown) => error),
      listApiKeys(store, 'ten_missing').catch((error: unknown) => error),
      revokeApiKey(store, tenantId, 'not-a-key-id').catch((error: unknown) => error),
      revokeApiKey(store, 'bad tenant!', '01J9ZZZZZZZZZZZZZZZZZZZZZZ').catch((error: unknown) => error),
      createTenant(store, '').catch((error: unknown) => error),
    ]);
    // Assess
    expect(outcomes.map((outcome) => (outcome as Error).constructor)).toEqual([NotFoundError, NotFoundError, ValidationError, ValidationError, ValidationError]);
  });
});
