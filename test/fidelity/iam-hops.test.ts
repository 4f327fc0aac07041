import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LocalHttpApi } from '../../local/apigateway/http-api.ts';
import { DEFAULT_WS_LIMITS, LocalWebSocketApi } from '../../local/apigateway/websocket-api.ts';
import { LocalCdn, type S3OriginReader } from '../../local/cdn.ts';
import { localCredentials } from '../../local/engines/credentials.ts';
import { startSqs, type LocalSqs } from '../../local/engines/sqs.ts';
import { LocalEventBridge } from '../../local/eventbridge/eventbridge-service.ts';
import { ApiCallCounter } from '../../local/http-util.ts';
import { checkSqsEventSourceRole, EventSourceMappingPermissionError } from '../../local/iam/event-source-role.ts';
import { IamEnforcer, type IamMode } from '../../local/iam/mode.ts';
import { withOriginAccessControl } from '../../local/iam/origin-access-control.ts';
import { IamPolicyStore } from '../../local/iam/policy-store.ts';
import { INVALID_LAMBDA_PERMISSIONS } from '../../local/iam/service-hops.ts';
import type { LocalFunction } from '../../local/lambda/lambda-service.ts';
import { localArn, LocalTemplate, type Template, type TemplateResource } from '../../local/template.ts';
import { eventually, FixtureApp, lambdaUri, route, Scratch } from './support.ts';

/** The templates below are written the way CDK synthesizes these resources (see the synthesized Offload stack). */
const getAtt = (id: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [id, attribute] });
const denyInsecure = (resource: unknown) => ({ Action: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Effect: 'Deny', Principal: { AWS: '*' }, Resource: resource });
/** `AWS::SQS::QueuePolicy` as `SqsQueue` targets and `deadLetterQueue` write it: events.amazonaws.com for one rule. */
const queuePolicy = (queueId: string, ruleId: string): TemplateResource => ({
  Type: 'AWS::SQS::QueuePolicy',
  Properties: {
    PolicyDocument: {
      Version: '2012-10-17',
      Statement: [
        denyInsecure(getAtt(queueId)),
        {
          Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          Condition: { ArnEquals: { 'aws:SourceArn': getAtt(ruleId) } },
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Resource: getAtt(queueId),
        },
      ],
    },
    Queues: [{ Ref: queueId }],
  },
});
/** `AWS::Lambda::Permission` as CDK writes it for a rule target or an API Gateway integration. */
const permission = (functionId: string, principal: string, sourceArn: unknown): TemplateResource => ({
  Type: 'AWS::Lambda::Permission',
  Properties: { Action: 'lambda:InvokeFunction', FunctionName: getAtt(functionId), Principal: principal, SourceArn: sourceArn },
});
/** `arn:aws:execute-api:<region>:<account>:<api id><rest…>` as an `Fn::Join`. */
const executeApi = (apiId: string, ...rest: unknown[]) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':execute-api:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':', { Ref: apiId }, ...rest]],
});
/** Registers a function's local ARN, as the runtime does before anything resolves `Fn::GetAtt [fn, Arn]`. */
const registerFunctions = (template: LocalTemplate) => {
  for (const [id] of template.ofType('AWS::Lambda::Function')) template.register(id, { ref: `Offload-${id}`, attributes: { Arn: localArn('lambda', `function:Offload-${id}`) } });
};
const enforcerOf = (template: LocalTemplate, mode: IamMode, lines: string[]) => new IamEnforcer(IamPolicyStore.fromTemplate(template), mode, (line) => lines.push(line));

describe('IAM hop: EventBridge → SQS and Lambda targets', () => {
  const FUNCTION: TemplateResource = { Type: 'AWS::Lambda::Function', Properties: {} };
  const QUEUE: TemplateResource = { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 5 } };
  const rule = (kind: string, targets: Record<string, unknown>[]): TemplateResource => ({
    Type: 'AWS::Events::Rule',
    Properties: { EventBusName: { Ref: 'Bus' }, EventPattern: { source: ['hops'], 'detail-type': [kind] }, Targets: targets },
  });
  const target = (queueId: string, dlqId?: string) => ({
    Arn: getAtt(queueId),
    Id: 'Target0',
    RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
    ...(dlqId ? { DeadLetterConfig: { Arn: getAtt(dlqId) } } : {}),
  });
  const template: Template = {
    Resources: {
      Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'hops-bus' } },
      // Allowed: the queue's policy allows the rule.
      Allowed: QUEUE,
      AllowedRule: rule('allowed', [target('Allowed')]),
      AllowedPolicy: queuePolicy('Allowed', 'AllowedRule'),
      // Refused: no policy on the queue; the rule's DLQ allows it.
      Refused: QUEUE,
      RefusedDlq: QUEUE,
      RefusedRule: rule('refused', [target('Refused', 'RefusedDlq')]),
      RefusedDlqPolicy: queuePolicy('RefusedDlq', 'RefusedRule'),
      // OtherRule: the queue's policy allows another rule only (aws:SourceArn does not match).
      OtherRuleQueue: QUEUE,
      OtherRuleDlq: QUEUE,
      OtherRuleRule: rule('other-rule', [target('OtherRuleQueue', 'OtherRuleDlq')]),
      OtherRulePolicy: queuePolicy('OtherRuleQueue', 'AllowedRule'),
      OtherRuleDlqPolicy: queuePolicy('OtherRuleDlq', 'OtherRuleRule'),
      // Dropped: refused, and no dead-letter queue.
      Dropped: QUEUE,
      DroppedRule: rule('dropped', [target('Dropped')]),
      // Lost: refused, and the dead-letter queue refuses too.
      Lost: QUEUE,
      LostDlq: QUEUE,
      LostRule: rule('lost', [target('Lost', 'LostDlq')]),
      // Schedules invoking functions: one permitted for its rule, one permitted for another rule only.
      Ticker: FUNCTION,
      Unticked: FUNCTION,
      Tick: { Type: 'AWS::Events::Rule', Properties: { Name: 'tick', ScheduleExpression: 'rate(1 day)', Targets: [{ Arn: getAtt('Ticker'), Id: 'Target0', RetryPolicy: { MaximumRetryAttempts: 2 } }] } },
      TickPermission: permission('Ticker', 'events.amazonaws.com', getAtt('Tick')),
      Untick: { Type: 'AWS::Events::Rule', Properties: { Name: 'untick', ScheduleExpression: 'rate(1 day)', Targets: [{ Arn: getAtt('Unticked'), Id: 'Target0' }] } },
      UntickedPermission: permission('Unticked', 'events.amazonaws.com', getAtt('Tick')),
    },
  };
  const local = new LocalTemplate(template, mkdtempSync(path.join(tmpdir(), 'offload-iam-eb-')), {});
  const urlOf = (logicalId: string) => local.resolveString({ Ref: logicalId }, 'test');
  let sqs: LocalSqs;
  const buses = {} as Record<IamMode, { bus: LocalEventBridge; client: EventBridgeClient; log: string[]; invoked: string[]; counter: ApiCallCounter }>;
  const receive = async (logicalId: string) =>
    (await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: urlOf(logicalId), MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }))).Messages ?? [];
  const put = async (mode: IamMode, kind: string) => {
    const { client, bus } = buses[mode];
    const response = await client.send(new PutEventsCommand({ Entries: [{ EventBusName: 'hops-bus', Source: 'hops', DetailType: kind, Detail: JSON.stringify({ kind }) }] }));
    await bus.idle();
    return response.Entries![0]!.EventId!;
  };
  const attributes = (message: { MessageAttributes?: Record<string, { StringValue?: string }> }) =>
    Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]));

  beforeAll(async () => {
    registerFunctions(local);
    sqs = await startSqs(local, {});
    for (const mode of ['strict', 'soft', 'off'] as const) {
      const log: string[] = [];
      const invoked: string[] = [];
      const counter = new ApiCallCounter();
      const bus = new LocalEventBridge(local, sqs, counter, (line) => log.push(line), {
        invokeFunction: async (arn) => void invoked.push(arn),
        iam: enforcerOf(local, mode, log),
      });
      bus.load();
      const endpoint = await bus.start();
      buses[mode] = { bus, log, invoked, counter, client: new EventBridgeClient({ endpoint, region: 'us-east-1', credentials: localCredentials }) };
    }
  });
  afterAll(async () => {
    for (const { bus, client } of Object.values(buses)) {
      client.destroy();
      await bus.stop();
    }
    await sqs?.stop();
  });

  it('delivers to a queue whose policy allows events.amazonaws.com for the rule', async () => {
    // Act
    const eventId = await put('strict', 'allowed');
    // Assess
    const [message] = await receive('Allowed');
    expect(JSON.parse(message!.Body!)).toMatchObject({ id: eventId, 'detail-type': 'allowed' });
  });

  it('refuses a queue without such a policy: no delivery, no retry, the event in the DLQ with the error attributes', async () => {
    // Prepare
    const sendsBefore = buses.strict.counter.counts.get('sqs:SendMessage') ?? 0;
    // Act
    const eventId = await put('strict', 'refused');
    // Assess
    expect(await receive('Refused')).toEqual([]);
    const [dead] = await receive('RefusedDlq');
    expect(JSON.parse(dead!.Body!)).toMatchObject({ id: eventId, 'detail-type': 'refused', detail: { kind: 'refused' } });
    expect(attributes(dead!)).toEqual({
      RULE_ARN: local.resolveString(getAtt('RefusedRule'), 'test'),
      TARGET_ARN: local.resolveString(getAtt('Refused'), 'test'),
      ERROR_CODE: 'NO_PERMISSIONS',
      ERROR_MESSAGE: expect.stringContaining('events.amazonaws.com is not authorized to perform: sqs:SendMessage'),
      RETRY_ATTEMPTS: '0',
    });
    // One SendMessage only (the dead letter): a refused delivery is not retried.
    expect(buses.strict.counter.counts.get('sqs:SendMessage')! - sendsBefore).toBe(1);
    expect(buses.strict.log.join('\n')).toMatch(/rule Offload-RefusedRule target Target0: failed invocation NO_PERMISSIONS \(not retried\)/);
  });

  it('refuses a queue whose policy allows only another rule (the aws:SourceArn condition)', async () => {
    // Act
    await put('strict', 'other-rule');
    // Assess
    expect(await receive('OtherRuleQueue')).toEqual([]);
    const [dead] = await receive('OtherRuleDlq');
    expect(attributes(dead!).ERROR_CODE).toBe('NO_PERMISSIONS');
  });

  it('drops and logs a refused event when the target has no DLQ, or the DLQ refuses it too', async () => {
    // Act
    const dropped = await put('strict', 'dropped');
    const lost = await put('strict', 'lost');
    // Assess
    expect([...(await receive('Dropped')), ...(await receive('Lost')), ...(await receive('LostDlq'))]).toEqual([]);
    const log = buses.strict.log.join('\n');
    expect(log).toContain(`rule Offload-DroppedRule target Target0: event ${dropped} dropped (no dead-letter queue)`);
    expect(log).toContain(`rule Offload-LostRule target Target0: event ${lost} dropped: the dead-letter queue refused it (InvocationsFailedToBeSentToDlq)`);
  });

  it('invokes a function only with a Lambda permission for events.amazonaws.com and that rule', async () => {
    // Act
    buses.strict.bus.fire('tick');
    buses.strict.bus.fire('untick');
    await buses.strict.bus.idle();
    // Assess
    expect(buses.strict.invoked).toEqual([local.resolveString(getAtt('Ticker'), 'test')]);
    expect(buses.strict.log.join('\n')).toMatch(/rule untick target Target0: failed invocation NO_PERMISSIONS \(not retried\): User: events\.amazonaws\.com is not authorized to perform: lambda:InvokeFunction/);
    expect(buses.strict.log.join('\n')).toContain('rule untick target Target0: event');
  });

  it('soft mode delivers what strict refuses and logs the would-be denial; off mode checks nothing', async () => {
    // Act
    await put('soft', 'refused');
    buses.soft.bus.fire('untick');
    await buses.soft.bus.idle();
    const softDelivered = await receive('Refused');
    await put('off', 'dropped');
    buses.off.bus.fire('untick');
    await buses.off.bus.idle();
    const offDelivered = await receive('Dropped');
    // Assess
    expect(softDelivered).toHaveLength(1);
    expect(buses.soft.invoked).toEqual([local.resolveString(getAtt('Unticked'), 'test')]);
    expect(buses.soft.log.join('\n')).toMatch(/would deny.*events\.amazonaws\.com is not authorized to perform: sqs:SendMessage/);
    expect(offDelivered).toHaveLength(1);
    expect(buses.off.invoked).toHaveLength(1);
    expect(buses.off.log.join('\n')).not.toMatch(/deny|NO_PERMISSIONS/);
  });
});

describe('IAM hop: API Gateway → Lambda (HTTP API integrations and authorizers)', () => {
  const scratch = new Scratch();
  const ECHO = `export const handler = async (event) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ routeKey: event.routeKey }) });`;
  const ALLOW = `export const handler = async () => ({ isAuthorized: true, context: { tenantId: 't-1' } });`;
  let functions: Map<string, LocalFunction>;
  const apis: Partial<Record<IamMode, { api: LocalHttpApi; log: string[] }>> = {};
  const call = async (mode: IamMode, method: string, path: string) => {
    const response = await fetch(`${apis[mode]!.api.endpoint}${path}`, { method, headers: { authorization: 'Bearer x' } });
    return { status: response.status, body: await response.json() };
  };

  beforeAll(async () => {
    const app = new FixtureApp(scratch).fn('Echo', ECHO).fn('Unpermitted', ECHO).fn('Granted', ALLOW).fn('Ungranted', ALLOW);
    app.add('Main', { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'Main', ProtocolType: 'HTTP' } });
    app.add('MainStage', { Type: 'AWS::ApiGatewayV2::Stage', Properties: { ApiId: { Ref: 'Main' }, StageName: '$default', AutoDeploy: true } });
    const authorizer = (id: string, functionId: string) =>
      app.add(id, {
        Type: 'AWS::ApiGatewayV2::Authorizer',
        Properties: { ApiId: { Ref: 'Main' }, AuthorizerType: 'REQUEST', AuthorizerUri: lambdaUri(functionId), AuthorizerPayloadFormatVersion: '2.0', EnableSimpleResponses: true, AuthorizerResultTtlInSeconds: 0, Name: id },
      });
    authorizer('GrantedAuthorizer', 'Granted');
    authorizer('UngrantedAuthorizer', 'Ungranted');
    route(app, 'Main', 'GET /open', 'Echo');
    route(app, 'Main', 'GET /items/{id}', 'Echo');
    route(app, 'Main', 'ANY /anything', 'Echo');
    route(app, 'Main', 'GET /other', 'Echo');
    route(app, 'Main', 'GET /closed', 'Unpermitted');
    route(app, 'Main', 'GET /guarded', 'Echo', { AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: 'GrantedAuthorizer' } });
    route(app, 'Main', 'GET /locked', 'Echo', { AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: 'UngrantedAuthorizer' } });
    // As HttpLambdaIntegration and HttpLambdaAuthorizer write them: per route path, any stage and method.
    for (const [index, path] of ['/open', '/items/{id}', '/anything', '/guarded', '/locked'].entries()) app.add(`EchoPermission${index}`, permission('Echo', 'apigateway.amazonaws.com', executeApi('Main', `/*/*${path}`)));
    // Unpermitted may be invoked by another API only.
    app.add('UnpermittedPermission', permission('Unpermitted', 'apigateway.amazonaws.com', executeApi('Elsewhere', '/*/*/closed')));
    app.add('Elsewhere', { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'Elsewhere', ProtocolType: 'HTTP' } });
    app.add('GrantedPermission', permission('Granted', 'apigateway.amazonaws.com', executeApi('Main', '/authorizers/', { Ref: 'GrantedAuthorizer' })));
    // Ungranted: a permission for events.amazonaws.com only (the wrong principal).
    app.add('UngrantedPermission', permission('Ungranted', 'events.amazonaws.com', executeApi('Main', '/authorizers/', { Ref: 'UngrantedAuthorizer' })));
    const template = app.template();
    registerFunctions(template);
    template.register('Elsewhere', { ref: 'elsewhere0', attributes: {} });
    functions = app.functions(template);
    for (const mode of ['strict', 'soft'] as const) {
      const log: string[] = [];
      const api = new LocalHttpApi(template, 'Main', (id) => functions.get(id)!, (line) => log.push(line), enforcerOf(template, mode, log));
      api.registerId();
      api.load();
      await api.start(0);
      apis[mode] = { api, log };
    }
  });
  afterAll(async () => {
    await Promise.all(Object.values(apis).map(({ api }) => api.stop()));
    await Promise.all([...(functions?.values() ?? [])].map((fn) => fn.shutdown()));
    scratch.cleanup();
  });

  it('invokes integrations whose permission matches the route (path parameters and ANY routes included)', async () => {
    // Act
    const results = [await call('strict', 'GET', '/open'), await call('strict', 'GET', '/items/42'), await call('strict', 'DELETE', '/anything'), await call('strict', 'GET', '/guarded')];
    // Assess
    expect(results).toEqual([
      { status: 200, body: { routeKey: 'GET /open' } },
      { status: 200, body: { routeKey: 'GET /items/{id}' } },
      { status: 200, body: { routeKey: 'ANY /anything' } },
      { status: 200, body: { routeKey: 'GET /guarded' } },
    ]);
  });

  it('answers 500 Internal Server Error without invoking a function not permitted for the route, and logs the configuration error', async () => {
    // Prepare
    const before = functions.get('Unpermitted')!.stats.invocations + functions.get('Echo')!.stats.invocations;
    // Act
    const other = await call('strict', 'GET', '/other'); // Echo, permitted for other paths only
    const closed = await call('strict', 'GET', '/closed'); // Unpermitted, permitted for another API only
    // Assess
    expect(other).toEqual({ status: 500, body: { message: 'Internal Server Error' } });
    expect(closed).toEqual({ status: 500, body: { message: 'Internal Server Error' } });
    expect(functions.get('Unpermitted')!.stats.invocations + functions.get('Echo')!.stats.invocations).toBe(before);
    expect(apis.strict!.log).toContainEqual(expect.stringContaining(`GET /other: ${INVALID_LAMBDA_PERMISSIONS}`));
    expect(apis.strict!.log).toContainEqual(expect.stringContaining(`GET /closed: ${INVALID_LAMBDA_PERMISSIONS}`));
  });

  it('answers 500 for a route whose authorizer function lacks the API Gateway permission', async () => {
    // Act
    const locked = await call('strict', 'GET', '/locked');
    // Assess
    expect(locked).toEqual({ status: 500, body: { message: 'Internal Server Error' } });
    expect(functions.get('Ungranted')!.stats.invocations).toBe(0);
    expect(apis.strict!.log).toContainEqual(expect.stringContaining(`GET /locked authorizer: ${INVALID_LAMBDA_PERMISSIONS}`));
  });

  it('soft mode invokes them anyway and logs the would-be denial', async () => {
    // Act
    const closed = await call('soft', 'GET', '/closed');
    const locked = await call('soft', 'GET', '/locked');
    // Assess
    expect(closed).toEqual({ status: 200, body: { routeKey: 'GET /closed' } });
    expect(locked).toEqual({ status: 200, body: { routeKey: 'GET /locked' } });
    expect(apis.soft!.log.join('\n')).toMatch(/would deny.*apigateway\.amazonaws\.com is not authorized to perform: lambda:InvokeFunction/);
  });
});

describe('IAM hop: API Gateway → Lambda (WebSocket routes and the $connect authorizer)', () => {
  const scratch = new Scratch();
  const OK = `export const handler = async (event) => ({ statusCode: 200, body: JSON.stringify({ routeKey: event.requestContext.routeKey }) });`;
  const AUTHORIZER = `export const handler = async (event) => ({ principalId: 'p', policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] } });`;
  let functions: Map<string, LocalFunction>;
  const apis: Record<string, { api: LocalWebSocketApi; log: string[] }> = {};
  const open = (url: string) =>
    new Promise<{ socket: WebSocket; messages: any[] }>((resolve, reject) => {
      const socket = new WebSocket(url);
      const messages: any[] = [];
      socket.on('message', (data) => messages.push(JSON.parse(String(data))));
      socket.once('open', () => resolve({ socket, messages }));
      socket.once('unexpected-response', (_request, response) => reject(Object.assign(new Error(`handshake ${response.statusCode}`), { statusCode: response.statusCode })));
      socket.once('error', reject);
    });

  beforeAll(async () => {
    const app = new FixtureApp(scratch).fn('Connect', OK).fn('Hello', OK).fn('Ping', OK).fn('Authorizer', AUTHORIZER);
    const api = (id: string) => {
      app.add(id, { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: id, ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' } });
      app.add(`${id}Stage`, { Type: 'AWS::ApiGatewayV2::Stage', Properties: { ApiId: { Ref: id }, StageName: 'live', AutoDeploy: true } });
    };
    const withResponse = (apiId: string, routeId: string) =>
      app.add(`${routeId}Response`, { Type: 'AWS::ApiGatewayV2::RouteResponse', Properties: { ApiId: { Ref: apiId }, RouteId: { Ref: routeId }, RouteResponseKey: '$default' } });
    // Open: $connect, ping permitted (as WebSocketLambdaIntegration writes it: `<api>/*<route key>`); hello not.
    api('Open');
    route(app, 'Open', '$connect', 'Connect');
    withResponse('Open', route(app, 'Open', 'ping', 'Ping'));
    withResponse('Open', route(app, 'Open', 'hello', 'Hello'));
    app.add('OpenConnectPermission', permission('Connect', 'apigateway.amazonaws.com', executeApi('Open', '/*$connect')));
    app.add('OpenPingPermission', permission('Ping', 'apigateway.amazonaws.com', executeApi('Open', '/*ping')));
    // Locked: the $connect function is permitted for Open only.
    api('Locked');
    route(app, 'Locked', '$connect', 'Connect');
    // Guarded: the $connect authorizer has no permission.
    api('Guarded');
    app.add('GuardedAuthorizer', {
      Type: 'AWS::ApiGatewayV2::Authorizer',
      Properties: { ApiId: { Ref: 'Guarded' }, AuthorizerType: 'REQUEST', AuthorizerUri: lambdaUri('Authorizer'), IdentitySource: ['route.request.querystring.token'], Name: 'Token' },
    });
    route(app, 'Guarded', '$connect', 'Connect', { AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: 'GuardedAuthorizer' } });
    app.add('GuardedConnectPermission', permission('Connect', 'apigateway.amazonaws.com', executeApi('Guarded', '/*$connect')));
    const template = app.template();
    registerFunctions(template);
    functions = app.functions(template);
    for (const id of ['Open', 'Locked', 'Guarded']) {
      const log: string[] = [];
      const instance = new LocalWebSocketApi(template, id, (fn) => functions.get(fn)!, new ApiCallCounter(), DEFAULT_WS_LIMITS, (line) => log.push(line), undefined, enforcerOf(template, 'strict', log));
      instance.registerId();
      instance.load();
      await instance.start(0);
      apis[id] = { api: instance, log };
    }
  });
  afterAll(async () => {
    await Promise.all(Object.values(apis).map(({ api }) => api.stop()));
    await Promise.all([...(functions?.values() ?? [])].map((fn) => fn.shutdown()));
    scratch.cleanup();
  });

  it('routes permitted messages and answers "Internal server error" for a route whose function is not permitted', async () => {
    // Prepare
    const client = await open(apis.Open!.api.endpoint);
    // Act
    client.socket.send(JSON.stringify({ action: 'ping' }));
    client.socket.send(JSON.stringify({ action: 'hello' }));
    await eventually(() => client.messages.length >= 2);
    client.socket.close();
    // Assess
    expect(client.messages).toContainEqual({ routeKey: 'ping' });
    expect(client.messages).toContainEqual({ message: 'Internal server error', connectionId: expect.any(String), requestId: expect.any(String) });
    expect(functions.get('Hello')!.stats.invocations).toBe(0);
    expect(apis.Open!.log).toContainEqual(expect.stringContaining(`hello: ${INVALID_LAMBDA_PERMISSIONS}`));
  });

  it('refuses the handshake with 500 when the $connect function or its authorizer is not permitted', async () => {
    // Act
    const locked = await open(apis.Locked!.api.endpoint).then(() => 101, (error: { statusCode?: number }) => error.statusCode);
    const guarded = await open(`${apis.Guarded!.api.endpoint}?token=t`).then(() => 101, (error: { statusCode?: number }) => error.statusCode);
    // Assess
    expect([locked, guarded]).toEqual([500, 500]);
    expect(functions.get('Authorizer')!.stats.invocations).toBe(0);
    expect(apis.Locked!.log).toContainEqual(expect.stringContaining(`$connect: ${INVALID_LAMBDA_PERMISSIONS}`));
    expect(apis.Guarded!.log).toContainEqual(expect.stringContaining(`$connect authorizer: ${INVALID_LAMBDA_PERMISSIONS}`));
  });
});

describe('IAM hop: CloudFront → S3 origins through origin access control', () => {
  const origin = (id: string, bucketId: string) => ({
    DomainName: getAtt(bucketId, 'RegionalDomainName'),
    Id: id,
    OriginAccessControlId: getAtt('Oac', 'Id'),
    S3OriginConfig: { OriginAccessIdentity: '' },
  });
  const behavior = (pattern: string, originId: string) => ({ PathPattern: pattern, TargetOriginId: originId, AllowedMethods: ['GET', 'HEAD'], CachedMethods: ['GET', 'HEAD'], CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad' });
  /** The bucket policy `S3BucketOrigin.withOriginAccessControl` writes, for a distribution. */
  const bucketPolicy = (bucketId: string, distributionId: string | undefined): TemplateResource => ({
    Type: 'AWS::S3::BucketPolicy',
    Properties: {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          denyInsecure([getAtt(bucketId), { 'Fn::Join': ['', [getAtt(bucketId), '/*']] }]),
          ...(distributionId
            ? [
                {
                  Action: 's3:GetObject',
                  Condition: { StringEquals: { 'AWS:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/', { Ref: distributionId }]] } } },
                  Effect: 'Allow',
                  Principal: { Service: 'cloudfront.amazonaws.com' },
                  Resource: { 'Fn::Join': ['', [getAtt(bucketId), '/*']] },
                },
              ]
            : []),
        ],
      },
    },
  });
  const template = new LocalTemplate(
    {
      Resources: {
        Site: { Type: 'AWS::S3::Bucket' },
        Private: { Type: 'AWS::S3::Bucket' },
        Foreign: { Type: 'AWS::S3::Bucket' },
        Oac: { Type: 'AWS::CloudFront::OriginAccessControl' },
        SitePolicy: bucketPolicy('Site', 'Dist'),
        PrivatePolicy: bucketPolicy('Private', undefined),
        ForeignPolicy: bucketPolicy('Foreign', 'OtherDist'),
        OtherDist: { Type: 'AWS::CloudFront::Distribution', Properties: { DistributionConfig: {} } },
        Dist: {
          Type: 'AWS::CloudFront::Distribution',
          Properties: {
            DistributionConfig: {
              Origins: [{ Id: 'Api', DomainName: 'api.example', CustomOriginConfig: {} }, origin('SiteOrigin', 'Site'), origin('PrivateOrigin', 'Private'), origin('ForeignOrigin', 'Foreign')],
              DefaultCacheBehavior: { TargetOriginId: 'Api' },
              CacheBehaviors: [behavior('/site/*', 'SiteOrigin'), behavior('/private/*', 'PrivateOrigin'), behavior('/foreign/*', 'ForeignOrigin')],
            },
          },
        },
      },
    },
    mkdtempSync(path.join(tmpdir(), 'offload-iam-cdn-')),
    {},
  );
  /** S3 holding every key (the origin reads are what is under test). */
  const everything: S3OriginReader = async (bucket, key) => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from(`${bucket}/${key}`) });
  const cdns: Partial<Record<IamMode, { cdn: LocalCdn; log: string[] }>> = {};
  const get = async (mode: IamMode, path: string) => {
    const response = await fetch(`${cdns[mode]!.cdn.endpoint}${path}`);
    return { status: response.status, body: await response.text() };
  };

  beforeAll(async () => {
    for (const id of ['Site', 'Private', 'Foreign']) template.register(id, { ref: `bucket-${id.toLowerCase()}`, attributes: { Arn: `arn:aws:s3:::bucket-${id.toLowerCase()}` } });
    template.register('OtherDist', { ref: 'OTHERCDN', attributes: {} });
    for (const mode of ['strict', 'soft'] as const) {
      const log: string[] = [];
      const cdn = new LocalCdn(template, 'Dist', () => 'http://127.0.0.1:9', withOriginAccessControl(everything, enforcerOf(template, mode, log), template, 'Dist'));
      cdn.load();
      template.register('Dist', { ref: 'LOCALCDN', attributes: {} });
      await cdn.start(0);
      cdns[mode] = { cdn, log };
    }
  });
  afterAll(async () => {
    await Promise.all(Object.values(cdns).map(({ cdn }) => cdn.stop()));
  });

  it('serves objects of a bucket whose policy allows cloudfront.amazonaws.com for this distribution', async () => {
    // Act / Assess
    expect(await get('strict', '/site/index.html')).toEqual({ status: 200, body: 'bucket-site/site/index.html' });
  });

  it('passes on S3\u2019s 403 AccessDenied when the bucket policy lacks the statement or names another distribution', async () => {
    // Act
    const missing = await get('strict', '/private/index.html');
    const foreign = await get('strict', '/foreign/index.html');
    // Assess
    for (const response of [missing, foreign]) {
      expect(response.status).toBe(403);
      expect(response.body).toMatch(/<Error><Code>AccessDenied<\/Code><Message>Access Denied<\/Message>/);
    }
    expect(cdns.strict!.log.join('\n')).toContain('cloudfront.amazonaws.com is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::bucket-private/private/index.html');
  });

  it('soft mode serves them and logs the would-be denial', async () => {
    // Act / Assess
    expect(await get('soft', '/private/index.html')).toEqual({ status: 200, body: 'bucket-private/private/index.html' });
    expect(cdns.soft!.log.join('\n')).toMatch(/would deny.*s3:GetObject/);
  });
});

describe('IAM hop: SQS event source mappings (the execution role)', () => {
  const role = (statements: Record<string, unknown>[], managed: string[] = []): TemplateResource => ({
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }], Version: '2012-10-17' },
      ManagedPolicyArns: managed,
      ...(statements.length ? { Policies: [{ PolicyName: 'inline', PolicyDocument: { Version: '2012-10-17', Statement: statements } }] } : {}),
    },
  });
  /** What `SqsEventSource` grants the function's role (queue.grantConsumeMessages). */
  const consume = { Action: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], Effect: 'Allow', Resource: getAtt('Queue') };
  const template = new LocalTemplate(
    {
      Resources: {
        Queue: { Type: 'AWS::SQS::Queue' },
        Consumer: role([consume]),
        Managed: role([], ['arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole']),
        Partial: role([{ ...consume, Action: ['sqs:ReceiveMessage', 'sqs:GetQueueAttributes'] }]),
        Nothing: role([]),
        ViaQueue: role([]),
        QueuePolicy: {
          Type: 'AWS::SQS::QueuePolicy',
          Properties: {
            Queues: [{ Ref: 'Queue' }],
            PolicyDocument: { Version: '2012-10-17', Statement: [{ Action: 'sqs:*', Effect: 'Allow', Principal: { AWS: getAtt('ViaQueue') }, Resource: getAtt('Queue') }] },
          },
        },
        ...Object.fromEntries(['Consumer', 'Managed', 'Partial', 'Nothing', 'ViaQueue'].map((id) => [`${id}Fn`, { Type: 'AWS::Lambda::Function', Properties: { Role: getAtt(id) } }])),
      },
    },
    mkdtempSync(path.join(tmpdir(), 'offload-iam-esm-')),
    {},
  );
  const queueArn = localArn('sqs', 'Offload-Queue');
  const lines: string[] = [];
  let strict: IamEnforcer;
  let soft: IamEnforcer;
  const check = (enforcer: IamEnforcer, roleId: string) => () =>
    checkSqsEventSourceRole(enforcer, { logicalId: `${roleId}Mapping`, queueArn, identity: enforcer.store.roleOfFunction(`${roleId}Fn`) });

  beforeAll(() => {
    strict = enforcerOf(template, 'strict', lines);
    soft = enforcerOf(template, 'soft', lines);
    template.register('Queue', { ref: 'http://127.0.0.1:1/000000000000/Offload-Queue', attributes: { Arn: queueArn, QueueUrl: 'http://127.0.0.1:1/000000000000/Offload-Queue' } });
    registerFunctions(template);
  });

  it('accepts a role allowed ReceiveMessage, DeleteMessage and GetQueueAttributes by its policies, a managed policy or the queue policy', () => {
    // Act / Assess
    for (const roleId of ['Consumer', 'Managed', 'ViaQueue']) expect(check(strict, roleId)).not.toThrow();
  });

  it('refuses a mapping whose role lacks one of them, naming the mapping and the action as Lambda does', () => {
    // Act / Assess
    expect(check(strict, 'Partial')).toThrow(EventSourceMappingPermissionError);
    expect(check(strict, 'Partial')).toThrow('PartialMapping: InvalidParameterValueException: The provided execution role does not have permissions to call DeleteMessage on SQS');
    expect(check(strict, 'Nothing')).toThrow('NothingMapping: InvalidParameterValueException: The provided execution role does not have permissions to call ReceiveMessage on SQS');
  });

  it('soft mode creates it and logs the would-be denial', () => {
    // Act / Assess
    expect(check(soft, 'Nothing')).not.toThrow();
    expect(lines.join('\n')).toMatch(/would deny.*assumed-role\/Nothing\/Offload-NothingFn is not authorized to perform: sqs:ReceiveMessage/);
  });
});
