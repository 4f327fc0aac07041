import { describe, expect, it } from 'vitest';
import { UnknownManagedPolicyError, UnsupportedIamFeatureError } from '../../local/iam/errors.ts';
import { IamEnforcer } from '../../local/iam/mode.ts';
import { IamPolicyStore } from '../../local/iam/policy-store.ts';
import { LocalTemplate, type Template } from '../../local/template.ts';

const BASIC = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole']] };
const TABLE_ARN = 'arn:aws:dynamodb:us-east-1:000000000000:table/Tasks';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:Offload-Queue';

/** A template shaped as CDK synthesizes a function with grants, a queue policy, a bucket policy and a permission. */
const templateOf = (overrides: { managed?: unknown[]; role?: Record<string, unknown> } = {}): LocalTemplate => {
  const template: Template = {
    Resources: {
      FnRole: { Type: 'AWS::IAM::Role', Properties: { ManagedPolicyArns: overrides.managed ?? [BASIC], ...overrides.role } },
      FnRoleDefaultPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          Roles: [{ Ref: 'FnRole' }],
          PolicyDocument: { Statement: [{ Effect: 'Allow', Action: ['dynamodb:PutItem'], Resource: [{ 'Fn::GetAtt': ['Table', 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Table', 'Arn'] }, '/index/*']] }] }] },
        },
      },
      Fn: { Type: 'AWS::Lambda::Function', Properties: { Role: { 'Fn::GetAtt': ['FnRole', 'Arn'] } } },
      Table: { Type: 'AWS::DynamoDB::Table' },
      Queue: { Type: 'AWS::SQS::Queue' },
      QueuePolicy: {
        Type: 'AWS::SQS::QueuePolicy',
        Properties: {
          Queues: [{ Ref: 'Queue' }],
          PolicyDocument: { Statement: [{ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sqs:*', Resource: { 'Fn::GetAtt': ['Queue', 'Arn'] }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] },
        },
      },
      Bucket: { Type: 'AWS::S3::Bucket' },
      BucketPolicy: {
        Type: 'AWS::S3::BucketPolicy',
        Properties: { Bucket: { Ref: 'Bucket' }, PolicyDocument: { Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::bucket/*' }] } },
      },
      Invoke: {
        Type: 'AWS::Lambda::Permission',
        Properties: { FunctionName: { 'Fn::GetAtt': ['Fn', 'Arn'] }, Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com', SourceArn: 'arn:aws:execute-api:us-east-1:000000000000:api1/*/*/tasks' },
      },
    },
  };
  const local = new LocalTemplate(template, '/nowhere', {});
  local.register('Table', { ref: 'Tasks', attributes: { Arn: TABLE_ARN } });
  local.register('Queue', { ref: 'http://127.0.0.1/000000000000/Offload-Queue', attributes: { Arn: QUEUE_ARN, QueueUrl: 'http://127.0.0.1/000000000000/Offload-Queue' } });
  local.register('Bucket', { ref: 'bucket', attributes: { Arn: 'arn:aws:s3:::bucket' } });
  local.register('Fn', { ref: 'Offload-Fn', attributes: { Arn: 'arn:aws:lambda:us-east-1:000000000000:function:Offload-Fn' } });
  return local;
};

describe('IamPolicyStore', () => {
  it('gives a function its role and an assumed-role session named after the function', () => {
    // Prepare
    const store = IamPolicyStore.fromTemplate(templateOf());

    // Act
    const identity = store.roleOfFunction('Fn');

    // Assess
    expect(identity).toEqual({ roleArn: 'arn:aws:iam::000000000000:role/FnRole', sessionArn: 'arn:aws:sts::000000000000:assumed-role/FnRole/Offload-Fn' });
  });

  it('attaches AWS::IAM::Policy documents and catalogued managed policies to the role, resolved to local ARNs', () => {
    // Prepare
    const store = IamPolicyStore.fromTemplate(templateOf());
    const enforcer = new IamEnforcer(store, 'strict', () => undefined);
    const principal = { kind: 'role' as const, ...store.roleOfFunction('Fn') };

    // Act
    const put = enforcer.decide({ principal, action: 'dynamodb:PutItem', resource: `${TABLE_ARN}/index/byTenant` });
    const logs = enforcer.decide({ principal, action: 'logs:PutLogEvents', resource: 'arn:aws:logs:us-east-1:000000000000:log-group:x' });
    const del = enforcer.decide({ principal, action: 'dynamodb:DeleteItem', resource: TABLE_ARN });

    // Assess
    expect([put.allowed, logs.allowed, del.allowed]).toEqual([true, true, false]);
  });

  it('finds queue, bucket (by object ARN) and function resource policies', () => {
    // Prepare
    const store = IamPolicyStore.fromTemplate(templateOf());

    // Act
    const queue = store.resourcePolicyOf(QUEUE_ARN);
    const bucket = store.resourcePolicyOf('arn:aws:s3:::bucket/some/key.json');
    const fn = store.resourcePolicyOf('arn:aws:lambda:us-east-1:000000000000:function:Offload-Fn:$LATEST');

    // Assess
    expect(queue?.source).toBe('QueuePolicy');
    expect(bucket?.source).toBe('BucketPolicy');
    expect(fn?.Statement).toEqual([
      {
        Sid: 'Invoke',
        Effect: 'Allow',
        Principal: { Service: 'apigateway.amazonaws.com' },
        Action: 'lambda:InvokeFunction',
        Resource: 'arn:aws:lambda:us-east-1:000000000000:function:Offload-Fn',
        Condition: { ArnLike: { 'AWS:SourceArn': 'arn:aws:execute-api:us-east-1:000000000000:api1/*/*/tasks' } },
      },
    ]);
  });

  it('refuses, at load, a managed policy the local catalogue does not know', () => {
    // Act
    const load = () => IamPolicyStore.fromTemplate(templateOf({ managed: ['arn:aws:iam::aws:policy/AdministratorAccess'] }));

    // Assess
    expect(load).toThrow(UnknownManagedPolicyError);
    expect(load).toThrow(/FnRole: managed policy arn:aws:iam::aws:policy\/AdministratorAccess is not in the local IAM catalogue/);
  });

  it('refuses a permissions boundary it cannot evaluate', () => {
    // Act
    const load = () => IamPolicyStore.fromTemplate(templateOf({ role: { PermissionsBoundary: 'arn:aws:iam::000000000000:policy/Boundary' } }));

    // Assess
    expect(load).toThrow(UnsupportedIamFeatureError);
  });
});
