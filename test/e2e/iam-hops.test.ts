import { ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVALID_LAMBDA_PERMISSIONS } from '../../local/iam/service-hops.ts';
import { call, startHarness, WsClient, type Harness } from './harness.ts';
import { mutatedCdkOut, type Resources } from './mutated-assembly.ts';

/** The one resource of a type matching `where`, or throws (the test names what it expects CDK to synthesize). */
const only = (resources: Resources, type: string, where: (resource: Resources[string], id: string) => boolean): [string, Resources[string]] => {
  const found = Object.entries(resources).filter(([id, resource]) => resource.Type === type && where(resource, id));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.map(([id]) => id).join(', ') || 'none'}`);
  return found[0]!;
};
const refersTo = (value: unknown, logicalIdPrefix: string): boolean => new RegExp(`"(Ref|Fn::GetAtt)":\\[?"${logicalIdPrefix}`).test(JSON.stringify(value));
/** Deletes the `AWS::Lambda::Permission` letting `principal` invoke the function whose logical id starts with `functionPrefix`. */
const dropPermission = (resources: Resources, functionPrefix: string, principal: string, sourceArnPart = ''): string => {
  const [id] = only(resources, 'AWS::Lambda::Permission', (resource) => refersTo(resource.Properties.FunctionName, functionPrefix) && resource.Properties.Principal === principal && JSON.stringify(resource.Properties.SourceArn).includes(sourceArnPart));
  delete resources[id];
  return id;
};
/** Removes the statements of a resource policy for which `drop` holds. */
const dropStatements = (policy: Resources[string], drop: (statement: Record<string, any>) => boolean) => {
  const document = policy.Properties.PolicyDocument as { Statement: Record<string, any>[] };
  const before = document.Statement.length;
  document.Statement = document.Statement.filter((statement) => !drop(statement));
  if (document.Statement.length === before) throw new Error('no statement removed');
};

const functionId = (harness: Harness, prefix: string) => [...harness.runtime.functions.keys()].find((id) => id.startsWith(prefix))!;
const runtimeLog = (harness: Harness) => readFileSync(path.join(harness.dir, 'runtime.log'), 'utf8');
const eventually = async <T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> => {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};
const attributesOf = (message: Message) => Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]));

describe('IAM hops: the shipped template passes every hop', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => harness?.stop());

  it('runs a submitted task, fires the reconciler, answers WebSocket routes and serves the dashboard through the CDN', async () => {
    // Prepare
    const { httpApi, webSocketApi, devTenant, dashboard } = harness.runtime.endpoints;
    const reconciler = harness.runtime.functions.get(functionId(harness, 'ReconcilerFunction'))!;
    const schedule = harness.runtime.eventBridge.schedules.find((rule) => rule.name.includes('Reconciler'))!;
    const invocationsBefore = reconciler.stats.invocations;
    // Act
    const submitted = await call(`${httpApi}/v1/tasks`, { apiKey: devTenant.apiKey, body: { type: 'completion', input: { prompt: 'hop hop', maxTokens: 5, model: 'sim-fast' } } });
    const done = await eventually(async () => {
      const read = await call(`${httpApi}/v1/tasks/${submitted.body.taskId}`, { apiKey: devTenant.apiKey });
      return read.body.status === 'succeeded' ? read.body : undefined;
    });
    harness.runtime.eventBridge.fire(schedule.name);
    await eventually(() => reconciler.stats.invocations > invocationsBefore);
    const client = await WsClient.connect(`${webSocketApi}?token=${devTenant.apiKey}`);
    client.send({ action: 'ping' });
    const pong = await client.waitFor((message) => message.type === 'pong');
    await client.close();
    const page = await fetch(dashboard);
    // Assess
    expect(submitted.status).toBe(202);
    expect(done.status).toBe('succeeded');
    expect(pong).toEqual({ type: 'pong' });
    expect(page.status).toBe(200);
    expect(runtimeLog(harness)).not.toMatch(/NO_PERMISSIONS|Invalid permissions on Lambda function|AccessDenied/);
  });
});

describe('IAM hops: a stack missing its queue policy, reconciler permission, WebSocket ping permission and dashboard bucket statement', () => {
  let harness: Harness;
  let cdkOut: string;
  beforeAll(async () => {
    cdkOut = mutatedCdkOut('iam-hops', (resources) => {
      // The interactive queue's policy keeps its TLS-only Deny, but no longer lets EventBridge send.
      const [, queuePolicy] = only(resources, 'AWS::SQS::QueuePolicy', (resource) => refersTo(resource.Properties.Queues, 'InteractiveQueue'));
      dropStatements(queuePolicy, (statement) => statement.Effect === 'Allow');
      dropPermission(resources, 'ReconcilerFunction', 'events.amazonaws.com');
      dropPermission(resources, 'WebSocketPing', 'apigateway.amazonaws.com');
      const [, bucketPolicy] = only(resources, 'AWS::S3::BucketPolicy', (resource) => refersTo(resource.Properties.Bucket, 'DashboardBucket'));
      dropStatements(bucketPolicy, (statement) => statement.Principal?.Service === 'cloudfront.amazonaws.com');
    });
    harness = await startHarness({ cdkOut });
  });
  afterAll(async () => {
    await harness?.stop();
    rmSync(cdkOut, { recursive: true, force: true });
  });

  it('never runs a submitted task: EventBridge may not send to the queue, so the event lands in the rule target\u2019s DLQ', async () => {
    // Prepare
    const { httpApi, devTenant, resources } = harness.runtime.endpoints;
    // Act
    const submitted = await call(`${httpApi}/v1/tasks`, { apiKey: devTenant.apiKey, body: { type: 'completion', input: { prompt: 'nowhere to go', maxTokens: 5, model: 'sim-fast' } } });
    const dead = await eventually(async () => {
      const { Messages = [] } = await harness.runtime.sqs.client.send(
        new ReceiveMessageCommand({ QueueUrl: resources.queues.interactive.deadLetterUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }),
      );
      return Messages.find((message) => JSON.parse(message.Body!).detail?.taskId === submitted.body.taskId);
    });
    const read = await call(`${httpApi}/v1/tasks/${submitted.body.taskId}`, { apiKey: devTenant.apiKey });
    // Assess
    expect(submitted.status).toBe(202);
    expect(read.body.status).toBe('queued');
    expect(attributesOf(dead)).toEqual({
      RULE_ARN: expect.stringMatching(/^arn:aws:events:us-east-1:000000000000:rule\/.+\/Offload-InteractiveSubmittedRule/),
      TARGET_ARN: expect.stringMatching(/^arn:aws:sqs:us-east-1:000000000000:.*InteractiveQueue/),
      ERROR_CODE: 'NO_PERMISSIONS',
      ERROR_MESSAGE: expect.stringContaining('User: events.amazonaws.com is not authorized to perform: sqs:SendMessage'),
      RETRY_ATTEMPTS: '0',
    });
    expect(runtimeLog(harness)).toMatch(/InteractiveSubmittedRule\S* target Target0: failed invocation NO_PERMISSIONS \(not retried\)/);
  });

  it('never invokes the reconciler: its schedule has no Lambda permission (a failed invocation, dropped: no DLQ)', async () => {
    // Prepare
    const reconciler = harness.runtime.functions.get(functionId(harness, 'ReconcilerFunction'))!;
    const schedule = harness.runtime.eventBridge.schedules.find((rule) => rule.name.includes('Reconciler'))!;
    // Act
    const event = harness.runtime.eventBridge.fire(schedule.name);
    await harness.runtime.eventBridge.idle();
    // Assess
    expect(reconciler.stats.invocations).toBe(0);
    expect(runtimeLog(harness)).toContain(`rule ${schedule.name} target Target0: event ${event.id} dropped (no dead-letter queue)`);
    expect(runtimeLog(harness)).toMatch(/failed invocation NO_PERMISSIONS \(not retried\): User: events\.amazonaws\.com is not authorized to perform: lambda:InvokeFunction/);
  });

  it('answers a WebSocket ping with "Internal server error": the route\u2019s function may not be invoked by API Gateway', async () => {
    // Prepare
    const { webSocketApi, devTenant } = harness.runtime.endpoints;
    const client = await WsClient.connect(`${webSocketApi}?token=${devTenant.apiKey}`);
    // Act
    client.send({ action: 'ping' });
    const answer = await client.waitFor((message) => 'message' in message);
    await client.close();
    // Assess
    expect(answer).toEqual({ message: 'Internal server error', connectionId: expect.any(String), requestId: expect.any(String) });
    expect(runtimeLog(harness)).toContain(`ping: ${INVALID_LAMBDA_PERMISSIONS}`);
  });

  it('answers 403 for the dashboard: S3 refuses CloudFront\u2019s origin access control read', async () => {
    // Act
    const page = await fetch(harness.runtime.endpoints.dashboard);
    const body = await page.text();
    // Assess
    expect(page.status).toBe(403);
    expect(body).toContain('<Code>AccessDenied</Code>');
    expect(runtimeLog(harness)).toMatch(/cloudfront\.amazonaws\.com is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::\S+\/dashboard\/index\.html/);
  });
});

describe('IAM hops: a stack missing the HTTP API\u2019s permission on the submit function', () => {
  let harness: Harness;
  let cdkOut: string;
  beforeAll(async () => {
    cdkOut = mutatedCdkOut('iam-hops', (resources) => void dropPermission(resources, 'HttpSubmit', 'apigateway.amazonaws.com', '/v1/tasks'));
    harness = await startHarness({ cdkOut });
  });
  afterAll(async () => {
    await harness?.stop();
    rmSync(cdkOut, { recursive: true, force: true });
  });

  it('answers POST /v1/tasks with 500 Internal Server Error and logs the configuration error; other routes still work', async () => {
    // Prepare
    const { httpApi, devTenant } = harness.runtime.endpoints;
    const submit = harness.runtime.functions.get(functionId(harness, 'HttpSubmit'))!;
    // Act
    const submitted = await call(`${httpApi}/v1/tasks`, { apiKey: devTenant.apiKey, body: { type: 'completion', input: { prompt: 'refused', maxTokens: 5 } } });
    const listed = await call(`${httpApi}/v1/tasks`, { apiKey: devTenant.apiKey });
    // Assess
    expect(submitted.status).toBe(500);
    expect(submitted.body).toEqual({ message: 'Internal Server Error' });
    expect(submit.stats.invocations).toBe(0);
    expect(listed.status).toBe(200);
    expect(runtimeLog(harness)).toContain(`POST /v1/tasks: ${INVALID_LAMBDA_PERMISSIONS}`);
  });
});

describe('IAM hops: a worker role without SQS permissions on its queue', () => {
  let cdkOut: string;
  let mapping: string;
  beforeAll(() => {
    cdkOut = mutatedCdkOut('iam-hops', (resources) => {
      const [, worker] = only(resources, 'AWS::Lambda::Function', (_resource, id) => id.startsWith('InteractiveWorker'));
      const roleId = worker.Properties.Role['Fn::GetAtt'][0] as string;
      const [, policy] = only(resources, 'AWS::IAM::Policy', (resource) => refersTo(resource.Properties.Roles, roleId));
      dropStatements(policy, (statement) => refersTo(statement.Resource, 'InteractiveQueue') && JSON.stringify(statement.Action).includes('sqs:ReceiveMessage'));
      [mapping] = only(resources, 'AWS::Lambda::EventSourceMapping', (resource) => refersTo(resource.Properties.EventSourceArn, 'InteractiveQueue'));
    });
  });
  afterAll(() => rmSync(cdkOut, { recursive: true, force: true }));

  it('fails the runtime start as Lambda refuses to create the event source mapping, naming it', async () => {
    // Act
    const started = startHarness({ cdkOut });
    // Assess
    await expect(started).rejects.toThrow(`${mapping}: InvalidParameterValueException: The provided execution role does not have permissions to call ReceiveMessage on SQS`);
  });
});
