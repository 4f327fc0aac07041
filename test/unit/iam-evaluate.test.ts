import { describe, expect, it } from 'vitest';
import { actionMatches, evaluate, resourceMatches } from '../../local/iam/evaluate.ts';
import type { IamPolicy, IamPrincipal, IamRequest } from '../../local/iam/types.ts';

const ROLE: IamPrincipal = {
  kind: 'role',
  roleArn: 'arn:aws:iam::000000000000:role/SubmitRole',
  sessionArn: 'arn:aws:sts::000000000000:assumed-role/SubmitRole/Offload-HttpSubmit',
};
const TABLE = 'arn:aws:dynamodb:us-east-1:000000000000:table/Tasks';
const QUEUE = 'arn:aws:sqs:us-east-1:000000000000:Offload-Queue';
const RULE = 'arn:aws:events:us-east-1:000000000000:rule/Offload-Bus/Submitted';

const request = (action: string, resource: string, extra: Partial<IamRequest> = {}): IamRequest => ({ principal: ROLE, action, resource, ...extra });
const policy = (...statements: IamPolicy['Statement'][]): IamPolicy => ({ Version: '2012-10-17', Statement: statements.flat() });

describe('evaluate: identity policies', () => {
  it('allows an action the role is granted on the resource', () => {
    // Prepare
    const identity = [policy({ Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: TABLE })];

    // Act
    const decision = evaluate(request('dynamodb:PutItem', TABLE), { identity });

    // Assess
    expect(decision).toEqual({ allowed: true });
  });

  it('denies implicitly, with AWS message naming session, action and resource, when nothing allows it', () => {
    // Prepare
    const identity = [policy({ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: TABLE })];

    // Act
    const decision = evaluate(request('dynamodb:PutItem', TABLE), { identity });

    // Assess
    expect(decision).toMatchObject({ allowed: false, kind: 'implicit', reason: 'no-identity-policy' });
    expect(!decision.allowed && decision.message).toBe(
      `User: ${ROLE.kind === 'role' && ROLE.sessionArn} is not authorized to perform: dynamodb:PutItem on resource: ${TABLE} because no identity-based policy allows the dynamodb:PutItem action`,
    );
  });

  it('matches action wildcards case-insensitively and resource wildcards case-sensitively', () => {
    // Prepare
    const identity = [policy({ Effect: 'Allow', Action: 'DynamoDB:Get*', Resource: `${TABLE}/index/*` }, { Effect: 'Allow', Action: 's3:GetObjec?', Resource: 'arn:aws:s3:::bucket/exports/*' })];

    // Act
    const onIndex = evaluate(request('dynamodb:GetItem', `${TABLE}/index/byTenant`), { identity });
    const onTable = evaluate(request('dynamodb:GetItem', TABLE), { identity });
    const questionMark = evaluate(request('s3:GetObject', 'arn:aws:s3:::bucket/exports/a/b.json'), { identity });
    const wrongCase = evaluate(request('s3:GetObject', 'arn:aws:s3:::bucket/Exports/a.json'), { identity });

    // Assess
    expect(onIndex.allowed).toBe(true);
    expect(onTable.allowed).toBe(false);
    expect(questionMark.allowed).toBe(true);
    expect(wrongCase.allowed).toBe(false);
    expect(actionMatches('sqs:*', 'SQS:SendMessage')).toBe(true);
    expect(resourceMatches('arn:aws:sqs:*:000000000000:Offload-*', QUEUE)).toBe(true);
  });

  it('applies NotAction: everything except the listed actions', () => {
    // Prepare
    const identity = [policy({ Effect: 'Allow', NotAction: 'dynamodb:Delete*', Resource: TABLE })];

    // Act
    const put = evaluate(request('dynamodb:PutItem', TABLE), { identity });
    const del = evaluate(request('dynamodb:DeleteItem', TABLE), { identity });

    // Assess
    expect(put.allowed).toBe(true);
    expect(del.allowed).toBe(false);
  });

  it('applies NotResource: every resource except the listed ones', () => {
    // Prepare
    const identity = [policy({ Effect: 'Allow', Action: 'sqs:SendMessage', NotResource: `${QUEUE}-dlq` })];

    // Act
    const queue = evaluate(request('sqs:SendMessage', QUEUE), { identity });
    const dlq = evaluate(request('sqs:SendMessage', `${QUEUE}-dlq`), { identity });

    // Assess
    expect(queue.allowed).toBe(true);
    expect(dlq.allowed).toBe(false);
  });

  it('lets an explicit deny beat any allow', () => {
    // Prepare
    const identity = [policy({ Effect: 'Allow', Action: 'dynamodb:*', Resource: '*' }), policy({ Effect: 'Deny', Action: 'dynamodb:DeleteItem', Resource: TABLE })];

    // Act
    const decision = evaluate(request('dynamodb:DeleteItem', TABLE), { identity });

    // Assess
    expect(decision).toMatchObject({ allowed: false, kind: 'explicit', reason: 'explicit-identity' });
    expect(!decision.allowed && decision.message).toMatch(/on resource: arn:aws:dynamodb:us-east-1:000000000000:table\/Tasks with an explicit deny in an identity-based policy$/);
  });
});

describe('evaluate: resource policies', () => {
  const tlsOnly = { Effect: 'Deny' as const, Principal: { AWS: '*' }, Action: 'sqs:*', Resource: QUEUE, Condition: { Bool: { 'aws:SecureTransport': 'false' } } };
  const fromRule = {
    Effect: 'Allow' as const,
    Principal: { Service: 'events.amazonaws.com' },
    Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes'],
    Resource: QUEUE,
    Condition: { ArnEquals: { 'aws:SourceArn': RULE } },
  };

  it('allows a service principal its resource policy names, under its condition', () => {
    // Prepare
    const resource = policy(tlsOnly, fromRule);
    const events: IamPrincipal = { kind: 'service', service: 'events.amazonaws.com' };

    // Act
    const fromTheRule = evaluate({ principal: events, action: 'sqs:SendMessage', resource: QUEUE, context: { 'aws:SourceArn': RULE } }, { identity: [], resource });
    const fromAnotherRule = evaluate({ principal: events, action: 'sqs:SendMessage', resource: QUEUE, context: { 'aws:SourceArn': `${RULE}-other` } }, { identity: [], resource });

    // Assess
    expect(fromTheRule.allowed).toBe(true);
    expect(fromAnotherRule).toMatchObject({ allowed: false, kind: 'implicit', reason: 'no-resource-policy' });
  });

  it('allows a role the resource policy names even with no identity policy (same account)', () => {
    // Prepare
    const resource = policy({ Effect: 'Allow', Principal: { AWS: ROLE.kind === 'role' ? ROLE.roleArn : '' }, Action: 'sqs:SendMessage', Resource: QUEUE });

    // Act
    const decision = evaluate(request('sqs:SendMessage', QUEUE), { identity: [], resource });

    // Assess
    expect(decision.allowed).toBe(true);
  });

  it('does not grant through a resource policy that names only the account', () => {
    // Prepare
    const resource = policy({ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'sqs:SendMessage', Resource: QUEUE });

    // Act
    const decision = evaluate(request('sqs:SendMessage', QUEUE), { identity: [], resource });

    // Assess
    expect(decision.allowed).toBe(false);
  });

  it('lets the TLS-only deny pass over loopback (aws:SecureTransport is true locally) and a resource deny win', () => {
    // Prepare
    const identity = [policy({ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE })];
    const denyAll = policy({ Effect: 'Deny', Principal: '*', Action: 'sqs:*', Resource: QUEUE, Condition: { Bool: { 'aws:SecureTransport': 'true' } } });

    // Act
    const underTlsOnly = evaluate(request('sqs:SendMessage', QUEUE), { identity, resource: policy(tlsOnly) });
    const underDeny = evaluate(request('sqs:SendMessage', QUEUE), { identity, resource: denyAll });

    // Assess
    expect(underTlsOnly.allowed).toBe(true);
    expect(underDeny).toMatchObject({ allowed: false, kind: 'explicit', reason: 'explicit-resource' });
    expect(!underDeny.allowed && underDeny.message).toMatch(/with an explicit deny in a resource-based policy$/);
  });

  it('matches NotPrincipal as everyone but the named principals', () => {
    // Prepare
    const resource = policy({ Effect: 'Deny', NotPrincipal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: QUEUE });
    const identity = [policy({ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE })];

    // Act
    const decision = evaluate(request('sqs:SendMessage', QUEUE), { identity, resource });

    // Assess
    expect(decision).toMatchObject({ allowed: false, reason: 'explicit-resource' });
  });
});

describe('evaluate: conditions', () => {
  it('evaluates string, ARN, numeric, null and IfExists operators', () => {
    // Prepare
    const allow = (condition: Record<string, Record<string, string | string[]>>) => [policy({ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE, Condition: condition })];
    const context = { 'aws:SourceArn': RULE, 'aws:SourceAccount': '000000000000' };

    // Act
    const results = {
      stringEquals: evaluate(request('sqs:SendMessage', QUEUE, { context }), { identity: allow({ StringEquals: { 'aws:SourceAccount': ['111111111111', '000000000000'] } }) }),
      stringNotEquals: evaluate(request('sqs:SendMessage', QUEUE, { context }), { identity: allow({ StringNotEquals: { 'aws:SourceAccount': '000000000000' } }) }),
      arnLike: evaluate(request('sqs:SendMessage', QUEUE, { context }), { identity: allow({ ArnLike: { 'AWS:SOURCEARN': 'arn:aws:events:*:000000000000:rule/Offload-Bus/*' } }) }),
      missingKey: evaluate(request('sqs:SendMessage', QUEUE), { identity: allow({ ArnEquals: { 'aws:SourceArn': RULE } }) }),
      missingKeyIfExists: evaluate(request('sqs:SendMessage', QUEUE), { identity: allow({ ArnEqualsIfExists: { 'aws:SourceArn': RULE } }) }),
      nullTrue: evaluate(request('sqs:SendMessage', QUEUE), { identity: allow({ Null: { 'aws:SourceArn': 'true' } }) }),
      numeric: evaluate(request('sqs:SendMessage', QUEUE), { identity: allow({ NumericGreaterThan: { 'aws:EpochTime': '1000' } }) }),
    };

    // Assess
    expect(Object.fromEntries(Object.entries(results).map(([name, decision]) => [name, decision.allowed]))).toEqual({
      stringEquals: true,
      stringNotEquals: false,
      arnLike: true,
      missingKey: false,
      missingKeyIfExists: true,
      nullTrue: true,
      numeric: true,
    });
  });

  it('fails an Allow closed on an unsupported condition key, naming the key', () => {
    // Prepare
    const identity = [policy({ Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::bucket/*', Condition: { StringEquals: { 's3:x-amz-server-side-encryption': 'AES256' } } })];

    // Act
    const decision = evaluate(request('s3:PutObject', 'arn:aws:s3:::bucket/key'), { identity });

    // Assess
    expect(decision).toMatchObject({ allowed: false, kind: 'implicit', unsupported: ['condition key s3:x-amz-server-side-encryption'] });
    expect(!decision.allowed && decision.message).toContain('unsupported condition key s3:x-amz-server-side-encryption');
  });

  it('fails a Deny closed on an unsupported condition operator, naming the operator', () => {
    // Prepare
    const identity = [policy({ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }), policy({ Effect: 'Deny', Action: 'sqs:*', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } })];

    // Act
    const decision = evaluate(request('sqs:SendMessage', QUEUE), { identity });

    // Assess
    expect(decision).toMatchObject({ allowed: false, kind: 'explicit', unsupported: ['condition operator IpAddress'] });
  });

  it('allows the admin principal without looking at any policy', () => {
    // Act
    const decision = evaluate({ principal: { kind: 'admin' }, action: 'dynamodb:DeleteTable', resource: TABLE }, { identity: [] });

    // Assess
    expect(decision).toEqual({ allowed: true });
  });
});
