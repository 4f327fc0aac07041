import { describe, expect, it } from 'vitest';
import { IamEnforcer, isIamMode, type IamMode } from '../../local/iam/mode.ts';
import { IamPolicyStore } from '../../local/iam/policy-store.ts';
import { LocalTemplate } from '../../local/template.ts';

const TABLE_ARN = 'arn:aws:dynamodb:us-east-1:000000000000:table/Tasks';

const enforcerOf = (mode: IamMode) => {
  const template = new LocalTemplate(
    {
      Resources: {
        FnRole: { Type: 'AWS::IAM::Role', Properties: {} },
        FnRolePolicy: { Type: 'AWS::IAM::Policy', Properties: { Roles: [{ Ref: 'FnRole' }], PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: TABLE_ARN }] } } },
        Fn: { Type: 'AWS::Lambda::Function', Properties: { Role: { 'Fn::GetAtt': ['FnRole', 'Arn'] } } },
      },
    },
    '/nowhere',
    {},
  );
  const lines: string[] = [];
  const store = IamPolicyStore.fromTemplate(template);
  const enforcer = new IamEnforcer(store, mode, (line) => lines.push(line));
  return { enforcer, lines, principal: { kind: 'role' as const, ...store.roleOfFunction('Fn') } };
};

describe('IamEnforcer modes', () => {
  it('strict: refuses and logs the AWS message', () => {
    // Prepare
    const { enforcer, lines, principal } = enforcerOf('strict');

    // Act
    const decision = enforcer.authorize({ principal, action: 'dynamodb:PutItem', resource: TABLE_ARN });

    // Assess
    expect(decision.allowed).toBe(false);
    expect(lines).toEqual([
      `denied: AccessDenied: User: arn:aws:sts::000000000000:assumed-role/FnRole/Offload-Fn is not authorized to perform: dynamodb:PutItem on resource: ${TABLE_ARN} because no identity-based policy allows the dynamodb:PutItem action`,
    ]);
  });

  it('soft: allows and logs the would-be denial; allowed calls log nothing', () => {
    // Prepare
    const { enforcer, lines, principal } = enforcerOf('soft');

    // Act
    const denied = enforcer.authorize({ principal, action: 'dynamodb:PutItem', resource: TABLE_ARN });
    const allowed = enforcer.authorize({ principal, action: 'dynamodb:GetItem', resource: TABLE_ARN });

    // Assess
    expect([denied.allowed, allowed.allowed]).toEqual([true, true]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^would deny \(--iam soft\): AccessDenied: User: .* dynamodb:PutItem on resource/);
  });

  it('off: allows without evaluating or logging', () => {
    // Prepare
    const { enforcer, lines, principal } = enforcerOf('off');

    // Act
    const decision = enforcer.authorize({ principal, action: 'dynamodb:PutItem', resource: TABLE_ARN });

    // Assess
    expect(decision.allowed).toBe(true);
    expect(lines).toEqual([]);
    expect([isIamMode('strict'), isIamMode('loose')]).toEqual([true, false]);
  });
});
