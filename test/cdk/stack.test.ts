import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Table, AttributeType } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { describe, expect, it, vi } from 'vitest';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { buildApp } from '../../lib/app.ts';
import { testApp } from '../support/cdk-app.ts';
import { WorkloadClass } from '../../lib/constructs/workload-class.ts';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { DOCUMENT_PATHS } from '../../lambdas/contract/constants.ts';
import { openApiDocument } from '../../lambdas/contract/openapi.ts';
import { IDEMPOTENCY_RETENTION_SECONDS } from '../../lambdas/core/idempotency.ts';
import { DynamoIdempotencyStore } from '../../lambdas/store/idempotency-store.ts';

/**
 * CDK assertions on the synthesized Offload stack: the promises the spec makes about storage,
 * routing, queues, workers, APIs, the edge and IAM. The template is built once for the file, with
 * `cdk.json`'s context (feature flags); `aws:cdk:bundling-stacks: []` skips esbuild bundling.
 */

const app = testApp();
const stack = buildApp(app);
const template = Template.fromStack(stack);
const json = template.toJSON() as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

type Resource = { Type: string; Properties?: Record<string, any> };
const resourcesOf = (type: string): [string, Resource][] => Object.entries(json.Resources).filter(([, resource]) => resource.Type === type);
const only = <T>(items: readonly T[], what: string): T => {
  if (items.length !== 1) throw new Error(`expected exactly one ${what}, found ${items.length}`);
  return items[0]!;
};
const refOf = (value: unknown): string | undefined => (value as { Ref?: string } | undefined)?.Ref;
const getAttOf = (value: unknown): string | undefined => ((value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'] ?? [])[0];
const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The workload classes: each has its own queue, DLQ, rule and worker. */
const CLASSES = ['interactive', 'batch', 'integrations', 'analytics'] as const;

/** A class's worker, found through the event source mapping that feeds it. */
const workerWiring = (className: (typeof CLASSES)[number] = 'interactive') => {
  const mappings = resourcesOf('AWS::Lambda::EventSourceMapping').filter(
    ([, candidate]) => (json.Resources[refOf(candidate.Properties!.FunctionName)!] as Resource | undefined)?.Properties?.Environment?.Variables?.WORKLOAD_CLASS === className,
  );
  const [, mapping] = only(mappings, `event source mapping for ${className}`);
  const functionId = refOf(mapping.Properties!.FunctionName);
  const queueId = getAttOf(mapping.Properties!.EventSourceArn);
  if (!functionId || !queueId) throw new Error('event source mapping is not wired by Ref/GetAtt');
  const fn = json.Resources[functionId] as Resource;
  const queue = json.Resources[queueId] as Resource;
  const roleId = getAttOf(fn.Properties!.Role);
  return { mapping, functionId, fn, queueId, queue, roleId };
};

describe('storage', () => {
  it('creates exactly two DynamoDB tables', () => {
    // Prepare: the template built once for this file
    // Act / Assess
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
  });

  it('keys both tables on pk/sk, on demand, encrypted, with PITR and the expiresAt TTL', () => {
    // Prepare
    const expected = {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    };
    // Act
    const matching = template.findResources('AWS::DynamoDB::Table', { Properties: Match.objectLike(expected) });
    // Assess
    expect(Object.keys(matching)).toHaveLength(2);
  });

  it('gives the connections table the sparse ByKey index (connections by API key id, keys only)', () => {
    // Prepare / Act / Assess
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [{ IndexName: 'ByKey', KeySchema: [{ AttributeName: 'keyId', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } }],
    });
  });

  it('gives the tasks table the GSI1 listing index (gsi1pk/gsi1sk), projecting only a task summary\'s fields (never input or result)', () => {
    // Prepare / Act / Assess
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([
        {
          IndexName: 'GSI1',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: {
            ProjectionType: 'INCLUDE',
            NonKeyAttributes: ['taskId', 'type', 'status', 'sessionId', 'progressSeq', 'error', 'attempts', 'createdAt', 'startedAt', 'finishedAt', 'updatedAt'],
          },
        },
      ]),
    });
  });

  it('gives the tasks table the sparse GSI2 reconciliation index (gsi2pk/gsi2sk), keys only', () => {
    // Prepare / Act / Assess
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([
        {
          IndexName: 'GSI2',
          KeySchema: [
            { AttributeName: 'gsi2pk', KeyType: 'HASH' },
            { AttributeName: 'gsi2sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ]),
    });
  });

  it.each(CLASSES)('lets the %s worker write progress in one transaction (PutItem, UpdateItem, ConditionCheckItem on the tasks table)', (className) => {
    // Prepare
    const { roleId } = workerWiring(className);
    const [tasksTableId] = only(
      resourcesOf('AWS::DynamoDB::Table').filter(([, table]) => JSON.stringify(table.Properties?.GlobalSecondaryIndexes ?? []).includes('GSI1')),
      'tasks table',
    );
    // Act
    const actions = resourcesOf('AWS::IAM::Policy')
      .filter(([, policy]) => asArray(policy.Properties!.Roles).some((role) => refOf(role) === roleId))
      .flatMap(([, policy]) => asArray<any>(policy.Properties!.PolicyDocument.Statement))
      .filter((statement) => statement.Effect === 'Allow' && asArray(statement.Resource).some((resource) => getAttOf(resource) === tasksTableId))
      .flatMap((statement) => asArray<string>(statement.Action));
    // Assess
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem']));
  });

  it('lets the reconciler read the due tasks it finds in the keys-only index (dynamodb:BatchGetItem on the tasks table)', () => {
    // Prepare
    const [, fn] = only(resourcesOf('AWS::Lambda::Function').filter(([id]) => id.startsWith('ReconcilerFunction')), 'reconciler function');
    const roleId = getAttOf(fn.Properties?.Role);
    const [tasksTableId] = only(
      resourcesOf('AWS::DynamoDB::Table').filter(([, table]) => JSON.stringify(table.Properties?.GlobalSecondaryIndexes ?? []).includes('GSI2')),
      'tasks table',
    );
    // Act
    const actions = resourcesOf('AWS::IAM::Policy')
      .filter(([, policy]) => asArray(policy.Properties!.Roles).some((role) => refOf(role) === roleId))
      .flatMap(([, policy]) => asArray<any>(policy.Properties!.PolicyDocument.Statement))
      .filter((statement) => statement.Effect === 'Allow' && asArray(statement.Resource).some((resource) => getAttOf(resource) === tasksTableId))
      .flatMap((statement) => asArray<string>(statement.Action));
    // Assess
    expect(actions).toContain('dynamodb:BatchGetItem');
  });
});

describe('event routing', () => {
  it('has a custom event bus', () => {
    // Prepare / Act / Assess
    template.resourceCountIs('AWS::Events::EventBus', 1);
  });

  it.each(CLASSES)('routes %s "Task Submitted" events on the custom bus to that class\'s own queue', (className) => {
    // Prepare
    const [busId] = only(resourcesOf('AWS::Events::EventBus'), 'event bus');
    const { queueId } = workerWiring(className);
    // Act / Assess
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: busId },
      EventPattern: { source: ['offload'], 'detail-type': ['Task Submitted'], detail: { class: [className] } },
      Targets: Match.arrayWith([Match.objectLike({ Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } })]),
    });
  });
});

describe('queues and worker', () => {
  it('encrypts the queue and its DLQ with SSE-SQS (EventBridge cannot use the AWS-managed KMS key)', () => {
    // Prepare
    const queues = resourcesOf('AWS::SQS::Queue');
    // Act
    const encrypted = queues.filter(([, queue]) => queue.Properties?.SqsManagedSseEnabled === true && queue.Properties?.KmsMasterKeyId === undefined);
    // Assess
    expect(queues.length).toBeGreaterThanOrEqual(2);
    expect(encrypted).toHaveLength(queues.length);
  });

  it.each(CLASSES)('redrives the work queue to a DLQ after a bounded number of receives (%s)', (className) => {
    // Prepare
    const { queue } = workerWiring(className);
    // Act
    const redrive = queue.Properties!.RedrivePolicy as { deadLetterTargetArn: unknown; maxReceiveCount: number };
    const dlqId = getAttOf(redrive.deadLetterTargetArn);
    // Assess
    expect(redrive.maxReceiveCount).toBeGreaterThanOrEqual(1);
    expect(redrive.maxReceiveCount).toBeLessThanOrEqual(10);
    expect(dlqId && json.Resources[dlqId]?.Type).toBe('AWS::SQS::Queue');
  });

  it.each(CLASSES)('sets the visibility timeout to at least six times the worker timeout (%s)', (className) => {
    // Prepare
    const { queue, fn } = workerWiring(className);
    // Act
    const visibility = Number(queue.Properties!.VisibilityTimeout);
    const workerTimeout = Number(fn.Properties!.Timeout);
    // Assess
    expect(workerTimeout).toBeGreaterThan(0);
    expect(visibility).toBeGreaterThanOrEqual(6 * workerTimeout);
  });

  it('denies non-TLS access in the policy of every queue', () => {
    // Prepare
    const queueIds = resourcesOf('AWS::SQS::Queue').map(([id]) => id);
    const policies = resourcesOf('AWS::SQS::QueuePolicy');
    // Act
    const protectedQueues = queueIds.filter((queueId) =>
      policies.some(([, policy]) => {
        const covers = asArray(policy.Properties!.Queues).some((queue) => refOf(queue) === queueId);
        const denies = asArray(policy.Properties!.PolicyDocument.Statement).some(
          (statement: any) =>
            statement.Effect === 'Deny' &&
            statement.Condition?.Bool?.['aws:SecureTransport'] === 'false' &&
            getAttOf(statement.Resource) === queueId,
        );
        return covers && denies;
      }),
    );
    // Assess
    expect(queueIds.length).toBeGreaterThanOrEqual(2);
    expect(protectedQueues).toEqual(queueIds);
  });

  it.each(CLASSES)('maps the queue to the worker with a batch size, partial batch responses and a concurrency cap (%s)', (className) => {
    // Prepare
    const { mapping } = workerWiring(className);
    // Act
    const props = mapping.Properties!;
    const maxConcurrency = Number(props.ScalingConfig?.MaximumConcurrency);
    // Assess
    expect(props.BatchSize).toEqual(expect.any(Number));
    expect(props.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(maxConcurrency).toBeGreaterThanOrEqual(2);
    expect(maxConcurrency).toBeLessThanOrEqual(1000);
  });

  it.each(CLASSES)('gives the worker a per-tenant running limit below the class cap (%s)', (className) => {
    // Prepare
    const { mapping, fn } = workerWiring(className);
    // Act
    const limit = Number(fn.Properties!.Environment.Variables.TENANT_RUNNING_LIMIT);
    // Assess
    expect(limit).toBeGreaterThanOrEqual(1);
    expect(limit).toBeLessThan(Number(mapping.Properties!.ScalingConfig.MaximumConcurrency));
  });

  it.each(CLASSES)('lets the worker post to WebSocket connections (execute-api:ManageConnections) (%s)', (className) => {
    // Prepare
    const { roleId } = workerWiring(className);
    // Act / Assess
    expect(roleId).toBeDefined();
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: Match.arrayWith([{ Ref: roleId }]),
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Allow', Action: 'execute-api:ManageConnections' })]),
      },
    });
  });
});

describe('Lambda functions', () => {
  // aws-cdk-lib's BucketDeployment provider (Python, run by CloudFormation at deploy time only) is the one exception.
  const deploymentProviders = resourcesOf('Custom::CDKBucketDeployment').map(([, resource]) => getAttOf(resource.Properties?.ServiceToken));

  it('runs every function on nodejs24.x, arm64, with JSON logs (but the deploy-time BucketDeployment provider)', () => {
    // Prepare
    const functions = resourcesOf('AWS::Lambda::Function').filter(([id]) => !deploymentProviders.includes(id));
    // Act
    const offenders = functions
      .filter(
        ([, fn]) =>
          fn.Properties?.Runtime !== 'nodejs24.x' ||
          JSON.stringify(fn.Properties?.Architectures) !== JSON.stringify(['arm64']) ||
          fn.Properties?.LoggingConfig?.LogFormat !== 'JSON',
      )
      .map(([id]) => id);
    // Assess
    expect(functions.length).toBeGreaterThanOrEqual(12);
    expect(offenders).toEqual([]);
  });
});

describe('HTTP API', () => {
  const [httpApiId] = only(
    resourcesOf('AWS::ApiGatewayV2::Api').filter(([, api]) => api.Properties?.ProtocolType === 'HTTP'),
    'HTTP API',
  );
  const [httpAuthorizerId] = only(
    resourcesOf('AWS::ApiGatewayV2::Authorizer').filter(([, authorizer]) => refOf(authorizer.Properties?.ApiId) === httpApiId),
    'HTTP API authorizer',
  );

  it.each(['POST /v1/tasks', 'GET /v1/tasks/{id}', 'GET /v1/tasks/{id}/events'])('routes %s behind the Lambda authorizer', (routeKey) => {
    // Prepare / Act / Assess
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      ApiId: { Ref: httpApiId },
      RouteKey: routeKey,
      AuthorizationType: 'CUSTOM',
      AuthorizerId: { Ref: httpAuthorizerId },
    });
  });

  const httpRoutes = resourcesOf('AWS::ApiGatewayV2::Route').filter(([, route]) => refOf(route.Properties?.ApiId) === httpApiId);
  const documentRouteKeys = Object.values(DOCUMENT_PATHS).map((path) => `GET ${path}`);

  it('serves the API descriptions publicly from a function with no data access, every other route behind the authorizer', () => {
    // Prepare
    const documentRoutes = httpRoutes.filter(([, route]) => documentRouteKeys.includes(route.Properties?.RouteKey));
    const integrationIds = documentRoutes.map(([, route]) => JSON.stringify(route.Properties?.Target).match(/"Ref":"([^"]+)"/)?.[1] ?? '');
    const functionId = getAttOf((json.Resources[only([...new Set(integrationIds)], 'documents integration')] as Resource).Properties?.IntegrationUri);
    const roleId = getAttOf((json.Resources[functionId!] as Resource).Properties?.Role);
    // Act
    const actions = resourcesOf('AWS::IAM::Policy')
      .filter(([, policy]) => asArray(policy.Properties?.Roles).some((role) => refOf(role) === roleId))
      .flatMap(([, policy]) => asArray(policy.Properties?.PolicyDocument.Statement).flatMap((statement: { Action: string | string[] }) => asArray(statement.Action)));
    const unguarded = httpRoutes.filter(([, route]) => route.Properties?.AuthorizationType !== 'CUSTOM').map(([, route]) => route.Properties?.RouteKey);
    // Assess
    expect(documentRoutes.map(([, route]) => route.Properties?.RouteKey).sort()).toEqual([...documentRouteKeys].sort());
    expect(documentRoutes.every(([, route]) => route.Properties?.AuthorizationType === 'NONE')).toBe(true);
    expect(actions.filter((action) => !action.startsWith('xray:'))).toEqual([]);
    expect(unguarded.sort()).toEqual([...documentRouteKeys].sort());
  });

  it('documents exactly the routes it serves in the OpenAPI document', () => {
    // Prepare
    const document = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
    // Act
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((method) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    const served = httpRoutes.map(([, route]) => route.Properties?.RouteKey as string);
    // Assess
    expect(documented.sort()).toEqual(served.sort());
  });

  it('uses a REQUEST authorizer with payload 2.0 simple responses', () => {
    // Prepare
    const authorizer = json.Resources[httpAuthorizerId] as Resource;
    // Act / Assess
    expect(authorizer.Properties).toMatchObject({ AuthorizerType: 'REQUEST', AuthorizerPayloadFormatVersion: '2.0', EnableSimpleResponses: true });
  });

  it('throttles the HTTP stage', () => {
    // Prepare / Act / Assess
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: httpApiId },
      DefaultRouteSettings: { ThrottlingRateLimit: Match.anyValue(), ThrottlingBurstLimit: Match.anyValue() },
    });
  });
});

describe('WebSocket API', () => {
  const [wsApiId] = only(
    resourcesOf('AWS::ApiGatewayV2::Api').filter(([, api]) => api.Properties?.ProtocolType === 'WEBSOCKET'),
    'WebSocket API',
  );
  const routes = resourcesOf('AWS::ApiGatewayV2::Route').filter(([, route]) => refOf(route.Properties?.ApiId) === wsApiId);
  const route = (key: string): [string, Resource] => only(routes.filter(([, r]) => r.Properties?.RouteKey === key), `route ${key}`);

  it('selects routes by $request.body.action', () => {
    // Prepare / Act / Assess
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' });
  });

  it('has the $connect, $disconnect, $default, subscribe, unsubscribe, submit and ping routes', () => {
    // Prepare
    const expected = ['$connect', '$disconnect', '$default', 'subscribe', 'unsubscribe', 'submit', 'ping'];
    // Act
    const keys = routes.map(([, r]) => r.Properties?.RouteKey as string);
    // Assess
    expect([...keys].sort()).toEqual([...expected].sort());
  });

  it('guards $connect with a REQUEST authorizer reading the token query parameter', () => {
    // Prepare
    const [, connect] = route('$connect');
    const authorizerId = refOf(connect.Properties!.AuthorizerId);
    // Act
    const authorizer = authorizerId ? (json.Resources[authorizerId] as Resource) : undefined;
    // Assess
    expect(connect.Properties!.AuthorizationType).toBe('CUSTOM');
    expect(authorizer?.Type).toBe('AWS::ApiGatewayV2::Authorizer');
    expect(authorizer?.Properties).toMatchObject({ AuthorizerType: 'REQUEST', IdentitySource: ['route.request.querystring.token'] });
  });

  it('answers ping through a route response', () => {
    // Prepare
    const [pingId] = route('ping');
    // Act / Assess
    template.hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', { ApiId: { Ref: wsApiId }, RouteId: { Ref: pingId } });
  });

  it('throttles the WebSocket stage', () => {
    // Prepare / Act / Assess
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: wsApiId },
      DefaultRouteSettings: { ThrottlingRateLimit: Match.anyValue(), ThrottlingBurstLimit: Match.anyValue() },
    });
  });
});

describe('GET /v1/queues', () => {
  const [httpApiId] = only(resourcesOf('AWS::ApiGatewayV2::Api').filter(([, api]) => api.Properties?.ProtocolType === 'HTTP'), 'HTTP API');
  const [, route] = only(
    resourcesOf('AWS::ApiGatewayV2::Route').filter(([, candidate]) => refOf(candidate.Properties?.ApiId) === httpApiId && candidate.Properties?.RouteKey === 'GET /v1/queues'),
    'GET /v1/queues route',
  );
  const integrationId = JSON.stringify(route.Properties?.Target).match(/"Ref":"([^"]+)"/)?.[1] ?? '';
  const functionId = getAttOf(json.Resources[integrationId]?.Properties?.IntegrationUri);
  const roleId = getAttOf(json.Resources[functionId ?? '']?.Properties?.Role);
  const statements = resourcesOf('AWS::IAM::Policy')
    .filter(([, policy]) => asArray(policy.Properties!.Roles).some((role) => refOf(role) === roleId))
    .flatMap(([, policy]) => asArray<any>(policy.Properties!.PolicyDocument.Statement));

  it('routes GET /v1/queues behind the Lambda authorizer', () => {
    // Prepare / Act / Assess
    expect(route.Properties).toMatchObject({ AuthorizationType: 'CUSTOM' });
    expect(json.Resources[functionId ?? '']?.Type).toBe('AWS::Lambda::Function');
  });

  it('lets its function call sqs:GetQueueAttributes on exactly the class queues and DLQs, and touch no other data', () => {
    // Prepare
    const queueIds = CLASSES.flatMap((className) => {
      const { queueId, queue } = workerWiring(className);
      return [queueId, getAttOf((queue.Properties!.RedrivePolicy as { deadLetterTargetArn: unknown }).deadLetterTargetArn)!];
    });
    // Act
    const sqsStatements = statements.filter((statement) => asArray<string>(statement.Action).some((action) => action.startsWith('sqs:')));
    const granted = sqsStatements.flatMap((statement) => asArray(statement.Resource).map((resource) => getAttOf(resource)));
    const dataActions = statements.flatMap((statement) => asArray<string>(statement.Action)).filter((action) => /^(dynamodb|s3|events|secretsmanager|execute-api):/.test(action));
    // Assess
    expect(sqsStatements.flatMap((statement) => asArray<string>(statement.Action))).toEqual(sqsStatements.map(() => 'sqs:GetQueueAttributes'));
    expect(granted.sort()).toEqual([...queueIds].sort());
    expect(new Set(queueIds).size).toBe(8);
    expect(dataActions).toEqual([]);
  });

  it("gives its function each class's queue and DLQ URL", () => {
    // Prepare
    const variables = (json.Resources[functionId ?? ''] as Resource | undefined)?.Properties?.Environment?.Variables ?? {};
    // Act / Assess
    for (const className of CLASSES) {
      const { queueId, queue } = workerWiring(className);
      const dlqId = getAttOf((queue.Properties!.RedrivePolicy as { deadLetterTargetArn: unknown }).deadLetterTargetArn);
      expect(variables[`${className.toUpperCase()}_QUEUE_URL`]).toEqual({ Ref: queueId });
      expect(variables[`${className.toUpperCase()}_DLQ_URL`]).toEqual({ Ref: dlqId });
    }
  });
});

describe('reconciler', () => {
  const [functionId, fn] = only(resourcesOf('AWS::Lambda::Function').filter(([id]) => id.startsWith('ReconcilerFunction')), 'reconciler function');
  const roleId = getAttOf(fn.Properties?.Role);
  const statements = resourcesOf('AWS::IAM::Policy')
    .filter(([, policy]) => asArray(policy.Properties!.Roles).some((role) => refOf(role) === roleId))
    .flatMap(([, policy]) => asArray<any>(policy.Properties!.PolicyDocument.Statement));

  it("can park a failed task in its class's DLQ: each DLQ URL, and sqs:SendMessage on exactly the DLQs", () => {
    // Prepare
    const dlqIds = CLASSES.map((className) => getAttOf((workerWiring(className).queue.Properties!.RedrivePolicy as { deadLetterTargetArn: unknown }).deadLetterTargetArn)!);
    const variables = fn.Properties?.Environment?.Variables ?? {};
    // Act
    const sqsStatements = statements.filter((statement) => asArray<string>(statement.Action).some((action) => action.startsWith('sqs:')));
    const granted = sqsStatements.flatMap((statement) => asArray(statement.Resource).map((resource) => getAttOf(resource)));
    // Assess
    expect(functionId).toBeTruthy();
    CLASSES.forEach((className, index) => expect(variables[`DLQ_URL_${className.toUpperCase()}`]).toEqual({ Ref: dlqIds[index] }));
    expect(sqsStatements.flatMap((statement) => asArray<string>(statement.Action)).every((action) => action.startsWith('sqs:Send') || action === 'sqs:GetQueueAttributes' || action === 'sqs:GetQueueUrl')).toBe(true);
    expect([...new Set(granted)].sort()).toEqual([...dlqIds].sort());
  });
});

describe('dashboard site', () => {
  const [distributionId, distribution] = only(resourcesOf('AWS::CloudFront::Distribution'), 'distribution');
  const [, deployment] = only(resourcesOf('Custom::CDKBucketDeployment'), 'bucket deployment');
  const bucketId = refOf(deployment.Properties?.DestinationBucketName)!;
  const config = distribution.Properties!.DistributionConfig;

  it('keeps the dashboard in a private, encrypted bucket', () => {
    // Prepare / Act
    const bucket = json.Resources[bucketId]!;
    // Assess
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
  });

  it('lets only this distribution read it (origin access control) and denies non-TLS access', () => {
    // Prepare
    const [, policy] = only(resourcesOf('AWS::S3::BucketPolicy').filter(([, candidate]) => refOf(candidate.Properties?.Bucket) === bucketId), 'dashboard bucket policy');
    const statements = asArray<any>(policy.Properties!.PolicyDocument.Statement);
    // Act
    const allows = statements.filter((statement) => statement.Effect === 'Allow');
    const tlsDeny = statements.find((statement) => statement.Effect === 'Deny' && statement.Condition?.Bool?.['aws:SecureTransport'] === 'false');
    // Assess
    expect(tlsDeny).toBeDefined();
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({ Action: 's3:GetObject', Principal: { Service: 'cloudfront.amazonaws.com' } });
    expect(JSON.stringify(allows[0].Condition)).toContain(distributionId);
    const origin = config.Origins.find((candidate: any) => getAttOf(candidate.DomainName) === bucketId);
    expect(origin?.OriginAccessControlId).toBeDefined();
    expect(resourcesOf('AWS::CloudFront::OriginAccessControl')).toHaveLength(1);
  });

  it('serves it under /dashboard/* on the API distribution: HTTPS only, GET/HEAD, from the bucket origin', () => {
    // Prepare / Act
    const behavior = only(config.CacheBehaviors.filter((candidate: any) => candidate.PathPattern === '/dashboard/*'), '/dashboard/* behaviour') as any;
    const origin = config.Origins.find((candidate: any) => candidate.Id === behavior.TargetOriginId);
    // Assess
    expect(config.CacheBehaviors).toHaveLength(1);
    expect(behavior).toMatchObject({ ViewerProtocolPolicy: 'https-only', AllowedMethods: ['GET', 'HEAD'], CachedMethods: ['GET', 'HEAD'], Compress: true });
    expect(getAttOf(origin.DomainName)).toBe(bucketId);
  });

  it('deploys the built dashboard and a config.json naming the WebSocket URL under dashboard/, pruning old files', () => {
    // Prepare
    const [wsApiId] = only(resourcesOf('AWS::ApiGatewayV2::Api').filter(([, api]) => api.Properties?.ProtocolType === 'WEBSOCKET'), 'WebSocket API');
    // Act: config.json is rendered at deploy time from these markers (the WebSocket stage URL's parts).
    const markers = Object.values(asArray<Record<string, unknown>>(deployment.Properties!.SourceMarkers)[1] ?? {});
    const outputs = Object.entries((json as unknown as { Outputs: Record<string, { Value: unknown }> }).Outputs).filter(([key]) => key === 'DashboardUrl');
    // Assess
    expect(deployment.Properties).toMatchObject({ DestinationBucketKeyPrefix: 'dashboard/', Prune: true, RetainOnDelete: false });
    expect(deployment.Properties!.SourceObjectKeys).toHaveLength(2);
    expect(markers).toContainEqual({ Ref: wsApiId });
    expect(outputs).toHaveLength(1);
    expect(JSON.stringify(outputs[0]![1].Value)).toContain('/dashboard/index.html');
  });
});

describe('CloudFront edge', () => {
  it('serves HTTPS only, never forwards Host, caches only GET/HEAD, under the task-read cache policy', () => {
    // Prepare
    const [cachePolicyId] = only(resourcesOf('AWS::CloudFront::CachePolicy'), 'cache policy');
    // Act / Assess
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultCacheBehavior: Match.objectLike({
          ViewerProtocolPolicy: 'https-only',
          OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
          CachedMethods: ['GET', 'HEAD'],
          CachePolicyId: { Ref: cachePolicyId },
        }),
      }),
    });
  });

  it('puts the Authorization header in the cache key (reads are cached per credential)', () => {
    // Prepare / Act / Assess
    template.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({
        ParametersInCacheKeyAndForwardedToOrigin: Match.objectLike({
          HeadersConfig: { HeaderBehavior: 'whitelist', Headers: Match.arrayWith(['Authorization']) },
        }),
      }),
    });
  });

  it('keeps no authenticated read at the edge longer than the revocation window (MaxTTL 60 s)', () => {
    // Prepare / Act / Assess
    template.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({ MinTTL: 0, DefaultTTL: 0, MaxTTL: 60 }),
    });
  });

  it('caches no error at the edge: an ErrorCachingMinTTL of 0 for every cacheable error code, without replacing the response', () => {
    // Prepare
    const codes = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504];
    // Act
    const [, distribution] = only(resourcesOf('AWS::CloudFront::Distribution'), 'distribution');
    const responses = distribution.Properties!.DistributionConfig.CustomErrorResponses as Record<string, unknown>[];
    // Assess
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        CustomErrorResponses: Match.arrayWith(codes.map((ErrorCode) => ({ ErrorCode, ErrorCachingMinTTL: 0 }))),
      }),
    });
    expect(responses.map((response) => Number(response.ErrorCode)).sort((a, b) => a - b)).toEqual(codes);
    expect(responses.every((response) => response.ResponsePagePath === undefined && response.ResponseCode === undefined)).toBe(true);
  });
});

describe('IAM', () => {
  // Every policy document in the template: identity policies (AWS::IAM::Policy, roles' trust and
  // inline policies, managed policies) and resource policies (bucket and queue policies).
  const documents = Object.entries(json.Resources).flatMap(([id, resource]) => {
    const found: [string, any][] = [];
    const walk = (node: unknown): void => {
      if (node === null || typeof node !== 'object') return;
      if ('Statement' in node && 'Version' in node) found.push([id, node]);
      Object.values(node).forEach(walk);
    };
    walk(resource.Properties);
    return found;
  });
  const allows = documents.flatMap(([id, document]) => asArray<any>(document.Statement).filter((statement) => statement.Effect === 'Allow').map((statement) => ({ id, statement })));

  // aws-cdk-lib's BucketDeployment provider: the function behind the one Custom::CDKBucketDeployment,
  // its role, and the default policy attached to that role alone.
  const [, deployment] = only(resourcesOf('Custom::CDKBucketDeployment'), 'bucket deployment');
  const providerFunctionId = getAttOf(deployment.Properties?.ServiceToken)!;
  const providerRoleId = getAttOf(json.Resources[providerFunctionId]?.Properties?.Role)!;
  const [providerPolicyId] = only(
    resourcesOf('AWS::IAM::Policy').filter(([, policy]) => JSON.stringify(policy.Properties?.Roles) === JSON.stringify([{ Ref: providerRoleId }])),
    'BucketDeployment provider policy',
  );
  const dashboardBucketId = refOf(deployment.Properties?.DestinationBucketName)!;
  const assetBucket = only([...new Set(asArray(deployment.Properties?.SourceBucketNames).map((name) => JSON.stringify(name)))], 'CDK asset bucket');
  const s3Arn = (bucketName: unknown, suffix = '') => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', bucketName, ...(suffix ? [suffix] : [])]] });

  /**
   * The only statements allowed a wildcard action, each pinned to its policy and its exact resources.
   * Both are generated by aws-cdk-lib for the BucketDeployment provider (`aws s3 sync --delete` at
   * deploy time, see lib/nag.ts) and touch no tenant data.
   */
  const WILDCARD_EXCEPTIONS = [
    {
      name: 'BucketDeployment provider on the dashboard static-site bucket',
      reason: 'writes and prunes the built dashboard (static files, no tenant data) under dashboard/',
      policyId: providerPolicyId,
      resources: [{ 'Fn::GetAtt': [dashboardBucketId, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [dashboardBucketId, 'Arn'] }, '/*']] }],
      actions: ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'],
    },
    {
      name: 'BucketDeployment provider on the CDK bootstrap asset bucket (read only)',
      reason: 'reads the staged dashboard build (a deploy artifact, no tenant data) it copies from',
      policyId: providerPolicyId,
      resources: [s3Arn(JSON.parse(assetBucket)), s3Arn(JSON.parse(assetBucket), '/*')],
      actions: ['s3:GetObject*', 's3:GetBucket*', 's3:List*'],
    },
  ] as const;
  /** A statement's resources, in a stable order (IAM policy minimization may reorder them). */
  const resourceSet = (resources: unknown): string => JSON.stringify(asArray(resources).map((resource) => JSON.stringify(resource)).sort());
  const exceptionFor = (id: string, statement: any, action: string) =>
    WILDCARD_EXCEPTIONS.find(
      (exception) => exception.policyId === id && resourceSet(statement.Resource) === resourceSet(exception.resources) && (exception.actions as readonly string[]).includes(action),
    );

  it('grants no wildcard action (nor NotAction) in any Allow statement of any policy, but the named BucketDeployment exceptions', () => {
    // Prepare: a KMS key's default statement (kms:* for its own account's root) grants nothing by
    // itself; it lets the account's IAM policies, checked here, grant use of the key.
    const delegatesToIam = (id: string, statement: any) =>
      json.Resources[id]?.Type === 'AWS::KMS::Key' && statement.Action === 'kms:*' && JSON.stringify(statement.Principal?.AWS ?? '').endsWith('":root"]]}');
    const actions = allows.filter(({ id, statement }) => !delegatesToIam(id, statement)).flatMap(({ id, statement }) => [
      ...asArray<string>(statement.Action).map((action) => ({ id, statement, action })),
      ...asArray<string>(statement.NotAction).map((action) => ({ id, statement, action: `NotAction ${action}` })),
    ]);
    // Act
    const wildcards = actions.filter(({ action }) => typeof action !== 'string' || action.includes('*') || action.startsWith('NotAction'));
    const offenders = wildcards.filter(({ id, statement, action }) => !exceptionFor(id, statement, action)).map(({ id, action }) => `${id}: ${action}`);
    const used = WILDCARD_EXCEPTIONS.filter((exception) => wildcards.some(({ id, statement, action }) => exceptionFor(id, statement, action) === exception)).map(({ name }) => name);
    // Assess
    expect(resourcesOf('AWS::IAM::Policy').length).toBeGreaterThan(0);
    expect(actions.length).toBeGreaterThan(50);
    expect(offenders).toEqual([]);
    expect(used).toEqual(WILDCARD_EXCEPTIONS.map(({ name }) => name));
  });

  it('pins the exceptions to the BucketDeployment provider alone: its policy is on its own role, used by no other function', () => {
    // Prepare
    const provider = json.Resources[providerFunctionId]!;
    // Act
    const roleUsers = resourcesOf('AWS::Lambda::Function').filter(([, fn]) => getAttOf(fn.Properties?.Role) === providerRoleId).map(([id]) => id);
    const policyStatements = asArray<any>((json.Resources[providerPolicyId] as Resource).Properties!.PolicyDocument.Statement);
    // Assess
    expect(provider.Type).toBe('AWS::Lambda::Function');
    expect(json.Resources[dashboardBucketId]?.Type).toBe('AWS::S3::Bucket');
    expect(JSON.parse(assetBucket)).toEqual({ 'Fn::Sub': expect.stringMatching(/^cdk-[a-z0-9]+-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}$/) });
    expect(roleUsers).toEqual([providerFunctionId]);
    expect(policyStatements.map((statement) => resourceSet(statement.Resource)).sort()).toEqual(WILDCARD_EXCEPTIONS.map(({ resources }) => resourceSet(resources)).sort());
  });
});

describe('log retention', () => {
  const logGroups = resourcesOf('AWS::Logs::LogGroup');

  it('keeps every log group 30 days', () => {
    // Prepare / Act / Assess
    expect(logGroups.length).toBeGreaterThanOrEqual(25);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('sends every function, the BucketDeployment provider included, to its own declared log group with retention', () => {
    // Prepare
    const functions = resourcesOf('AWS::Lambda::Function');
    // Act
    const groups = functions.map(([, fn]) => refOf(fn.Properties?.LoggingConfig?.LogGroup));
    const offenders = functions.filter((_, index) => json.Resources[groups[index] ?? '']?.Properties?.RetentionInDays === undefined).map(([id]) => id);
    // Assess
    expect(functions.length).toBeGreaterThanOrEqual(24);
    expect(offenders).toEqual([]);
    expect(new Set(groups).size).toBe(functions.length);
  });

  it('writes both API stages\u2019 access logs to declared log groups with retention, and declares no orphan log group', () => {
    // Prepare
    const stages = resourcesOf('AWS::ApiGatewayV2::Stage');
    const functionGroups = resourcesOf('AWS::Lambda::Function').map(([, fn]) => refOf(fn.Properties?.LoggingConfig?.LogGroup));
    // Act
    const stageGroups = stages.map(([, stage]) => getAttOf(stage.Properties?.AccessLogSettings?.DestinationArn));
    const orphans = logGroups.map(([id]) => id).filter((id) => !functionGroups.includes(id) && !stageGroups.includes(id));
    // Assess
    expect(stages).toHaveLength(2);
    expect(stageGroups.every((id) => json.Resources[id ?? '']?.Properties?.RetentionInDays === 30)).toBe(true);
    expect(orphans).toEqual([]);
  });
});

describe('client-token signing key', () => {
  const functionOfUri = (uri: unknown) => JSON.stringify(uri).match(/"Fn::GetAtt":\["([^"]+)","Arn"\]/)?.[1];
  const [httpApiId] = only(resourcesOf('AWS::ApiGatewayV2::Api').filter(([, api]) => api.Properties?.ProtocolType === 'HTTP'), 'HTTP API');
  const [wsApiId] = only(resourcesOf('AWS::ApiGatewayV2::Api').filter(([, api]) => api.Properties?.ProtocolType === 'WEBSOCKET'), 'WebSocket API');
  const authorizerFunction = (apiId: string) =>
    functionOfUri(only(resourcesOf('AWS::ApiGatewayV2::Authorizer').filter(([, authorizer]) => refOf(authorizer.Properties?.ApiId) === apiId), 'authorizer')[1].Properties?.AuthorizerUri)!;
  const [, tokensRoute] = only(
    resourcesOf('AWS::ApiGatewayV2::Route').filter(([, route]) => refOf(route.Properties?.ApiId) === httpApiId && route.Properties?.RouteKey === 'POST /v1/tokens'),
    'POST /v1/tokens route',
  );
  const tokensFunction = functionOfUri(json.Resources[JSON.stringify(tokensRoute.Properties?.Target).match(/"Ref":"([^"]+)"/)?.[1] ?? '']?.Properties?.IntegrationUri)!;
  const [, listRoute] = only(
    resourcesOf('AWS::ApiGatewayV2::Route').filter(([, route]) => refOf(route.Properties?.ApiId) === httpApiId && route.Properties?.RouteKey === 'GET /v1/tasks'),
    'GET /v1/tasks route',
  );
  const listFunction = functionOfUri(json.Resources[JSON.stringify(listRoute.Properties?.Target).match(/"Ref":"([^"]+)"/)?.[1] ?? '']?.Properties?.IntegrationUri)!;
  /**
   * The functions that verify (both authorizers) or mint (POST /v1/tokens) client tokens, and the
   * listing (GET /v1/tasks), whose cursors are sealed under a key derived from the secret.
   */
  const tokenFunctions = [authorizerFunction(httpApiId), authorizerFunction(wsApiId), tokensFunction, listFunction];
  const [secretId] = only(
    resourcesOf('AWS::SecretsManager::Secret').filter(([, secret]) => /client tokens/.test(String(secret.Properties?.Description))),
    'client-token signing key',
  );
  const variables = (functionId: string) => ((json.Resources[functionId] as Resource | undefined)?.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>;

  /** Every Secrets Manager action granted in the template: function, action and resource. */
  const secretGrants = resourcesOf('AWS::Lambda::Function').flatMap(([functionId, fn]) =>
    resourcesOf('AWS::IAM::Policy')
      .filter(([, policy]) => asArray(policy.Properties?.Roles).some((role) => refOf(role) === getAttOf(fn.Properties?.Role)))
      .flatMap(([, policy]) => asArray<any>(policy.Properties?.PolicyDocument.Statement))
      .flatMap((statement) =>
        asArray<string>(statement.Action)
          .filter((action) => action.startsWith('secretsmanager:'))
          .map((action) => ({ functionId, action, effect: statement.Effect, resource: JSON.stringify(statement.Resource) })),
      ),
  );

  it('is a Secrets Manager secret generated at deploy time (no value in the template)', () => {
    // Prepare
    const secret = json.Resources[secretId] as Resource;
    // Act / Assess
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('client tokens'),
      GenerateSecretString: Match.objectLike({ PasswordLength: 64, ExcludePunctuation: true }),
    });
    expect(secret.Properties?.SecretString).toBeUndefined();
    expect(secret.Properties?.GenerateSecretString?.SecretStringTemplate).toBeUndefined();
  });

  it('tells the HTTP and WebSocket authorizers, the token-minting and the listing function its ARN, and no other function', () => {
    // Prepare
    const withVariable = resourcesOf('AWS::Lambda::Function').filter(([id]) => 'TOKEN_SECRET_ARN' in variables(id)).map(([id]) => id);
    // Act / Assess
    expect(new Set(tokenFunctions).size).toBe(4);
    expect(withVariable.sort()).toEqual([...tokenFunctions].sort());
    tokenFunctions.forEach((functionId) => expect(variables(functionId).TOKEN_SECRET_ARN).toEqual({ Ref: secretId }));
  });

  it.each([
    ['HTTP authorizer', 0],
    ['WebSocket authorizer', 1],
    ['token-minting function (POST /v1/tokens)', 2],
    ['listing function (GET /v1/tasks, sealed cursors)', 3],
  ] as const)('lets the %s read exactly that secret (secretsmanager:GetSecretValue on its Ref)', (_, index) => {
    // Prepare
    const roleId = getAttOf(json.Resources[tokenFunctions[index]!]!.Properties?.Role);
    // Act / Assess
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: Match.arrayWith([{ Ref: roleId }]),
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Allow', Action: Match.arrayWith(['secretsmanager:GetSecretValue']), Resource: { Ref: secretId } })]),
      },
    });
  });

  it('grants Secrets Manager access to no other function, but the analytics worker on its own mask key', () => {
    // Prepare
    const { functionId: analyticsWorker } = workerWiring('analytics');
    const maskKeyId = refOf(variables(analyticsWorker).ANALYTICS_KEY_SECRET_ARN);
    // Act
    const granted = [...new Set(secretGrants.filter(({ action }) => action === 'secretsmanager:GetSecretValue').map(({ functionId, resource }) => `${functionId} -> ${resource}`))];
    const otherActions = secretGrants.filter(({ action }) => !['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'].includes(action));
    // Assess
    expect(maskKeyId && json.Resources[maskKeyId]?.Type).toBe('AWS::SecretsManager::Secret');
    expect(maskKeyId).not.toBe(secretId);
    expect(granted.sort()).toEqual(
      [...tokenFunctions.map((functionId) => `${functionId} -> ${JSON.stringify({ Ref: secretId })}`), `${analyticsWorker} -> ${JSON.stringify({ Ref: maskKeyId })}`].sort(),
    );
    expect(secretGrants.every(({ effect }) => effect === 'Allow')).toBe(true);
    expect(otherActions).toEqual([]);
  });
});

describe('idempotency retention', () => {
  const submitFunctions = () => {
    const [httpApiId] = only(resourcesOf('AWS::ApiGatewayV2::Api').filter(([, api]) => api.Properties?.ProtocolType === 'HTTP'), 'HTTP API');
    const [wsApiId] = only(resourcesOf('AWS::ApiGatewayV2::Api').filter(([, api]) => api.Properties?.ProtocolType === 'WEBSOCKET'), 'WebSocket API');
    const routeFunction = (apiId: string, routeKey: string) => {
      const [, route] = only(resourcesOf('AWS::ApiGatewayV2::Route').filter(([, r]) => refOf(r.Properties?.ApiId) === apiId && r.Properties?.RouteKey === routeKey), routeKey);
      const integration = json.Resources[JSON.stringify(route.Properties?.Target).match(/"Ref":"([^"]+)"/)?.[1] ?? ''];
      return JSON.stringify(integration?.Properties?.IntegrationUri).match(/"Fn::GetAtt":\["([^"]+)","Arn"\]/)?.[1]!;
    };
    return [routeFunction(httpApiId, 'POST /v1/tasks'), routeFunction(wsApiId, 'submit')];
  };

  it('remembers an Idempotency-Key for 24 h (IDEMPOTENCY_RETENTION_SECONDS, a code constant)', () => {
    // Prepare / Act / Assess
    expect(IDEMPOTENCY_RETENTION_SECONDS).toBe(86_400);
  });

  it('writes expiresAt 86400 s ahead on a new key (the tasks table TTL attribute)', async () => {
    // Prepare
    const sent: { input: { Item?: Record<string, unknown> } }[] = [];
    const client = { send: async (command: { input: { Item?: Record<string, unknown> } }) => (sent.push(command), {}) } as unknown as DynamoDBDocumentClient;
    const now = Date.UTC(2030, 0, 1, 12, 0, 0, 500);
    const spy = vi.spyOn(Date, 'now').mockReturnValue(now);
    // Act
    try {
      await new DynamoIdempotencyStore('tasks', client).claim('t1', 'key-hash', 'fingerprint', 'task-1');
    } finally {
      spy.mockRestore();
    }
    // Assess
    expect(sent[0]?.input.Item?.expiresAt).toBe(Math.floor(now / 1000) + 86_400);
  });

  it('leaves it to the code: both submit functions use the TTL-enabled tasks table and no function overrides the retention', () => {
    // Prepare
    const functions = submitFunctions();
    // Act
    const tables = functions.map((functionId) => json.Resources[refOf((json.Resources[functionId] as Resource | undefined)?.Properties?.Environment?.Variables?.TASKS_TABLE) ?? ''] as Resource | undefined);
    const overrides = resourcesOf('AWS::Lambda::Function').flatMap(([id, fn]) => Object.keys(fn.Properties?.Environment?.Variables ?? {}).filter((name) => /IDEMPOTENCY/i.test(name)).map((name) => `${id}: ${name}`));
    // Assess
    expect(new Set(functions).size).toBe(2);
    tables.forEach((table) => expect(table?.Properties?.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true }));
    expect(overrides).toEqual([]);
  });
});

describe('WorkloadClass', () => {
  const build = (maxConcurrency: number, tenantConcurrency?: number) => {
    const scratch = new Stack(testApp(), 'Scratch');
    const table = new Table(scratch, 'T', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
    });
    return new WorkloadClass(scratch, 'Batch', {
      className: 'batch',
      bus: new EventBus(scratch, 'Bus'),
      tasksTable: table,
      connectionsTable: table,
      managementEndpoint: 'https://example.execute-api.us-east-1.amazonaws.com/live',
      manageConnectionsArn: 'arn:aws:execute-api:us-east-1:123456789012:example/live/POST/@connections/*',
      maxConcurrency,
      ...(tenantConcurrency === undefined ? {} : { tenantConcurrency }),
    });
  };

  it.each([0, 1.5, 11])('rejects tenantConcurrency %d (an integer within 1 and maxConcurrency 10)', (value) => {
    // Prepare / Act / Assess
    expect(() => build(10, value)).toThrow(/tenantConcurrency/);
  });

  it.each([1, 0, 1001, 5000])('rejects maxConcurrency %i (event source maxConcurrency is 2-1000)', (value) => {
    // Prepare / Act / Assess
    expect(() => build(value)).toThrow(/maxConcurrency/);
  });

  it.each([2, 1000])('accepts maxConcurrency %i at the bounds', (value) => {
    // Prepare / Act
    const workload = build(value);
    // Assess
    const mapping = Template.fromStack(Stack.of(workload));
    mapping.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: value } });
  });
});

describe('cdk-nag', () => {
  it('synthesizes with the AwsSolutions and Serverless packs and no unacknowledged finding', () => {
    // Prepare: a fresh app, since synthesis runs the rule packs.
    const fresh = testApp();
    buildApp(fresh);
    // Act / Assess
    expect(() => fresh.synth()).not.toThrow();
  });

  it('fails synthesis on a finding nobody acknowledged', () => {
    // Prepare: the same app plus a queue without TLS enforcement or a DLQ.
    const fresh = testApp();
    const offload = buildApp(fresh);
    new Queue(offload, 'Careless');
    // Act / Assess
    expect(() => fresh.synth()).toThrow(/Offload\/Careless[\s\S]*AwsSolutions-SQS4/);
  });
});

describe('observability', () => {
  it('has a CloudWatch dashboard', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it.each(CLASSES)('alarms on the %s DLQ depth, oldest message age and worker error rate', (className) => {
    // Prepare
    const { queueId, functionId } = workerWiring(className);
    const dlqId = getAttOf((json.Resources[queueId]!.Properties!.RedrivePolicy as { deadLetterTargetArn: unknown }).deadLetterTargetArn)!;
    const alarms = resourcesOf('AWS::CloudWatch::Alarm').map(([, alarm]) => JSON.stringify(alarm.Properties));
    // Act
    const onDlq = alarms.filter((alarm) => alarm.includes('ApproximateNumberOfMessagesVisible') && alarm.includes(`"${dlqId}"`));
    const onAge = alarms.filter((alarm) => alarm.includes('ApproximateAgeOfOldestMessage') && alarm.includes(`"${queueId}"`));
    const onErrors = alarms.filter((alarm) => alarm.includes('"Errors"') && alarm.includes(`"${functionId}"`));
    // Assess
    expect(onDlq).toHaveLength(1);
    expect(onAge).toHaveLength(1);
    expect(onErrors).toHaveLength(1);
  });

  it('alarms on the HTTP API 5xx rate', () => {
    const alarms = resourcesOf('AWS::CloudWatch::Alarm').map(([, alarm]) => JSON.stringify(alarm.Properties));
    expect(alarms.filter((alarm) => alarm.includes('"5xx"'))).toHaveLength(1);
  });
});

describe('webhooks', () => {
  it('routes lifecycle events (except deliveries\u2019 own) of tenants with webhooks (or not known to have none) to the integrations queue', () => {
    const { queueId } = workerWiring('integrations');
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['offload'],
        'detail-type': ['Task Started', 'Task Succeeded', 'Task Failed', 'Task Cancelled'],
        detail: { type: [{ 'anything-but': 'webhook.delivery' }], webhooks: [true, { exists: false }] },
      },
      Targets: Match.arrayWith([Match.objectLike({ Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } })]),
    });
  });
});

describe('analytics', () => {
  it('gathers the analytics queue into batches over a window (fewer invocations), the other classes invoke at once', () => {
    // Act
    const analytics = workerWiring('analytics').mapping.Properties!;
    const others = (['interactive', 'batch', 'integrations'] as const).map((className) => workerWiring(className).mapping.Properties!);
    // Assess
    expect(analytics.MaximumBatchingWindowInSeconds).toBe(10);
    expect(analytics.BatchSize).toBe(100);
    expect(others.map((props) => props.MaximumBatchingWindowInSeconds)).toEqual([undefined, undefined, undefined]);
  });
});

describe('model providers (optional)', () => {
  it('wires Bedrock and an OpenAI-compatible server into submit and workers when configured, nag-clean', () => {
    // Prepare
    const configured = testApp({ bedrock: 'true', openAiBaseUrl: 'https://api.example.com/v1', openAiApiKeySecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf' });
    const withProviders = Template.fromStack(buildApp(configured));
    // Act / Assess
    withProviders.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ WORKLOAD_CLASS: 'interactive', BEDROCK_ENABLED: 'true', OPENAI_BASE_URL: 'https://api.example.com/v1' }) },
    });
    withProviders.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'bedrock:InvokeModelWithResponseStream' })]) },
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('BEDROCK_ENABLED');
  });
});
