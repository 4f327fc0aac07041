import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.ts';
import { validateKmsKeyArn, validateSecretCompleteArn } from '../../lib/arns.ts';
import { InvalidArnError, PartialSecretArnError, StackConfigurationError } from '../../lib/errors.ts';
import { testApp } from '../support/cdk-app.ts';

/**
 * Model-provider settings that cannot work fail `cdk synth` with a message naming the setting: a
 * partial or malformed OpenAI API-key secret ARN, a KMS key that is not a key ARN. A customer
 * managed key (`openAiApiKeyKmsKeyArn`) is granted to the completion workers for decryption
 * through Secrets Manager (in the secret's region) only.
 */

/** Building the whole stack takes seconds, more on a busy machine. */
const SYNTH_TIMEOUT_MS = 300_000;

const COMPLETE = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:offload/openai-key-AbC123';
const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const OPENAI = { openAiBaseUrl: 'https://api.example.com/v1' };

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };
type Resource = { Type: string; Properties?: Record<string, any> };

/** Statements granting an action on a resource, with the workload classes of the functions whose roles hold them. */
const grantsOf = (template: Template, action: string, resource: string): { classes: string[]; statement: Statement }[] => {
  const { Resources } = template.toJSON() as { Resources: Record<string, Resource> };
  const classOfRole = (roleId: string) =>
    Object.values(Resources).find((resource) => resource.Type === 'AWS::Lambda::Function' && resource.Properties?.Role?.['Fn::GetAtt']?.[0] === roleId)?.Properties?.Environment?.Variables?.WORKLOAD_CLASS ?? roleId;
  return Object.values(Resources)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy')
    .flatMap((policy) =>
      ([] as Statement[])
        .concat(policy.Properties!.PolicyDocument.Statement)
        .filter((statement) => ([] as string[]).concat(statement.Action).includes(action) && JSON.stringify(statement.Resource).includes(resource))
        .map((statement) => ({ classes: (policy.Properties!.Roles as { Ref: string }[]).map((role) => String(classOfRole(role.Ref))), statement })),
    );
};

describe('OpenAI API-key secret ARN', { timeout: SYNTH_TIMEOUT_MS }, () => {
  it('accepts a complete ARN (name, "-", six characters)', () => {
    // Act / Assess
    expect(validateSecretCompleteArn(COMPLETE, 'openAiApiKeySecretArn')).toBe(COMPLETE);
    expect(validateSecretCompleteArn('arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:k-a1B2c3', 'openAiApiKeySecretArn')).toContain('k-a1B2c3');
  });

  it.each([
    'arn:aws:secretsmanager:eu-west-1:123456789012:secret:offload/openai-key',
    'arn:aws:secretsmanager:eu-west-1:123456789012:secret:openai',
    'arn:aws:secretsmanager:eu-west-1:123456789012:secret:openai-key-AbC12',
  ])('refuses the partial ARN %s, saying it is partial', (arn) => {
    // Act / Assess
    expect(() => validateSecretCompleteArn(arn, 'openAiApiKeySecretArn')).toThrow(PartialSecretArnError);
    expect(() => validateSecretCompleteArn(arn, 'openAiApiKeySecretArn')).toThrow(/openAiApiKeySecretArn .* is a partial secret ARN/);
  });

  it.each([
    'openai-key-AbC123',
    'arn:aws:s3:::offload-bucket',
    'arn:aws:ssm:eu-west-1:123456789012:secret:openai-key-AbC123',
    'arn:aws:secretsmanager:eu-west-1:12345:secret:openai-key-AbC123',
    'arn:aws:secretsmanager:eu-west-1:123456789012:openai-key-AbC123',
    'arn:aws:secretsmanager:eu-west-1:123456789012:secret:',
    'arn:aws:secretsmanager:Europe:123456789012:secret:openai-key-AbC123',
  ])('refuses the malformed ARN %s', (arn) => {
    // Act / Assess
    const attempt = () => validateSecretCompleteArn(arn, 'openAiApiKeySecretArn');
    expect(attempt).toThrow(InvalidArnError);
    expect(attempt).not.toThrow(PartialSecretArnError);
  });

  it('fails cdk synth on a partial ARN given as context', () => {
    // Prepare
    const app = testApp({ ...OPENAI, openAiApiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:openai-key' });
    // Act / Assess
    expect(() => buildApp(app)).toThrow(PartialSecretArnError);
  });

  it('fails cdk synth on a key ARN without the server it is for', () => {
    // Act / Assess
    expect(() => buildApp(testApp({ openAiApiKeySecretArn: COMPLETE }))).toThrow(StackConfigurationError);
  });
});

describe('customer managed KMS key of the secret (openAiApiKeyKmsKeyArn)', { timeout: SYNTH_TIMEOUT_MS }, () => {
  it.each([
    'arn:aws:kms:eu-west-1:123456789012:alias/openai',
    'arn:aws:kms:eu-west-1:123456789012:key/not-a-key-id',
    '1234abcd-12ab-34cd-56ef-1234567890ab',
    'arn:aws:secretsmanager:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  ])('refuses %s (not a KMS key ARN)', (arn) => {
    // Act / Assess
    expect(() => validateKmsKeyArn(arn, 'openAiApiKeyKmsKeyArn')).toThrow(InvalidArnError);
  });

  it('accepts key ARNs, multi-Region keys too', () => {
    // Act / Assess
    expect(validateKmsKeyArn(KEY, 'openAiApiKeyKmsKeyArn')).toBe(KEY);
    expect(validateKmsKeyArn('arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab', 'openAiApiKeyKmsKeyArn')).toContain('mrk-');
  });

  it('fails cdk synth on a key without the secret it encrypts', () => {
    // Act / Assess
    expect(() => buildApp(testApp({ ...OPENAI, openAiApiKeyKmsKeyArn: KEY }))).toThrow(StackConfigurationError);
  });

  it('lets exactly the completion workers decrypt with it, only through Secrets Manager, and grants no decryption without it', () => {
    // Prepare
    const withKey = Template.fromStack(buildApp(testApp({ ...OPENAI, openAiApiKeySecretArn: COMPLETE, openAiApiKeyKmsKeyArn: KEY })));
    const withoutKey = Template.fromStack(buildApp(testApp({ ...OPENAI, openAiApiKeySecretArn: COMPLETE })));
    // Act
    const grants = grantsOf(withKey, 'kms:Decrypt', KEY);
    // Assess
    expect(grants.flatMap(({ classes }) => classes).sort()).toEqual(['batch', 'interactive']);
    for (const { statement } of grants) {
      expect(statement).toMatchObject({ Effect: 'Allow', Resource: KEY });
      expect(statement.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } });
    }
    withKey.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['secretsmanager:GetSecretValue']), Resource: COMPLETE })]) },
    });
    expect(grantsOf(withoutKey, 'kms:Decrypt', KEY)).toEqual([]);
  });
});
