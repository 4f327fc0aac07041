import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTenant } from '../../lambdas/core/auth.ts';
import { isTaskId } from '../../lambdas/core/ids.ts';
import type { HttpResult } from '../../lambdas/handlers/http/http.ts';
import { MAX_BODY_BYTES } from '../../lambdas/handlers/http/http.ts';
import { TaskKeys } from '../../lambdas/store/keys.ts';
import { DynamoTaskStore } from '../../lambdas/store/task-store.ts';
import { DynamoTenantStore } from '../../lambdas/store/tenant-store.ts';
import { type FakeEventBridge, startFakeEventBridge } from '../support/fake-eventbridge.ts';
import { submitEvent } from '../support/http-events.ts';
import { fakeContext } from '../support/lambda-context.ts';
import { type LocalDynamo, startLocalDynamo, useLocalAwsEnv } from '../support/local-dynamo.ts';

/**
 * `POST /v1/tasks` against a real DynamoDB API (dynalite) and a local EventBridge endpoint that
 * answers `AWSEvents.PutEvents` and records what it received.
 */

const BUS = 'offload-test-bus';
let dynamo: LocalDynamo;
let eventBridge: FakeEventBridge;
let tasks: DynamoTaskStore;
let tenantId: string;
let submit: typeof import('../../lambdas/handlers/http/submit.ts').handler;

beforeAll(async () => {
  dynamo = await startLocalDynamo();
  eventBridge = await startFakeEventBridge();
  useLocalAwsEnv({
    dynamoEndpoint: dynamo.endpoint,
    tasksTable: dynamo.tasksTable,
    connectionsTable: dynamo.connectionsTable,
    eventBridgeEndpoint: eventBridge.endpoint,
    eventBusName: BUS,
  });
  ({ handler: submit } = await import('../../lambdas/handlers/http/submit.ts'));
  ({ tenantId } = await createTenant(new DynamoTenantStore(dynamo.tasksTable, dynamo.docClient), 'acme'));
  tasks = new DynamoTaskStore(dynamo.tasksTable, dynamo.docClient);
});

afterAll(async () => {
  await eventBridge?.stop();
  await dynamo?.stop();
});

beforeEach(() => {
  eventBridge.calls.length = 0;
});

const bodyOf = (result: HttpResult): Record<string, any> => JSON.parse(result.body ?? 'null') as Record<string, any>;
const header = (result: HttpResult, name: string): string | undefined => {
  const entry = Object.entries(result.headers ?? {}).find(([key]) => key.toLowerCase() === name.toLowerCase());
  return entry === undefined ? undefined : String(entry[1]);
};
const expectProblem = (result: HttpResult, status: number): Record<string, any> => {
  expect(result.statusCode).toBe(status);
  expect(header(result, 'content-type')).toBe('application/problem+json');
  const problem = bodyOf(result);
  expect(problem).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  return problem;
};

/** How many tasks the tenant has, through the listing index. */
const taskCount = async (): Promise<number> => {
  const { Count = 0 } = await dynamo.docClient.send(
    new QueryCommand({
      TableName: dynamo.tasksTable,
      IndexName: 'GSI1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': TaskKeys.byTenant(tenantId, '').gsi1pk },
      Select: 'COUNT',
    }),
  );
  return Count;
};

describe('POST /v1/tasks', () => {
  it('acknowledges with 202, Location and status queued', async () => {
    // Prepare
    const event = submitEvent({ type: 'completion', input: { prompt: 'Hello there', maxTokens: 16 }, sessionId: 'chat-7' }, { tenantId });
    // Act
    const result = await submit(event, fakeContext());
    // Assess
    expect(result.statusCode).toBe(202);
    const body = bodyOf(result);
    expect(isTaskId(body.taskId)).toBe(true);
    expect(body).toMatchObject({ status: 'queued', type: 'completion', sessionId: 'chat-7', progress: { seq: 0 }, attempts: 0 });
    expect(header(result, 'location')).toBe(`/v1/tasks/${body.taskId}`);
  });

  it('records the task for the caller\'s tenant before acknowledging', async () => {
    // Prepare
    const event = submitEvent({ type: 'completion', input: { prompt: 'persist me' } }, { tenantId });
    // Act
    const result = await submit(event, fakeContext());
    // Assess
    const stored = await tasks.get(bodyOf(result).taskId as string);
    expect(await taskCount()).toBeGreaterThan(0);
    expect(stored).toMatchObject({ tenantId, type: 'completion', class: 'interactive', status: 'queued', input: { prompt: 'persist me' }, progressSeq: 0 });
  });

  it('emits one "Task Submitted" event from source offload on the bus, routed by class', async () => {
    // Prepare
    const event = submitEvent({ type: 'completion', input: { prompt: 'emit me' }, sessionId: 's-1' }, { tenantId });
    // Act
    const result = await submit(event, fakeContext());
    // Assess
    const { taskId } = bodyOf(result) as { taskId: string };
    expect(eventBridge.calls).toHaveLength(1);
    const call = eventBridge.calls[0]!;
    expect(call.target).toBe('AWSEvents.PutEvents');
    expect(call.contentType).toContain('application/x-amz-json-1.1');
    expect(call.body.Entries).toHaveLength(1);
    const entry = call.body.Entries[0]!;
    expect(entry).toMatchObject({ Source: 'offload', DetailType: 'Task Submitted', EventBusName: BUS });
    const detail = JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>;
    expect(detail).toMatchObject({ taskId, tenantId, type: 'completion', class: 'interactive', sessionId: 's-1', eventId: expect.stringMatching(/^evt_/) });
    expect(JSON.stringify(detail)).not.toContain('emit me');
  });

  it('gives each submission its own task id and event id', async () => {
    // Prepare
    const body = { type: 'completion', input: { prompt: 'same' } };
    // Act
    const first = bodyOf(await submit(submitEvent(body, { tenantId }), fakeContext()));
    const second = bodyOf(await submit(submitEvent(body, { tenantId }), fakeContext()));
    // Assess
    expect(second.taskId).not.toBe(first.taskId);
    const eventIds = eventBridge.calls.map((call) => (JSON.parse(call.body.Entries[0]?.Detail ?? '{}') as { eventId: string }).eventId);
    expect(new Set(eventIds).size).toBe(2);
  });

  it.each<[string, () => ReturnType<typeof submitEvent>, number]>([
    ['an unknown type', () => submitEvent({ type: 'mine-bitcoin', input: {} }, { tenantId }), 400],
    ['invalid input', () => submitEvent({ type: 'completion', input: { prompt: '' } }, { tenantId }), 400],
    ['an extra envelope key', () => submitEvent({ type: 'completion', input: { prompt: 'x' }, admin: true }, { tenantId }), 400],
    ['invalid JSON', () => submitEvent('{"type":"completion",', { tenantId }), 400],
    ['an empty body', () => submitEvent('', { tenantId }), 400],
    ['JSON null', () => submitEvent('null', { tenantId }), 400],
    ['a non-JSON content type', () => submitEvent('{"type":"completion","input":{"prompt":"x"}}', { tenantId, headers: { 'content-type': 'text/plain' } }), 415],
    ['a body over the limit', () => submitEvent({ type: 'completion', input: { prompt: 'x'.repeat(MAX_BODY_BYTES) } }, { tenantId }), 413],
    ['no authentication', () => submitEvent({ type: 'completion', input: { prompt: 'x' } }, { tenantId: null }), 401],
  ])('answers problem+json for %s, recording and emitting nothing', async (_name, makeEvent, status) => {
    // Prepare
    const event = makeEvent();
    const before = await taskCount();
    // Act
    const result = await submit(event, fakeContext());
    // Assess
    expectProblem(result, status);
    expect(eventBridge.calls).toHaveLength(0);
    expect(await taskCount()).toBe(before);
  });

  it('names the offending field of an invalid input in the problem detail', async () => {
    // Prepare
    const event = submitEvent({ type: 'completion', input: { prompt: 'x', maxTokens: -1 } }, { tenantId });
    // Act
    const result = await submit(event, fakeContext());
    // Assess
    expect(expectProblem(result, 400).detail).toContain('maxTokens');
  });
});
