import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startHarness, type Harness } from './harness.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** The most tasks whose [startedAt, finishedAt) intervals overlap at one instant. */
const peakOverlap = (tasks: { startedAt: string; finishedAt: string }[]): number => {
  const edges = tasks.flatMap((task): [number, number][] => [
    [Date.parse(task.startedAt), 1],
    [Date.parse(task.finishedAt), -1],
  ]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let peak = 0;
  for (const [, delta] of edges) peak = Math.max(peak, (running += delta));
  return peak;
};

describe('execution fairness between tenants', () => {
  let harness: Harness;
  beforeAll(async () => {
    // A class with four workers and a per-tenant running limit of two: without the limit, one
    // tenant's backlog would take all four and the other tenant would wait for one to finish.
    harness = await startHarness({ eventSourceMaxConcurrency: 4, functionEnvironment: { TENANT_RUNNING_LIMIT: '2' } });
  });
  afterAll(async () => harness?.stop());

  const waitAll = async (apiKey: string, ids: string[]) => {
    const done = new Map<string, any>();
    for (let i = 0; i < 900 && done.size < ids.length; i++) {
      for (const id of ids.filter((candidate) => !done.has(candidate))) {
        const read = await call(`${harness.runtime.endpoints.httpApi}/v1/tasks/${id}`, { apiKey });
        if (TERMINAL.includes(read.body.status)) done.set(id, read.body);
      }
      await sleep(200);
    }
    return ids.map((id) => done.get(id));
  };

  it("one tenant's backlog does not delay another tenant's task; the backlog still completes", async () => {
    // Prepare
    const { httpApi } = harness.runtime.endpoints;
    const a = await harness.newTenant('flooder');
    const b = await harness.newTenant('neighbour');
    const submit = (apiKey: string, prompt: string, maxTokens: number) =>
      call(`${httpApi}/v1/tasks`, { apiKey, body: { type: 'completion', input: { prompt, maxTokens, model: 'sim-1' } } });
    // Act: tenant A floods the interactive class with long tasks; once A's first tasks run,
    // tenant B submits one short task.
    const flood: string[] = [];
    for (let i = 0; i < 6; i++) flood.push((await submit(a.apiKey, `long task ${i}`, 240)).body.taskId);
    for (let i = 0; i < 150; i++) {
      const { body } = await call(`${httpApi}/v1/tasks?status=running`, { apiKey: a.apiKey });
      if (body.items.length >= 2) break;
      await sleep(200);
    }
    const neighbour = (await submit(b.apiKey, 'short task', 20)).body.taskId;
    const [neighbourTask] = await waitAll(b.apiKey, [neighbour]);
    const floodTasks = await waitAll(a.apiKey, flood);
    // Assess: B started before any of A's tasks had finished, A never ran more than two at once,
    // and every parked task of A was woken and completed.
    expect(neighbourTask.status).toBe('succeeded');
    expect(floodTasks.map((task) => task?.status)).toEqual(Array(6).fill('succeeded'));
    const firstFloodFinish = Math.min(...floodTasks.map((task) => Date.parse(task.finishedAt)));
    expect(Date.parse(neighbourTask.startedAt)).toBeLessThan(firstFloodFinish);
    expect(peakOverlap(floodTasks)).toBeLessThanOrEqual(2);
    const ddb = DynamoDBDocumentClient.from(harness.runtime.dynamo.client);
    const tableName = harness.runtime.template.resolveString(
      { Ref: harness.runtime.template.ofType('AWS::DynamoDB::Table').find(([id]) => id.startsWith('StorageTasks'))![0] },
      'test',
    );
    const partition = async (pk: string) => (await ddb.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk } }))).Items ?? [];
    expect(await partition(`PARK#${a.tenantId}#interactive`)).toEqual([]);
    const runSlots = await partition(`TENANT#${a.tenantId}#RUN#interactive`);
    expect(runSlots.filter((item) => String(item.sk).startsWith('SLOT#'))).toEqual([]);
    expect(runSlots.find((item) => item.sk === 'INFLIGHT')?.count ?? 0).toBe(0);
  }, 240_000);
});
