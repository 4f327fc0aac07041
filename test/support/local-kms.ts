import { KMSClient } from '@aws-sdk/client-kms';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApiCallCounter } from '../../local/http-util.ts';
import type { IamEnforcer } from '../../local/iam/mode.ts';
import { LocalKms } from '../../local/kms/kms-service.ts';
import { LocalTemplate, type Template } from '../../local/template.ts';

/** A template with one symmetric key and CDK's default key policy (the account decides through IAM). */
export const ONE_KEY_TEMPLATE: Template = {
  Resources: {
    Key: {
      Type: 'AWS::KMS::Key',
      Properties: {
        EnableKeyRotation: true,
        KeyPolicy: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } }, Action: 'kms:*', Resource: '*' }],
        },
      },
    },
  },
};

/** A running local KMS of its own (a temporary data directory), and a client for it. */
export interface TestKms {
  readonly kms: LocalKms;
  readonly template: LocalTemplate;
  readonly counter: ApiCallCounter;
  /** The ARN of the template's first key. */
  readonly keyArn: string;
  readonly dir: string;
  /** A client with the given credentials (default: any, for a KMS without IAM). */
  client(credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): KMSClient;
  stop(): Promise<void>;
}

/** Starts a local KMS on the template's keys; `iam` when calls are to be authorized. */
export const startTestKms = async (options: { template?: Template; dir?: string; iam?: (template: LocalTemplate) => IamEnforcer } = {}): Promise<TestKms> => {
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'offload-kms-'));
  const template = new LocalTemplate(structuredClone(options.template ?? ONE_KEY_TEMPLATE), dir, {});
  const counter = new ApiCallCounter();
  const iam = options.iam?.(template);
  const kms = new LocalKms(template, path.join(dir, 'kms.json'), counter, iam);
  kms.load();
  iam?.load();
  await kms.start();
  const clients: KMSClient[] = [];
  return {
    kms,
    template,
    counter,
    keyArn: kms.keys.all[0]!.arn,
    dir,
    client: (credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' }) => {
      const client = new KMSClient({ endpoint: kms.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
      clients.push(client);
      return client;
    },
    stop: async () => {
      for (const client of clients) client.destroy();
      await kms.stop();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
};
