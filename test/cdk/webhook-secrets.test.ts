import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.ts';
import { WEBHOOK_SECRET_CONTEXT_CONDITIONS, WEBHOOK_SECRETS_KEY_VARIABLE } from '../../lib/constructs/webhook-secrets.ts';
import { testApp } from '../support/cdk-app.ts';

/**
 * Webhook signing secrets are sealed with a customer managed KMS key: only the webhooks function
 * may encrypt, only the integrations worker (which signs deliveries) may decrypt, each only under a
 * webhook secret's encryption context, and no other function may use the key at all.
 * The template is built once for the file (cdk-nag runs as it is built: a finding would throw).
 */
const stack = buildApp(testApp());
const template = Template.fromStack(stack);
const json = template.toJSON() as { Resources: Record<string, { Type: string; Properties?: any }>; Outputs: Record<string, { Value: unknown }> };
const keyId = stack.getLogicalId(stack.webhookSecrets.key.node.defaultChild as never);
const roleIdOf = (fn: { role?: unknown }) => stack.getLogicalId((fn.role as { node: { defaultChild: never } }).node.defaultChild);
const webhooksRole = roleIdOf(stack.httpApi.webhooksFunction);
const signingRole = roleIdOf(stack.workloads.integrations.worker);

/** Every (role, action) granted on any KMS action, across the template's identity policies. */
const kmsGrants = Object.values(json.Resources)
  .filter((resource) => resource.Type === 'AWS::IAM::Policy')
  .flatMap((policy) =>
    (policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown; Condition?: unknown }[]).flatMap((statement) =>
      [statement.Action]
        .flat()
        .filter((action) => action.startsWith('kms:'))
        .flatMap((action) => (policy.Properties.Roles as { Ref: string }[]).map((role) => ({ role: role.Ref, action, resource: statement.Resource, condition: statement.Condition }))),
    ),
  );

describe('webhook secrets key', () => {
  it('is a customer managed symmetric key with rotation on, retained with the data', () => {
    // Assess
    template.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({ EnableKeyRotation: true, Description: Match.stringLikeRegexp('webhook signing secrets') }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('keeps the default key policy: the account (IAM) decides, no other principal is named', () => {
    // Assess
    template.hasResourceProperties('AWS::KMS::Key', {
      Description: Match.stringLikeRegexp('webhook signing secrets'),
      KeyPolicy: {
        Statement: [
          {
            Action: 'kms:*',
            Effect: 'Allow',
            Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } },
            Resource: '*',
          },
        ],
        Version: '2012-10-17',
      },
    });
  });

  it('lets the webhooks function encrypt and the integrations worker decrypt, each on this key only, under a webhook secret context', () => {
    // Assess
    expect(kmsGrants).toEqual(
      expect.arrayContaining([
        { role: webhooksRole, action: 'kms:Encrypt', resource: { 'Fn::GetAtt': [keyId, 'Arn'] }, condition: WEBHOOK_SECRET_CONTEXT_CONDITIONS },
        { role: signingRole, action: 'kms:Decrypt', resource: { 'Fn::GetAtt': [keyId, 'Arn'] }, condition: WEBHOOK_SECRET_CONTEXT_CONDITIONS },
      ]),
    );
  });

  it('grants no other function, nor those two any other use, of this key', () => {
    // Act
    const onThisKey = kmsGrants.filter((grant) => JSON.stringify(grant.resource).includes(keyId) || grant.resource === '*');
    // Assess
    expect(onThisKey.map((grant) => `${grant.role} ${grant.action}`).sort()).toEqual([`${signingRole} kms:Decrypt`, `${webhooksRole} kms:Encrypt`].sort());
  });

  it('requires both context keys and nothing else in each grant', () => {
    // Assess
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'kms:Decrypt',
            Condition: {
              'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenantId', 'webhookId'] },
              StringLike: { 'kms:EncryptionContext:tenantId': '?*', 'kms:EncryptionContext:webhookId': 'whk_*' },
            },
          }),
        ]),
      },
      Roles: [{ Ref: signingRole }],
    });
  });

  it('tells exactly those two functions the key ARN', () => {
    // Act
    const told = Object.entries(json.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function' && resource.Properties?.Environment?.Variables?.[WEBHOOK_SECRETS_KEY_VARIABLE] !== undefined)
      .map(([, resource]) => resource.Properties.Role['Fn::GetAtt'][0] as string);
    // Assess
    expect(told.sort()).toEqual([signingRole, webhooksRole].sort());
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [WEBHOOK_SECRETS_KEY_VARIABLE]: { 'Fn::GetAtt': [keyId, 'Arn'] } }) },
    });
  });

  it('outputs the key ARN as WebhookSecretsKeyArn', () => {
    // Assess
    template.hasOutput('WebhookSecretsKeyArn', { Value: { 'Fn::GetAtt': [keyId, 'Arn'] } });
  });
});
