import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.ts';
import { InvalidEmailAddressError, StackConfigurationError } from '../../lib/errors.ts';
import { Reconciler } from '../../lib/constructs/reconciler.ts';
import { testApp } from '../support/cdk-app.ts';

/**
 * Rules AWS enforces at deploy time (or at alarm time) that a synthesized template can break
 * while still synthesizing: access-log variables per API type, the API Gateway account's
 * CloudWatch role, reserved concurrency against the account quota, and alarms that notify someone.
 * Each template is built once for the file, with `cdk.json`'s context; `aws:cdk:bundling-stacks: []`
 * skips esbuild bundling, and `app.synth()` runs the cdk-nag packs (an unacknowledged finding throws).
 */

type Resource = { Type: string; Properties?: Record<string, any>; DependsOn?: string | string[]; DeletionPolicy?: string; UpdateReplacePolicy?: string };
type TemplateJson = { Resources: Record<string, Resource>; Outputs?: Record<string, { Value: unknown }> };

/** Builds the Offload app with extra context, runs synthesis (and cdk-nag), and returns its template. */
const synthesize = (context: Record<string, unknown> = {}): { template: Template; json: TemplateJson } => {
  const app = testApp(context);
  const stack = buildApp(app);
  app.synth();
  const template = Template.fromStack(stack);
  return { template, json: template.toJSON() as TemplateJson };
};

const standard = synthesize();
const withoutAccountRole = synthesize({ apiGatewayCloudWatchRole: 'false' });
const withAlarmEmail = synthesize({ alarmEmail: 'oncall@example.com' });

const resourcesOf = (json: TemplateJson, type: string): [string, Resource][] => Object.entries(json.Resources).filter(([, resource]) => resource.Type === type);
const refOf = (value: unknown): string | undefined => (value as { Ref?: string } | undefined)?.Ref;
const getAttOf = (value: unknown): string | undefined => ((value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'] ?? [])[0];
const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const only = <T>(items: readonly T[], what: string): T => {
  if (items.length !== 1) throw new Error(`expected exactly one ${what}, found ${items.length}`);
  return items[0]!;
};

/**
 * Every `$context` variable AWS documents for HTTP API access logs ("Customize HTTP API access
 * logs", http-api-logging-variables). `$context.authorizer.claims.<property>` and
 * `$context.authorizer.<property>` name caller-defined keys and are left out: the stack logs none.
 */
const HTTP_API_ACCESS_LOG_VARIABLES = new Set([
  'accountId', 'apiId', 'authorizer.error', 'authorizer.principalId', 'awsEndpointRequestId', 'awsEndpointRequestId2',
  'customDomain.basePathMatched', 'dataProcessed', 'domainName', 'domainPrefix', 'error.message', 'error.messageString',
  'error.responseType', 'extendedRequestId', 'httpMethod', 'identity.accountId', 'identity.caller',
  'identity.cognitoAuthenticationProvider', 'identity.cognitoAuthenticationType', 'identity.cognitoIdentityId',
  'identity.cognitoIdentityPoolId', 'identity.principalOrgId', 'identity.clientCert.clientCertPem', 'identity.clientCert.subjectDN',
  'identity.clientCert.issuerDN', 'identity.clientCert.serialNumber', 'identity.clientCert.validity.notBefore',
  'identity.clientCert.validity.notAfter', 'identity.sourceIp', 'identity.user', 'identity.userAgent', 'identity.userArn',
  'integration.error', 'integration.integrationStatus', 'integration.latency', 'integration.requestId', 'integration.status',
  'integrationErrorMessage', 'integrationLatency', 'integrationStatus', 'path', 'protocol', 'requestId', 'requestTime',
  'requestTimeEpoch', 'responseLatency', 'responseLength', 'routeKey', 'stage', 'status',
].map((name) => `$context.${name}`));

/**
 * Every `$context` variable AWS documents for WebSocket API access logs ("Configure logging for
 * WebSocket APIs in API Gateway", websocket-api-logging). No `responseLength`, no
 * `integrationErrorMessage`: those are HTTP API variables.
 */
const WEBSOCKET_API_ACCESS_LOG_VARIABLES = new Set([
  'apiId', 'authorize.error', 'authorize.latency', 'authorize.status', 'authorizer.error', 'authorizer.integrationLatency',
  'authorizer.integrationStatus', 'authorizer.latency', 'authorizer.requestId', 'authorizer.status', 'authorizer.principalId',
  'authenticate.error', 'authenticate.latency', 'authenticate.status', 'connectedAt', 'connectionId', 'domainName',
  'error.message', 'error.messageString', 'error.responseType', 'error.validationErrorString', 'eventType', 'extendedRequestId',
  'identity.accountId', 'identity.apiKey', 'identity.apiKeyId', 'identity.caller', 'identity.cognitoAuthenticationProvider',
  'identity.cognitoAuthenticationType', 'identity.cognitoIdentityId', 'identity.cognitoIdentityPoolId', 'identity.principalOrgId',
  'identity.sourceIp', 'identity.user', 'identity.userAgent', 'identity.userArn', 'integration.error', 'integration.integrationStatus',
  'integration.latency', 'integration.requestId', 'integration.status', 'integrationLatency', 'messageId', 'requestId',
  'requestTime', 'requestTimeEpoch', 'routeKey', 'stage', 'status', 'waf.error', 'waf.latency', 'waf.status',
].map((name) => `$context.${name}`));

/** The access-log format of the stage of the API with this protocol (`HTTP` or `WEBSOCKET`). */
const accessLogFormat = (json: TemplateJson, protocol: 'HTTP' | 'WEBSOCKET'): string => {
  const [apiId] = only(resourcesOf(json, 'AWS::ApiGatewayV2::Api').filter(([, api]) => api.Properties?.ProtocolType === protocol), `${protocol} API`);
  const [, stage] = only(resourcesOf(json, 'AWS::ApiGatewayV2::Stage').filter(([, candidate]) => refOf(candidate.Properties?.ApiId) === apiId), `${protocol} stage`);
  const format = stage.Properties?.AccessLogSettings?.Format as unknown;
  if (typeof format !== 'string') throw new Error(`${protocol} stage has no literal access-log format`);
  return format;
};
const contextVariables = (format: string): string[] => [...new Set(format.match(/\$context\.[A-Za-z0-9_.]*[A-Za-z0-9_]/g) ?? [])];

describe('access-log formats (one per API type, only documented variables)', () => {
  it.each([
    ['HTTP', HTTP_API_ACCESS_LOG_VARIABLES, ['$context.requestId', '$context.extendedRequestId', '$context.status', '$context.integrationErrorMessage']],
    ['WEBSOCKET', WEBSOCKET_API_ACCESS_LOG_VARIABLES, ['$context.requestId', '$context.connectionId', '$context.eventType', '$context.status']],
  ] as const)('gives the %s stage a JSON format using only variables AWS documents for it', (protocol, allowed, expected) => {
    // Prepare
    const format = accessLogFormat(standard.json, protocol);
    // Act
    const parsed = JSON.parse(format) as Record<string, unknown>;
    const used = contextVariables(format);
    // Assess
    expect(Object.values(parsed).every((value) => typeof value === 'string')).toBe(true);
    expect(used.filter((variable) => !allowed.has(variable))).toEqual([]);
    expect(used).toEqual(expect.arrayContaining([...expected]));
  });

  it('logs no WebSocket-only variable on the HTTP stage', () => {
    // Prepare
    const format = accessLogFormat(standard.json, 'HTTP');
    // Act
    const used = contextVariables(format);
    // Assess
    expect(used).not.toContain('$context.connectionId');
    expect(used).not.toContain('$context.eventType');
  });
});

describe('API Gateway account CloudWatch role (needed by WebSocket stage logging)', () => {
  const PUSH_TO_LOGS = 'service-role/AmazonAPIGatewayPushToCloudWatchLogs';
  const pushRoles = (json: TemplateJson) => resourcesOf(json, 'AWS::IAM::Role').filter(([, role]) => JSON.stringify(role.Properties?.ManagedPolicyArns ?? []).includes(PUSH_TO_LOGS));
  const webSocketStage = (json: TemplateJson): Resource => {
    const [apiId] = only(resourcesOf(json, 'AWS::ApiGatewayV2::Api').filter(([, api]) => api.Properties?.ProtocolType === 'WEBSOCKET'), 'WebSocket API');
    return only(resourcesOf(json, 'AWS::ApiGatewayV2::Stage').filter(([, stage]) => refOf(stage.Properties?.ApiId) === apiId), 'WebSocket stage')[1];
  };

  it('sets the account\u2019s CloudWatchRoleArn to a role API Gateway may assume, both retained', () => {
    // Prepare
    const [accountId, account] = only(resourcesOf(standard.json, 'AWS::ApiGateway::Account'), 'API Gateway account');
    const [roleId, role] = only(pushRoles(standard.json), 'role with AmazonAPIGatewayPushToCloudWatchLogs');
    // Act
    const trusted = asArray<any>(role.Properties!.AssumeRolePolicyDocument.Statement).map((statement) => statement.Principal?.Service);
    // Assess
    expect(getAttOf(account.Properties?.CloudWatchRoleArn)).toBe(roleId);
    expect(account.Properties?.CloudWatchRoleArn).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
    expect(trusted).toEqual(['apigateway.amazonaws.com']);
    expect([account.DeletionPolicy, account.UpdateReplacePolicy, role.DeletionPolicy, role.UpdateReplacePolicy]).toEqual(['Retain', 'Retain', 'Retain', 'Retain']);
    expect(asArray(webSocketStage(standard.json).DependsOn)).toContain(accountId);
  });

  it('creates neither role nor account setting with context apiGatewayCloudWatchRole=false', () => {
    // Prepare / Act
    const accounts = resourcesOf(withoutAccountRole.json, 'AWS::ApiGateway::Account');
    // Assess
    expect(accounts).toEqual([]);
    expect(pushRoles(withoutAccountRole.json)).toEqual([]);
    expect(webSocketStage(withoutAccountRole.json).Properties?.AccessLogSettings).toBeDefined();
  });

  it('refuses an apiGatewayCloudWatchRole context value other than true or false', () => {
    // Prepare
    const app = testApp({ apiGatewayCloudWatchRole: 'no' });
    // Act / Assess
    expect(() => buildApp(app)).toThrow(StackConfigurationError);
  });
});

describe('reserved concurrency (deploys in accounts with a low concurrency quota)', () => {
  it('reserves concurrency for no function', () => {
    // Prepare
    const functions = resourcesOf(standard.json, 'AWS::Lambda::Function');
    // Act
    const reserving = functions.filter(([, fn]) => fn.Properties?.ReservedConcurrentExecutions !== undefined).map(([id]) => id);
    // Assess
    expect(functions.length).toBeGreaterThan(20);
    expect(reserving).toEqual([]);
  });

  it('reserves the reconciler\u2019s concurrency only when asked to', () => {
    // Prepare
    const stack = new Stack(testApp(), 'Bare');
    const tasksTable = new Table(stack, 'Tasks', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
    const bus = new EventBus(stack, 'Bus');
    // Act
    new Reconciler(stack, 'Reconciler', { tasksTable, bus, reservedConcurrentExecutions: 1 });
    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 1 });
  });
});

describe('alarm notifications', () => {
  const alarmTopicId = (json: TemplateJson): string => only(resourcesOf(json, 'AWS::SNS::Topic'), 'SNS topic')[0];

  it('sends every alarm\u2019s ALARM and OK transitions to the alarm topic', () => {
    // Prepare
    const topicId = alarmTopicId(standard.json);
    const alarms = resourcesOf(standard.json, 'AWS::CloudWatch::Alarm');
    // Act
    const silent = alarms.filter(([, alarm]) => !asArray(alarm.Properties?.AlarmActions).some((action) => refOf(action) === topicId)).map(([id]) => id);
    const noOk = alarms.filter(([, alarm]) => !asArray(alarm.Properties?.OKActions).some((action) => refOf(action) === topicId)).map(([id]) => id);
    // Assess
    expect(alarms.length).toBeGreaterThanOrEqual(13);
    expect(silent).toEqual([]);
    expect(noOk).toEqual([]);
  });

  it('encrypts the topic with a rotating customer managed key CloudWatch may use, and admits only TLS and this account\u2019s alarms', () => {
    // Prepare
    const topicId = alarmTopicId(standard.json);
    const [, topic] = only(resourcesOf(standard.json, 'AWS::SNS::Topic'), 'SNS topic');
    const keyId = getAttOf(topic.Properties?.KmsMasterKeyId)!;
    const key = standard.json.Resources[keyId]!;
    const [, policy] = only(resourcesOf(standard.json, 'AWS::SNS::TopicPolicy').filter(([, candidate]) => asArray(candidate.Properties?.Topics).some((ref) => refOf(ref) === topicId)), 'topic policy');
    // Act
    const keyStatements = asArray<any>(key.Properties?.KeyPolicy?.Statement);
    const topicStatements = asArray<any>(policy.Properties!.PolicyDocument.Statement);
    const cloudWatchKeyUse = keyStatements.find((statement) => statement.Principal?.Service === 'cloudwatch.amazonaws.com');
    const cloudWatchPublish = topicStatements.find((statement) => statement.Effect === 'Allow' && statement.Principal?.Service === 'cloudwatch.amazonaws.com');
    const tlsDeny = topicStatements.find((statement) => statement.Effect === 'Deny' && statement.Condition?.Bool?.['aws:SecureTransport'] === 'false');
    // Assess
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties?.EnableKeyRotation).toBe(true);
    expect(asArray(cloudWatchKeyUse?.Action).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(cloudWatchPublish).toMatchObject({ Action: 'sns:Publish' });
    expect(JSON.stringify(cloudWatchPublish.Condition)).toContain(':alarm:*');
    expect(tlsDeny).toBeDefined();
  });

  it('outputs the topic ARN as AlarmTopicArn', () => {
    // Prepare / Act
    const output = standard.json.Outputs?.AlarmTopicArn;
    // Assess
    expect(refOf(output?.Value)).toBe(alarmTopicId(standard.json));
  });

  it('subscribes an e-mail address only when context alarmEmail names one', () => {
    // Prepare
    const topicId = alarmTopicId(withAlarmEmail.json);
    // Act
    const [, subscription] = only(resourcesOf(withAlarmEmail.json, 'AWS::SNS::Subscription'), 'e-mail subscription');
    // Assess
    expect(resourcesOf(standard.json, 'AWS::SNS::Subscription')).toEqual([]);
    expect(subscription.Properties).toMatchObject({ Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: { Ref: topicId } });
  });

  it.each(['not-an-address', 'two@@example.com', 'spaces in@example.com', 'nodot@localhost'])('refuses alarmEmail %j at synth time', (alarmEmail) => {
    // Prepare
    const app = testApp({ alarmEmail });
    // Act / Assess
    expect(() => buildApp(app)).toThrow(InvalidEmailAddressError);
    expect(() => buildApp(testApp({ alarmEmail }))).toThrow(/alarmEmail/);
  });
});

describe('WebSocket API alarms', () => {
  type MetricRef = { namespace?: string; name?: string; dimensions: Record<string, unknown> };
  /** The metrics an alarm watches, whether a single metric or a math expression over several. */
  const metricsOf = (alarm: Resource): MetricRef[] => {
    const dimensionsOf = (dimensions: unknown) => Object.fromEntries(asArray<{ Name: string; Value: unknown }>(dimensions as never).map(({ Name, Value }) => [Name, Value]));
    const properties = alarm.Properties ?? {};
    if (properties.MetricName) return [{ namespace: properties.Namespace, name: properties.MetricName, dimensions: dimensionsOf(properties.Dimensions) }];
    return asArray<any>(properties.Metrics)
      .filter((query) => query.MetricStat)
      .map((query) => ({ namespace: query.MetricStat.Metric.Namespace, name: query.MetricStat.Metric.MetricName, dimensions: dimensionsOf(query.MetricStat.Metric.Dimensions) }));
  };

  it.each(['IntegrationError', 'ExecutionError', 'ClientError'])('alarms on the WebSocket stage\u2019s %s (AWS/ApiGateway, ApiId + Stage)', (metricName) => {
    // Prepare
    const [apiId] = only(resourcesOf(standard.json, 'AWS::ApiGatewayV2::Api').filter(([, api]) => api.Properties?.ProtocolType === 'WEBSOCKET'), 'WebSocket API');
    const [stageId, stage] = only(resourcesOf(standard.json, 'AWS::ApiGatewayV2::Stage').filter(([, candidate]) => refOf(candidate.Properties?.ApiId) === apiId), 'WebSocket stage');
    const stageNames = [JSON.stringify(stage.Properties?.StageName), JSON.stringify({ Ref: stageId })];
    // Act
    const watching = resourcesOf(standard.json, 'AWS::CloudWatch::Alarm').filter(([, alarm]) =>
      metricsOf(alarm).some(
        (metric) =>
          metric.namespace === 'AWS/ApiGateway' && metric.name === metricName && refOf(metric.dimensions.ApiId) === apiId && stageNames.includes(JSON.stringify(metric.dimensions.Stage)),
      ),
    );
    // Assess
    expect(watching).toHaveLength(1);
  });
});
