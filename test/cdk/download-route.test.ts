import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.ts';
import { testApp } from '../support/cdk-app.ts';

/**
 * `GET /v1/tasks/{id}/download`: its route, its own function, and the exact permissions of that
 * function. A presigned URL carries the permissions of whoever signed it, so the function may read
 * the tasks table and `s3:GetObject` under `exports/` of the exports bucket, and nothing else. The
 * template is built once for the file, with `cdk.json`'s context and without esbuild (`testApp`); `app.synth()`
 * runs the cdk-nag packs, which throw on any unacknowledged finding.
 */

type Resource = { Type: string; Properties?: Record<string, any> };

const app = testApp();
const stack = buildApp(app);
const template = Template.fromStack(stack);
const json = template.toJSON() as { Resources: Record<string, Resource> };

const resourcesOf = (type: string): [string, Resource][] => Object.entries(json.Resources).filter(([, resource]) => resource.Type === type);
const only = <T>(items: readonly T[], what: string): T => {
  if (items.length !== 1) throw new Error(`expected exactly one ${what}, found ${items.length}`);
  return items[0]!;
};
const refOf = (value: unknown): string | undefined => (value as { Ref?: string } | undefined)?.Ref;
const getAttOf = (value: unknown): string | undefined => ((value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'] ?? [])[0];
const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

const [httpApiId] = only(resourcesOf('AWS::ApiGatewayV2::Api').filter(([, api]) => api.Properties?.ProtocolType === 'HTTP'), 'HTTP API');
const [, route] = only(
  resourcesOf('AWS::ApiGatewayV2::Route').filter(([, candidate]) => refOf(candidate.Properties?.ApiId) === httpApiId && candidate.Properties?.RouteKey === 'GET /v1/tasks/{id}/download'),
  'GET /v1/tasks/{id}/download route',
);
const integrationId = JSON.stringify(route.Properties?.Target).match(/"Ref":"([^"]+)"/)?.[1] ?? '';
const functionId = getAttOf(json.Resources[integrationId]?.Properties?.IntegrationUri) ?? '';
const fn = json.Resources[functionId];
const roleId = getAttOf(fn?.Properties?.Role) ?? '';
const [tasksTableId] = only(resourcesOf('AWS::DynamoDB::Table').filter(([id]) => id.startsWith('StorageTasks')), 'tasks table');
const [exportsBucketId] = only(resourcesOf('AWS::S3::Bucket').filter(([id]) => id.startsWith('TaskExports')), 'exports bucket');
/** Every statement of every identity policy attached to the function's role. */
const statements = resourcesOf('AWS::IAM::Policy')
  .filter(([, policy]) => asArray(policy.Properties!.Roles).some((role) => refOf(role) === roleId))
  .flatMap(([, policy]) => asArray<any>(policy.Properties!.PolicyDocument.Statement));
const actionsOf = (statement: any): string[] => asArray<string>(statement.Action);

describe('GET /v1/tasks/{id}/download', () => {
  it('synthesizes with the cdk-nag packs and no unacknowledged finding', () => {
    // Act / Assess
    expect(() => app.synth()).not.toThrow();
  });

  it('is routed behind the HTTP API\u2019s Lambda authorizer to a function of its own', () => {
    // Prepare
    const [authorizerId] = only(resourcesOf('AWS::ApiGatewayV2::Authorizer').filter(([, authorizer]) => refOf(authorizer.Properties?.ApiId) === httpApiId), 'HTTP authorizer');
    const otherRoutesFunctions = resourcesOf('AWS::ApiGatewayV2::Route')
      .filter(([, candidate]) => candidate !== route)
      .map(([, candidate]) => JSON.stringify(candidate.Properties?.Target).match(/"Ref":"([^"]+)"/)?.[1])
      .map((id) => getAttOf(json.Resources[id ?? '']?.Properties?.IntegrationUri));
    // Act / Assess
    expect(route.Properties).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
    expect(fn?.Type).toBe('AWS::Lambda::Function');
    expect(otherRoutesFunctions).not.toContain(functionId);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('GET /v1/tasks/\\{id\\}/download'),
      Environment: { Variables: Match.objectLike({ TASKS_TABLE: { Ref: tasksTableId }, EXPORTS_BUCKET: { Ref: exportsBucketId } }) },
    });
  });

  it('signs for the bucket tasks.export writes to (the batch worker\u2019s EXPORTS_BUCKET)', () => {
    // Prepare
    const batchWorker = only(
      resourcesOf('AWS::Lambda::Function').filter(([, candidate]) => candidate.Properties?.Environment?.Variables?.WORKLOAD_CLASS === 'batch'),
      'batch worker',
    )[1];
    // Act / Assess
    expect(batchWorker.Properties?.Environment?.Variables?.EXPORTS_BUCKET).toEqual({ Ref: exportsBucketId });
    expect(fn?.Properties?.Environment?.Variables?.EXPORTS_BUCKET).toEqual(batchWorker.Properties?.Environment?.Variables?.EXPORTS_BUCKET);
  });

  it('may s3:GetObject under exports/ of the exports bucket, and no other S3 action or resource', () => {
    // Act
    const s3Statements = statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('s3:')));
    // Assess
    expect(s3Statements).toEqual([
      { Action: 's3:GetObject', Effect: 'Allow', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [exportsBucketId, 'Arn'] }, '/exports/*']] } },
    ]);
  });

  it('may only read the tasks table (and its indexes), and touches no other data service', () => {
    // Act
    const dynamoStatements = statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('dynamodb:')));
    const dynamoActions = dynamoStatements.flatMap(actionsOf);
    const dynamoResources = dynamoStatements.flatMap((statement) => asArray(statement.Resource));
    const others = statements.flatMap(actionsOf).filter((action) => !action.startsWith('dynamodb:') && !action.startsWith('s3:') && !action.startsWith('xray:'));
    // Assess
    expect(dynamoActions.length).toBeGreaterThan(0);
    expect(dynamoActions.filter((action) => !/^dynamodb:(BatchGetItem|GetRecords|GetShardIterator|Query|GetItem|Scan|ConditionCheckItem|DescribeTable)$/.test(action))).toEqual([]);
    expect(dynamoActions).toEqual(expect.arrayContaining(['dynamodb:GetItem']));
    expect(dynamoResources).toEqual(expect.arrayContaining([{ 'Fn::GetAtt': [tasksTableId, 'Arn'] }]));
    expect(JSON.stringify(dynamoResources).match(/"Fn::GetAtt":\["([^"]+)"/g)?.map((match) => match.split('"')[3])).toEqual(dynamoResources.map(() => tasksTableId));
    expect(statements.every((statement) => statement.Effect === 'Allow' && statement.NotAction === undefined && statement.NotResource === undefined)).toBe(true);
    expect(others).toEqual([]);
  });

  it('attaches no managed policy beyond basic Lambda logging', () => {
    // Prepare
    const role = json.Resources[roleId];
    // Act
    const managed = asArray<unknown>(role?.Properties?.ManagedPolicyArns).map((arn) => JSON.stringify(arn));
    // Assess
    expect(managed).toHaveLength(1);
    expect(managed[0]).toContain('service-role/AWSLambdaBasicExecutionRole');
  });

  it('cannot be routed twice', () => {
    // Act / Assess
    expect(() => stack.httpApi.addDownloadRoute(stack.exports.bucket)).toThrow(/already routed/);
  });
});
