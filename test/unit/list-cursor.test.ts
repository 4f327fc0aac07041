import { describe, expect, it } from 'vitest';
import type { SigningKey } from '../../lambdas/core/client-token.ts';
import { ValidationError } from '../../lambdas/core/errors.ts';
import { listTasks } from '../../lambdas/core/list.ts';
import type { Principal, TaskRecord } from '../../lambdas/core/model.ts';
import type { TaskStore } from '../../lambdas/core/ports.ts';
import { taskRecord } from '../support/tasks.ts';

/**
 * A task store over an array, paging like the DynamoDB one: newest first by task id, its cursor a
 * base64url table key naming the last task (what `LastEvaluatedKey` holds).
 */
const memoryStore = (records: TaskRecord[]): TaskStore =>
  ({
    get: async (taskId: string) => records.find((task) => task.taskId === taskId),
    listByTenant: async (tenantId: string, options: { limit: number; cursor?: string }) => {
      const after = options.cursor ? (JSON.parse(Buffer.from(options.cursor, 'base64url').toString()) as { gsi1sk: string }).gsi1sk : undefined;
      const own = records.filter((task) => task.tenantId === tenantId && (after === undefined || task.taskId < after)).sort((a, b) => (a.taskId < b.taskId ? 1 : -1));
      const items = own.slice(0, options.limit);
      const last = items[items.length - 1];
      const more = own.length > options.limit && last !== undefined;
      return { items, ...(more ? { nextCursor: Buffer.from(JSON.stringify({ pk: `TASK#${last.taskId}`, gsi1pk: `TENANT#${tenantId}`, gsi1sk: last.taskId })).toString('base64url') } : {}) };
    },
  }) as unknown as TaskStore;

const key: SigningKey = async () => 'k'.repeat(48);
const A: Principal = { tenantId: 'ten_a', via: 'apiKey', keyId: '01HZZZZZZZZZZZZZZZZZZZZZZZ' };
const B: Principal = { tenantId: 'ten_b', via: 'apiKey', keyId: '01HZZZZZZZZZZZZZZZZZZZZZZY' };

const fiveTasksOfA = (): TaskRecord[] => Array.from({ length: 5 }, () => taskRecord({ tenantId: 'ten_a' }));

describe('listing cursors', () => {
  it('are opaque: no task id, tenant or table key can be read from them', async () => {
    // Prepare
    const records = fiveTasksOfA();
    // Act
    const page = await listTasks(memoryStore(records), key, A, { limit: '2' });
    // Assess
    expect(page.nextCursor).toBeDefined();
    const decoded = Buffer.from(page.nextCursor!, 'base64url').toString('latin1');
    for (const task of records) expect(decoded).not.toContain(task.taskId);
    expect(decoded).not.toContain('ten_a');
    expect(decoded).not.toContain('gsi1');
  });

  it('page through the tenant\u2019s tasks', async () => {
    // Prepare
    const records = fiveTasksOfA();
    const store = memoryStore(records);
    // Act
    const first = await listTasks(store, key, A, { limit: '2' });
    const second = await listTasks(store, key, A, { limit: '2', cursor: first.nextCursor });
    const third = await listTasks(store, key, A, { limit: '2', cursor: second.nextCursor });
    // Assess
    const ids = [...first.items, ...second.items, ...third.items].map((task) => task.taskId);
    expect(ids).toEqual(records.map((task) => task.taskId).sort().reverse());
    expect(third.nextCursor).toBeUndefined();
  });

  it('refuse a tampered cursor with 400', async () => {
    // Prepare
    const store = memoryStore(fiveTasksOfA());
    const { nextCursor } = await listTasks(store, key, A, { limit: '2' });
    const bytes = Buffer.from(nextCursor!, 'base64url');
    bytes[bytes.length - 1]! ^= 0x01;
    // Act
    const tampered = listTasks(store, key, A, { cursor: bytes.toString('base64url') });
    // Assess
    await expect(tampered).rejects.toBeInstanceOf(ValidationError);
    await expect(tampered).rejects.toMatchObject({ status: 400 });
  });

  it('refuse a forged cursor naming a table key in clear', async () => {
    // Prepare
    const store = memoryStore(fiveTasksOfA());
    const forged = Buffer.from(JSON.stringify({ pk: 'TASK#x', gsi1pk: 'TENANT#ten_a', gsi1sk: 'tsk_01HZZZZZZZZZZZZZZZZZZZZZZZ' })).toString('base64url');
    // Act
    const listing = listTasks(store, key, A, { cursor: forged });
    // Assess
    await expect(listing).rejects.toMatchObject({ status: 400 });
  });

  it('refuse tenant A\u2019s cursor for tenant B with 400', async () => {
    // Prepare
    const store = memoryStore([...fiveTasksOfA(), ...Array.from({ length: 3 }, () => taskRecord({ tenantId: 'ten_b' }))]);
    const { nextCursor } = await listTasks(store, key, A, { limit: '2' });
    // Act
    const listing = listTasks(store, key, B, { cursor: nextCursor });
    // Assess
    await expect(listing).rejects.toMatchObject({ status: 400 });
  });

  it('refuse a cursor sealed by another deployment (another signing secret)', async () => {
    // Prepare
    const store = memoryStore(fiveTasksOfA());
    const { nextCursor } = await listTasks(store, async () => 'x'.repeat(48), A, { limit: '2' });
    // Act
    const listing = listTasks(store, key, A, { cursor: nextCursor });
    // Assess
    await expect(listing).rejects.toMatchObject({ status: 400 });
  });

  it('still open after the signing secret rotated (previous key of the ring)', async () => {
    // Prepare
    const store = memoryStore(fiveTasksOfA());
    const before: SigningKey = async () => JSON.stringify({ current: { kid: 'one', key: 'a'.repeat(48) } });
    const after: SigningKey = async () => JSON.stringify({ current: { kid: 'two', key: 'b'.repeat(48) }, previous: { kid: 'one', key: 'a'.repeat(48) } });
    const { nextCursor } = await listTasks(store, before, A, { limit: '2' });
    // Act
    const page = await listTasks(store, after, A, { limit: '2', cursor: nextCursor });
    // Assess
    expect(page.items).toHaveLength(2);
  });
});

describe('task-scoped listings', () => {
  it('answer only the token\u2019s own tasks, with a cursor naming none of the others', async () => {
    // Prepare
    const records = fiveTasksOfA();
    const own = [records[0]!.taskId, records[2]!.taskId, records[4]!.taskId];
    const scoped: Principal = { ...A, via: 'clientToken', taskIds: own };
    const store = memoryStore(records);
    // Act
    const first = await listTasks(store, key, scoped, { limit: '2' });
    const second = await listTasks(store, key, scoped, { limit: '2', cursor: first.nextCursor });
    // Assess
    expect(first.items).toHaveLength(2);
    expect([...first.items, ...second.items].map((task) => task.taskId)).toEqual([...own].sort().reverse());
    expect(second.nextCursor).toBeUndefined();
    const decoded = Buffer.from(first.nextCursor!, 'base64url').toString('latin1');
    for (const task of records) expect(decoded).not.toContain(task.taskId);
  });

  it('never answer a task of another tenant named in the scope', async () => {
    // Prepare
    const foreign = taskRecord({ tenantId: 'ten_b' });
    const scoped: Principal = { ...A, via: 'clientToken', taskIds: [foreign.taskId] };
    // Act
    const page = await listTasks(memoryStore([foreign, ...fiveTasksOfA()]), key, scoped, {});
    // Assess
    expect(page.items).toEqual([]);
  });

  it('refuse a tenant-wide cursor', async () => {
    // Prepare
    const records = fiveTasksOfA();
    const store = memoryStore(records);
    const { nextCursor } = await listTasks(store, key, A, { limit: '2' });
    const scoped: Principal = { ...A, via: 'clientToken', taskIds: [records[0]!.taskId] };
    // Act
    const listing = listTasks(store, key, scoped, { cursor: nextCursor });
    // Assess
    await expect(listing).rejects.toMatchObject({ status: 400 });
  });
});

describe('listing cursors and caching', () => {
  it('are the same for the same page, so a repeated listing keeps its ETag (304)', async () => {
    // Prepare
    const store = memoryStore(fiveTasksOfA());
    // Act
    const first = await listTasks(store, key, A, { limit: '2' });
    const again = await listTasks(store, key, A, { limit: '2' });
    // Assess
    expect(again.nextCursor).toBe(first.nextCursor);
  });
});
