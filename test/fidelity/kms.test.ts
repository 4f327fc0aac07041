import { DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IamEnforcer } from '../../local/iam/mode.ts';
import { IamPolicyStore } from '../../local/iam/policy-store.ts';
import type { Template } from '../../local/template.ts';
import { ONE_KEY_TEMPLATE, startTestKms, type TestKms } from '../support/local-kms.ts';

const ACCOUNT = '000000000000';
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const CONTEXT_CONDITIONS = {
  'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenantId', 'webhookId'] },
  StringLike: { 'kms:EncryptionContext:tenantId': '?*', 'kms:EncryptionContext:webhookId': 'whk_*' },
};

/**
 * Two keys: `Key` with CDK's default key policy (delegates to IAM), `Sealed` whose key policy
 * names no one. `Sealer` may Encrypt and `Opener` may Decrypt on both, under a webhook context.
 */
const template: Template = {
  Resources: {
    ...ONE_KEY_TEMPLATE.Resources,
    Sealed: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'kms:Decrypt', Resource: '*' }] } } },
    SealerRole: { Type: 'AWS::IAM::Role', Properties: {} },
    OpenerRole: { Type: 'AWS::IAM::Role', Properties: {} },
    SealerPolicy: {
      Type: 'AWS::IAM::Policy',
      Properties: { Roles: [{ Ref: 'SealerRole' }], PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: [getAtt('Key'), getAtt('Sealed')], Condition: CONTEXT_CONDITIONS }] } },
    },
    OpenerPolicy: {
      Type: 'AWS::IAM::Policy',
      Properties: { Roles: [{ Ref: 'OpenerRole' }], PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: [getAtt('Key'), getAtt('Sealed')], Condition: CONTEXT_CONDITIONS }] } },
    },
    Sealer: { Type: 'AWS::Lambda::Function', Properties: { Role: getAtt('SealerRole') } },
    Opener: { Type: 'AWS::Lambda::Function', Properties: { Role: getAtt('OpenerRole') } },
  },
};

const CONTEXT = { tenantId: 'ten_a', webhookId: 'whk_01J00000000000000000000001' };

/** The SDK error a call failed with (name, message, status). */
const failure = async (promise: Promise<unknown>) => {
  const error = (await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )) as { name: string; message: string; $metadata: { httpStatusCode?: number } } | undefined;
  if (!error) throw new Error('expected the call to be refused');
  return { name: error.name, message: error.message, status: error.$metadata.httpStatusCode };
};

describe('local KMS: AES-256-GCM under persisted key material, encryption context authenticated', () => {
  let kms: TestKms;
  let client: KMSClient;
  beforeAll(async () => {
    kms = await startTestKms();
    client = kms.client();
  });
  afterAll(async () => kms?.stop());

  it('registers each key: Ref is its id, Fn::GetAtt Arn its ARN', () => {
    // Assess
    const [key] = kms.kms.keys.all;
    expect(kms.template.resolveString({ Ref: 'Key' }, 'test')).toBe(key!.keyId);
    expect(kms.template.resolveString(getAtt('Key'), 'test')).toBe(`arn:aws:kms:us-east-1:${ACCOUNT}:key/${key!.keyId}`);
  });

  it('decrypts without a KeyId (the ciphertext names its key), under the same context in any order', async () => {
    // Prepare
    const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId: kms.keyArn, Plaintext: Buffer.from('whsec_abc'), EncryptionContext: CONTEXT }));
    // Act
    const opened = await client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { webhookId: CONTEXT.webhookId, tenantId: CONTEXT.tenantId } }));
    // Assess
    expect(Buffer.from(opened.Plaintext!).toString()).toBe('whsec_abc');
    expect(opened).toMatchObject({ KeyId: kms.keyArn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
  });

  it('answers InvalidCiphertextException (no message) for another context, a missing one, or an altered blob', async () => {
    // Prepare
    const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId: kms.keyArn, Plaintext: Buffer.from('secret'), EncryptionContext: CONTEXT }));
    const altered = Buffer.from(CiphertextBlob!);
    altered[altered.length - 1]! ^= 1;
    // Act
    const refusals = await Promise.all([
      failure(client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { ...CONTEXT, tenantId: 'ten_b' } }))),
      failure(client.send(new DecryptCommand({ CiphertextBlob }))),
      failure(client.send(new DecryptCommand({ CiphertextBlob: altered, EncryptionContext: CONTEXT }))),
      failure(client.send(new DecryptCommand({ CiphertextBlob: Buffer.from('not a ciphertext of this runtime'), EncryptionContext: CONTEXT }))),
    ]);
    // Assess
    expect(refusals).toEqual(Array(4).fill({ name: 'InvalidCiphertextException', message: 'UnknownError', status: 400 }));
  });

  it('answers NotFoundException for an unknown key, IncorrectKeyException for the wrong KeyId, DisabledException for a disabled key', async () => {
    // Prepare
    const unknown = `arn:aws:kms:us-east-1:${ACCOUNT}:key/00000000-0000-0000-0000-000000000000`;
    const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId: kms.keyArn, Plaintext: Buffer.from('secret') }));
    // Act
    const notFound = await failure(client.send(new EncryptCommand({ KeyId: unknown, Plaintext: Buffer.from('x') })));
    const incorrect = await failure(client.send(new DecryptCommand({ CiphertextBlob, KeyId: unknown })));
    kms.kms.keys.setEnabled(kms.keyArn, false);
    const disabled = await failure(client.send(new DecryptCommand({ CiphertextBlob })));
    const described = await client.send(new DescribeKeyCommand({ KeyId: kms.keyArn }));
    kms.kms.keys.setEnabled(kms.keyArn, true);
    // Assess
    expect(notFound).toEqual({ name: 'NotFoundException', message: `Key '${unknown}' does not exist`, status: 400 });
    expect(incorrect).toMatchObject({ name: 'NotFoundException' });
    expect(disabled).toEqual({ name: 'DisabledException', message: `${kms.keyArn} is disabled.`, status: 400 });
    expect(described.KeyMetadata).toMatchObject({ Arn: kms.keyArn, KeyState: 'Disabled', Enabled: false, KeyManager: 'CUSTOMER', KeySpec: 'SYMMETRIC_DEFAULT' });
  });

  it('answers IncorrectKeyException when Decrypt names another existing key', async () => {
    // Prepare: a second runtime-local key (the two-key template).
    const two = await startTestKms({ template });
    const twoClient = two.client();
    const [first, second] = two.kms.keys.all;
    const { CiphertextBlob } = await twoClient.send(new EncryptCommand({ KeyId: first!.arn, Plaintext: Buffer.from('secret') }));
    // Act
    const refused = await failure(twoClient.send(new DecryptCommand({ CiphertextBlob, KeyId: second!.arn })));
    await two.stop();
    // Assess
    expect(refused).toEqual({ name: 'IncorrectKeyException', message: 'The key ID in the request does not identify a CMK that can perform this operation.', status: 400 });
  });

  it('keeps key ids and material across restarts: an earlier ciphertext still decrypts', async () => {
    // Prepare
    const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId: kms.keyArn, Plaintext: Buffer.from('kept'), EncryptionContext: CONTEXT }));
    const again = await startTestKms({ dir: kms.dir });
    // Act
    const opened = await again.client().send(new DecryptCommand({ CiphertextBlob, EncryptionContext: CONTEXT }));
    await again.stop();
    // Assess
    expect(again.keyArn).toBe(kms.keyArn);
    expect(Buffer.from(opened.Plaintext!).toString()).toBe('kept');
  });

  it('generates data keys: the plaintext key and its ciphertext under the key', async () => {
    // Act
    const generated = await client.send(new GenerateDataKeyCommand({ KeyId: kms.keyArn, KeySpec: 'AES_256', EncryptionContext: CONTEXT }));
    const opened = await client.send(new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: CONTEXT }));
    // Assess
    expect(generated.Plaintext).toHaveLength(32);
    expect(Buffer.from(opened.Plaintext!).equals(Buffer.from(generated.Plaintext!))).toBe(true);
  });
});

describe('local KMS: authorized as AWS KMS authorizes (identity policies, key policy, encryption context conditions)', () => {
  let kms: TestKms;
  let iam: IamEnforcer;
  const log: string[] = [];
  const as = (logicalId: 'Sealer' | 'Opener') => {
    const environment = iam.environmentOf(logicalId, `Offload-${logicalId}`);
    return kms.client({ accessKeyId: environment.AWS_ACCESS_KEY_ID, secretAccessKey: environment.AWS_SECRET_ACCESS_KEY, sessionToken: environment.AWS_SESSION_TOKEN });
  };
  const arnOf = (logicalId: string) => kms.template.resolveString(getAtt(logicalId), 'test');
  beforeAll(async () => {
    kms = await startTestKms({
      template,
      iam: (local) => {
        for (const id of ['Sealer', 'Opener']) local.register(id, { ref: `Offload-${id}`, attributes: { Arn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:Offload-${id}` } });
        iam = new IamEnforcer(IamPolicyStore.fromTemplate(local), 'strict', (line) => log.push(line));
        return iam;
      },
    });
  });
  afterAll(async () => kms?.stop());

  it('lets the sealer encrypt and the opener decrypt under a webhook context, and neither do the other', async () => {
    // Prepare
    const sealer = as('Sealer');
    const opener = as('Opener');
    // Act
    const { CiphertextBlob } = await sealer.send(new EncryptCommand({ KeyId: arnOf('Key'), Plaintext: Buffer.from('whsec_x'), EncryptionContext: CONTEXT }));
    const opened = await opener.send(new DecryptCommand({ CiphertextBlob, KeyId: arnOf('Key'), EncryptionContext: CONTEXT }));
    const sealerDecrypts = await failure(sealer.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: CONTEXT })));
    const openerEncrypts = await failure(opener.send(new EncryptCommand({ KeyId: arnOf('Key'), Plaintext: Buffer.from('x'), EncryptionContext: CONTEXT })));
    // Assess
    expect(Buffer.from(opened.Plaintext!).toString()).toBe('whsec_x');
    expect(sealerDecrypts).toEqual({
      name: 'AccessDeniedException',
      status: 400,
      message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/SealerRole/Offload-Sealer is not authorized to perform: kms:Decrypt on resource: ${arnOf('Key')} because no identity-based policy allows the kms:Decrypt action`,
    });
    expect(openerEncrypts).toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining('kms:Encrypt') });
    expect(log).toContain(`denied: AccessDenied: ${sealerDecrypts.message}`);
  });

  it('refuses a call whose encryption context the conditions do not allow: missing, extra, or another shape', async () => {
    // Prepare
    const sealer = as('Sealer');
    const encrypt = (EncryptionContext?: Record<string, string>) => failure(sealer.send(new EncryptCommand({ KeyId: arnOf('Key'), Plaintext: Buffer.from('x'), ...(EncryptionContext ? { EncryptionContext } : {}) })));
    // Act
    const refusals = await Promise.all([encrypt(), encrypt({ tenantId: 'ten_a' }), encrypt({ ...CONTEXT, purpose: 'other' }), encrypt({ ...CONTEXT, webhookId: 'not-a-webhook' })]);
    // Assess
    expect(refusals.map((refusal) => refusal.name)).toEqual(Array(4).fill('AccessDeniedException'));
    expect(refusals.map((refusal) => refusal.message).join('\n')).not.toMatch(/unsupported/);
  });

  it('refuses a key whose key policy does not delegate to the account, whatever the identity policies allow', async () => {
    // Prepare
    const sealer = as('Sealer');
    // Act
    const refused = await failure(sealer.send(new EncryptCommand({ KeyId: arnOf('Sealed'), Plaintext: Buffer.from('x'), EncryptionContext: CONTEXT })));
    // Assess
    expect(refused).toEqual({
      name: 'AccessDeniedException',
      status: 400,
      message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/SealerRole/Offload-Sealer is not authorized to perform: kms:Encrypt on resource: ${arnOf('Sealed')} because no resource-based policy allows the kms:Encrypt action`,
    });
  });

  it('refuses an unsigned request and an access key it never issued', async () => {
    // Prepare
    const stranger = kms.client({ accessKeyId: 'AKIASTRANGER', secretAccessKey: 'x' });
    // Act
    const refused = await failure(stranger.send(new EncryptCommand({ KeyId: arnOf('Key'), Plaintext: Buffer.from('x'), EncryptionContext: CONTEXT })));
    const unsigned = await fetch(kms.kms.endpoint, { method: 'POST', headers: { 'x-amz-target': 'TrentService.Encrypt', 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify({ KeyId: arnOf('Key'), Plaintext: 'eA==' }) });
    // Assess
    expect(refused).toMatchObject({ name: 'UnrecognizedClientException', status: 400 });
    expect(unsigned.status).toBe(400);
    expect(await unsigned.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
  });
});
