import { describe, expect, inject, it } from 'vitest';
import { loadStackTemplate, locateStack } from '../../local/preflight/cloud-assembly.ts';
import { CLOUDWATCH_ROLE_MISSING } from '../../local/preflight/cloudwatch-role.ts';
import {
  AccessLogFormatError,
  CloudWatchRoleError,
  DeployRuleError,
  EventSourceMappingError,
  FunctionConfigurationError,
  PreflightFailedError,
  ReservedConcurrencyError,
} from '../../local/preflight/errors.ts';
import { checkDeployPreflight, type PreflightOptions } from '../../local/preflight/preflight.ts';
import type { Template, TemplateResource } from '../../local/template.ts';

/**
 * The deploy preflight: a template AWS would refuse at deploy time is refused when it loads,
 * naming the resource, the property and AWS's error text. Each rule is exercised on a small
 * hand-made template that passes, mutated to break exactly that rule, and on the real stack.
 */

/** A template the tests mutate. */
type MutableTemplate = { Resources: Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: string | string[] }> };

const format = (fields: Record<string, string>): string => JSON.stringify(fields);
const HTTP_FORMAT = format({ requestId: '$context.requestId', ip: '$context.identity.sourceIp', status: '$context.status', integrationError: '$context.integrationErrorMessage' });
const WS_FORMAT = format({ requestId: '$context.requestId', connectionId: '$context.connectionId', eventType: '$context.eventType', status: '$context.status' });

/** HTTP and WebSocket APIs whose stages log, the account's CloudWatch role, a queue-driven worker: all within AWS's rules. */
const baseTemplate = (): MutableTemplate => ({
  Resources: {
    HttpApi: { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'Api', ProtocolType: 'HTTP' } },
    HttpStage: { Type: 'AWS::ApiGatewayV2::Stage', Properties: { ApiId: { Ref: 'HttpApi' }, StageName: '$default', AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': ['HttpLogs', 'Arn'] }, Format: HTTP_FORMAT } } },
    HttpLogs: { Type: 'AWS::Logs::LogGroup', Properties: {} },
    WsApi: { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'Api', ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' } },
    WsStage: {
      Type: 'AWS::ApiGatewayV2::Stage',
      DependsOn: ['ApiGatewayAccount'],
      Properties: { ApiId: { Ref: 'WsApi' }, StageName: 'live', AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': ['WsLogs', 'Arn'] }, Format: WS_FORMAT } },
    },
    WsLogs: { Type: 'AWS::Logs::LogGroup', Properties: {} },
    PushToLogsRole: { Type: 'AWS::IAM::Role', Properties: { ManagedPolicyArns: ['arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs'] } },
    ApiGatewayAccount: { Type: 'AWS::ApiGateway::Account', Properties: { CloudWatchRoleArn: { 'Fn::GetAtt': ['PushToLogsRole', 'Arn'] } } },
    Queue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 360 } },
    Worker: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'index.handler', Runtime: 'nodejs24.x', Timeout: 60, MemorySize: 256 } },
    WorkerSource: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: { EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] }, FunctionName: { Ref: 'Worker' }, BatchSize: 10, ScalingConfig: { MaximumConcurrency: 50 } },
    },
    Reconciler: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'index.handler', Runtime: 'nodejs24.x', Timeout: 60, MemorySize: 256, ReservedConcurrentExecutions: 1 } },
  },
});

/** The error the preflight throws for `template`, or `undefined` when it passes. */
const refusal = (template: Template, options: PreflightOptions = {}): Error | undefined => {
  try {
    checkDeployPreflight(template, options);
    return undefined;
  } catch (error) {
    return error as Error;
  }
};

describe('the hand-made template within AWS rules', () => {
  it('passes the preflight', () => {
    // Prepare
    const template = baseTemplate();
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeUndefined();
  });
});

describe('access-log format variables per API type', () => {
  it('refuses a WebSocket-only variable on an HTTP stage with API Gateway\u2019s message', () => {
    // Prepare
    const template = baseTemplate();
    template.Resources.HttpStage!.Properties.AccessLogSettings.Format = format({ requestId: '$context.requestId', connectionId: '$context.connectionId' });
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeInstanceOf(AccessLogFormatError);
    expect(error).toMatchObject({ logicalId: 'HttpStage', property: 'AccessLogSettings.Format', awsMessage: 'The following context variables are not supported: [$context.connectionId]' });
    expect(error?.message).toMatch(/HttpStage \(AWS::ApiGatewayV2::Stage\), property AccessLogSettings\.Format: "The following context variables are not supported: \[\$context\.connectionId\]"/);
    expect(error?.message).toContain('http-api-logging-variables');
  });

  it('refuses HTTP-only variables on a WebSocket stage, listing each', () => {
    // Prepare
    const template = baseTemplate();
    template.Resources.WsStage!.Properties.AccessLogSettings.Format = format({ requestId: '$context.requestId', length: '$context.responseLength', error: '$context.integrationErrorMessage' });
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeInstanceOf(AccessLogFormatError);
    expect(error).toMatchObject({ logicalId: 'WsStage', awsMessage: 'The following context variables are not supported: [$context.responseLength, $context.integrationErrorMessage]' });
  });

  it('accepts the documented {property} placeholders: authorizer context keys and JWT claims', () => {
    // Prepare
    const template = baseTemplate();
    template.Resources.HttpStage!.Properties.AccessLogSettings.Format = format({ requestId: '$context.requestId', tenant: '$context.authorizer.tenantId', sub: '$context.authorizer.claims.sub' });
    template.Resources.WsStage!.Properties.AccessLogSettings.Format = format({ requestId: '$context.requestId', tenant: '$context.authorizer.tenantId' });
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeUndefined();
  });

  it('refuses a format without $context.requestId', () => {
    // Prepare
    const template = baseTemplate();
    template.Resources.HttpStage!.Properties.AccessLogSettings.Format = format({ status: '$context.status' });
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeInstanceOf(AccessLogFormatError);
    expect(error).toMatchObject({ logicalId: 'HttpStage', awsMessage: 'The format must include at least $context.requestId' });
  });
});

describe('the API Gateway account\u2019s CloudWatch role for logging stages', () => {
  it('refuses a logging WebSocket stage when the template sets no role, with API Gateway\u2019s message', () => {
    // Prepare
    const template = baseTemplate();
    delete template.Resources.ApiGatewayAccount;
    delete template.Resources.WsStage!.DependsOn;
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeInstanceOf(CloudWatchRoleError);
    expect(error).toMatchObject({ logicalId: 'WsStage', property: 'AccessLogSettings', awsMessage: CLOUDWATCH_ROLE_MISSING });
    expect(error?.message).toContain('CloudWatch Logs role ARN must be set in account settings to enable logging');
    expect(error?.message).toContain('--apigateway-cloudwatch-role-configured');
  });

  it('accepts it when the account is said to have the role already', () => {
    // Prepare
    const template = baseTemplate();
    delete template.Resources.ApiGatewayAccount;
    delete template.Resources.WsStage!.DependsOn;
    // Act
    const error = refusal(template, { apiGatewayCloudWatchRoleConfigured: true });
    // Assess
    expect(error).toBeUndefined();
  });

  it('refuses a stage that does not wait for the account setting (CloudFormation may create it first)', () => {
    // Prepare
    const template = baseTemplate();
    delete template.Resources.WsStage!.DependsOn;
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeInstanceOf(CloudWatchRoleError);
    expect(error?.message).toMatch(/ApiGatewayAccount \(AWS::ApiGateway::Account\) but the stage does not depend on it/);
  });

  it('accepts a dependency through another resource', () => {
    // Prepare
    const template = baseTemplate();
    template.Resources.WsStage!.DependsOn = ['Gate'];
    template.Resources.Gate = { Type: 'AWS::CloudFormation::WaitConditionHandle', DependsOn: 'ApiGatewayAccount', Properties: {} };
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeUndefined();
  });

  it('refuses execution logging on a WebSocket stage and on a REST stage without the role', () => {
    // Prepare
    const template = baseTemplate();
    delete template.Resources.ApiGatewayAccount;
    delete template.Resources.WsStage!.DependsOn;
    delete template.Resources.WsStage!.Properties.AccessLogSettings;
    template.Resources.WsStage!.Properties.DefaultRouteSettings = { LoggingLevel: 'INFO' };
    template.Resources.RestStage = { Type: 'AWS::ApiGateway::Stage', Properties: { RestApiId: 'abc', MethodSettings: [{ HttpMethod: '*', ResourcePath: '/*', LoggingLevel: 'ERROR' }] } };
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeInstanceOf(PreflightFailedError);
    const violations = (error as PreflightFailedError).violations.map(({ logicalId, property }) => [logicalId, property]);
    expect(violations).toEqual([
      ['WsStage', 'DefaultRouteSettings'],
      ['RestStage', 'MethodSettings.0'],
    ]);
  });

  it('does not ask for the role for an HTTP stage\u2019s access logs', () => {
    // Prepare
    const template = baseTemplate();
    for (const id of ['WsApi', 'WsStage', 'WsLogs', 'ApiGatewayAccount', 'PushToLogsRole']) delete template.Resources[id];
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeUndefined();
  });
});

describe('reserved concurrency against the account quota', () => {
  it('refuses reservations leaving fewer than 100 unreserved, with Lambda\u2019s message', () => {
    // Prepare
    const template = baseTemplate();
    template.Resources.Worker!.Properties.ReservedConcurrentExecutions = 900;
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeInstanceOf(ReservedConcurrencyError);
    expect(error).toMatchObject({
      logicalId: 'Reconciler',
      property: 'ReservedConcurrentExecutions',
      awsMessage: "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].",
    });
    expect(error?.message).toContain('reserves 901 in all (Worker: 900, Reconciler: 1)');
  });

  it('accepts reserving all but 100', () => {
    // Prepare
    const template = baseTemplate();
    template.Resources.Worker!.Properties.ReservedConcurrentExecutions = 899;
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeUndefined();
  });

  it('uses the given account quota: below 100 nothing can be reserved', () => {
    // Prepare
    const template = baseTemplate();
    // Act
    const error = refusal(template, { accountConcurrency: 50 });
    // Assess
    expect(error).toBeInstanceOf(ReservedConcurrencyError);
    expect((error as DeployRuleError).awsMessage).toContain('below its minimum value of [50].');
  });

  it('refuses an account quota that is not a positive integer', () => {
    // Prepare
    const template = baseTemplate();
    // Act / Assess
    expect(() => checkDeployPreflight(template, { accountConcurrency: 0 })).toThrow(RangeError);
  });
});

describe('SQS event source mappings', () => {
  it.each([
    [1, 'greater than or equal to 2'],
    [1001, 'less than or equal to 1000'],
  ])('refuses ScalingConfig.MaximumConcurrency %i', (value, bound) => {
    // Prepare
    const template = baseTemplate();
    template.Resources.WorkerSource!.Properties.ScalingConfig.MaximumConcurrency = value;
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeInstanceOf(EventSourceMappingError);
    expect(error).toMatchObject({
      logicalId: 'WorkerSource',
      property: 'ScalingConfig.MaximumConcurrency',
      awsMessage: `1 validation error detected: Value '${value}' at 'scalingConfig.maximumConcurrency' failed to satisfy constraint: Member must have value ${bound}`,
    });
  });

  it('refuses a queue visibility timeout shorter than the function timeout (the queue default of 30 s)', () => {
    // Prepare
    const template = baseTemplate();
    delete template.Resources.Queue!.Properties.VisibilityTimeout;
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeInstanceOf(EventSourceMappingError);
    expect(error).toMatchObject({ logicalId: 'WorkerSource', awsMessage: 'Invalid request provided: Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds' });
  });

  it('refuses a batch size above 10 without a batching window, and accepts it with one', () => {
    // Prepare
    const without = baseTemplate();
    without.Resources.WorkerSource!.Properties.BatchSize = 100;
    const withWindow = baseTemplate();
    withWindow.Resources.WorkerSource!.Properties.BatchSize = 100;
    withWindow.Resources.WorkerSource!.Properties.MaximumBatchingWindowInSeconds = 1;
    // Act
    const refused = refusal(without);
    const accepted = refusal(withWindow);
    // Assess
    expect(refused).toMatchObject({ property: 'MaximumBatchingWindowInSeconds', awsMessage: 'Invalid request provided: Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10' });
    expect(accepted).toBeUndefined();
  });

  it('refuses a batch size above 10 for a FIFO queue', () => {
    // Prepare
    const template = baseTemplate();
    template.Resources.Queue!.Properties.FifoQueue = true;
    template.Resources.WorkerSource!.Properties.BatchSize = 20;
    template.Resources.WorkerSource!.Properties.MaximumBatchingWindowInSeconds = 5;
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeInstanceOf(EventSourceMappingError);
    expect(error).toMatchObject({ property: 'BatchSize', awsMessage: 'For FIFO queues the maximum is 10.' });
  });
});

describe('Lambda function limits', () => {
  it.each([
    ['Timeout', 901, "Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900"],
    ['MemorySize', 64, "Value '64' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128"],
    ['MemorySize', 10_241, "Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240"],
  ])('refuses %s %i with Lambda\u2019s validation message', (property, value, message) => {
    // Prepare
    const template = baseTemplate();
    template.Resources.Reconciler!.Properties[property] = value;
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeInstanceOf(FunctionConfigurationError);
    expect(error).toMatchObject({ logicalId: 'Reconciler', property, awsMessage: `1 validation error detected: ${message}` });
  });
});

describe('several violations', () => {
  it('are all reported, each naming its resource', () => {
    // Prepare
    const template = baseTemplate();
    template.Resources.Reconciler!.Properties.Timeout = 1000;
    template.Resources.WorkerSource!.Properties.ScalingConfig.MaximumConcurrency = 1;
    // Act
    const error = refusal(template);
    // Assess
    expect(error).toBeInstanceOf(PreflightFailedError);
    expect((error as PreflightFailedError).violations.map((violation) => violation.logicalId)).toEqual(['WorkerSource', 'Reconciler']);
    expect(error?.message).toMatch(/2 problems/);
    expect(error?.cause).toBe((error as PreflightFailedError).violations[0]);
  });
});

describe('the real synthesized stack', () => {
  const real = (): MutableTemplate => structuredClone(loadStackTemplate(locateStack(inject('cdkOut'))).template) as MutableTemplate;
  const idOf = (template: Template, type: string, predicate: (resource: TemplateResource) => boolean = () => true): string =>
    Object.entries(template.Resources).find(([, resource]) => resource.Type === type && predicate(resource))![0];

  it('passes the preflight', () => {
    // Prepare
    const template = real();
    // Act
    const error = refusal(template);
    // Assess
    expect(error?.message).toBeUndefined();
  });

  it('is refused once a worker\u2019s timeout outgrows its queue\u2019s visibility timeout', () => {
    // Prepare
    const template = real();
    const mappingId = idOf(template, 'AWS::Lambda::EventSourceMapping');
    const mapping = template.Resources[mappingId]!.Properties;
    const queue = template.Resources[mapping.EventSourceArn['Fn::GetAtt'][0]]!.Properties;
    queue.VisibilityTimeout = 120;
    template.Resources[mapping.FunctionName.Ref]!.Properties.Timeout = 600;
    // Act
    const violations = refusalsOf(template, { apiGatewayCloudWatchRoleConfigured: true }).filter((error) => error instanceof EventSourceMappingError);
    // Assess
    expect(violations.map((error) => [error.logicalId, error.awsMessage])).toEqual([[mappingId, 'Invalid request provided: Queue visibility timeout: 120 seconds is less than Function timeout: 600 seconds']]);
  });

  it('is refused when a function reserves the whole account quota', () => {
    // Prepare
    const template = real();
    const functionId = idOf(template, 'AWS::Lambda::Function');
    template.Resources[functionId]!.Properties.ReservedConcurrentExecutions = 1000;
    // Act
    const violations = refusalsOf(template, { apiGatewayCloudWatchRoleConfigured: true }).filter((error) => error instanceof ReservedConcurrencyError);
    // Assess
    expect(violations.map((error) => error.logicalId)).toEqual([functionId]);
  });
});

/** Every violation the preflight reports for `template`. */
const refusalsOf = (template: Template, options: PreflightOptions = {}): DeployRuleError[] => {
  const error = refusal(template, options);
  if (error === undefined) return [];
  if (error instanceof PreflightFailedError) return [...error.violations];
  if (error instanceof DeployRuleError) return [error];
  throw error;
};
