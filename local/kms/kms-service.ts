import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { close, listen, readBody, sendJson, type ApiCallCounter } from '../http-util.ts';
import { callerOf } from '../iam/caller.ts';
import type { IamEnforcer } from '../iam/mode.ts';
import { json11Refusal } from '../iam/services/json-refusal.ts';
import { authorizeKmsCall, kmsPermission } from '../iam/services/kms.ts';
import { LOCAL_ACCOUNT, type LocalTemplate } from '../template.ts';
import { keyIdOf, open, seal } from './ciphertext.ts';
import { KmsIncorrectKeyError, KmsServiceError, KmsValidationError } from './errors.ts';
import { LocalKeyStore, type LocalKmsKey } from './key-store.ts';

/** The variable the AWS SDKs read the KMS endpoint from. */
export const KMS_ENDPOINT_VARIABLE = 'AWS_ENDPOINT_URL_KMS' as const;
/** The port `npm start` gives the local KMS (after Bedrock's 4707). */
export const DEFAULT_KMS_PORT = 4708 as const;

/** Largest plaintext Encrypt accepts (AWS: 4,096 bytes). */
const MAX_PLAINTEXT_BYTES = 4096;
const ALGORITHM = 'SYMMETRIC_DEFAULT';
const JSON11 = { 'content-type': 'application/x-amz-json-1.1' } as const;

type Body = Record<string, unknown>;

const stringOf = (body: Body, name: string): string => {
  const value = body[name];
  if (typeof value !== 'string' || value === '') throw new KmsValidationError(`1 validation error detected: Value null at '${name[0]!.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`);
  return value;
};
const blobOf = (body: Body, name: string): Buffer => Buffer.from(stringOf(body, name), 'base64');
const contextOf = (body: Body): Record<string, string> | undefined => {
  const value = body.EncryptionContext;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Object.values(value).some((entry) => typeof entry !== 'string')) throw new KmsValidationError('EncryptionContext must map strings to strings.');
  return value as Record<string, string>;
};

/**
 * Local AWS KMS (`TrentService`, AWS JSON 1.1) for the template's symmetric keys: Encrypt, Decrypt,
 * GenerateDataKey, DescribeKey, EnableKey and DisableKey. AES-256-GCM under each key's own
 * material (kept in the data directory: see {@link LocalKeyStore}); the ciphertext names its key,
 * so Decrypt needs no KeyId, and the encryption context is authenticated (another context answers
 * `InvalidCiphertextException`). Calls are authorized as AWS KMS does (the caller's identity
 * policies and the key policy, with `kms:EncryptionContext:*` condition keys).
 */
export class LocalKms {
  public endpoint = '';
  public readonly keys: LocalKeyStore;
  /** The endpoint's HTTP server (its request listener also serves the in-process transport of the function threads). */
  public readonly server: Server;

  public constructor(
    private readonly template: LocalTemplate,
    file: string,
    private readonly counter: ApiCallCounter,
    /** Authorizes each call by its caller's credentials, in the runtime's IAM mode. @default no checks */
    private readonly callerIam?: IamEnforcer,
  ) {
    this.keys = new LocalKeyStore(template, file);
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  /** Creates (or reloads) the template's keys and registers their values. */
  public load(): void {
    this.keys.load();
  }

  public async start(port?: number): Promise<string> {
    this.endpoint = `http://127.0.0.1:${await listen(this.server, port)}`;
    return this.endpoint;
  }

  public async stop(): Promise<void> {
    await close(this.server);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      const operation = String(request.headers['x-amz-target'] ?? '').replace(/^TrentService\./, '');
      const body = JSON.parse((await readBody(request, 64 * 1024)).toString('utf8') || '{}') as Body;
      this.counter.add('kms', operation || 'Unknown');
      const call = this.resolve(operation, body);
      const iam = this.callerIam;
      if (iam && iam.mode !== 'off') {
        const outcome = authorizeKmsCall(iam, callerOf(iam, request.headers, request.url), kmsPermission(operation, call.key.arn, call.context), iam.store.resourcePolicyOf(call.key.arn));
        if (!outcome.allowed) {
          const refusal = json11Refusal(outcome);
          response.writeHead(refusal.status, refusal.headers).end(refusal.body);
          return;
        }
      }
      sendJson(response, 200, call.run(), { ...JSON11, 'x-amzn-requestid': randomUUID() });
    } catch (error) {
      const failure = error instanceof KmsServiceError ? error : new KmsServiceError('ValidationException', (error as Error).message);
      sendJson(response, 400, { __type: failure.type, ...(failure.message ? { message: failure.message } : {}) }, { ...JSON11, 'x-amzn-errortype': failure.type, 'x-amzn-requestid': randomUUID() });
    }
  }

  /** The key a call is about (found before authorization, as AWS answers NotFoundException first) and how to answer it. */
  private resolve(operation: string, body: Body): { key: LocalKmsKey; context: Record<string, string> | undefined; run: () => unknown } {
    const context = contextOf(body);
    switch (operation) {
      case 'Encrypt': {
        const key = this.keys.find(stringOf(body, 'KeyId'));
        const plaintext = blobOf(body, 'Plaintext');
        if (plaintext.length > MAX_PLAINTEXT_BYTES) throw new KmsValidationError(`1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PLAINTEXT_BYTES}`);
        return { key, context, run: () => ({ CiphertextBlob: seal(key.keyId, this.keys.usable(key.keyId).material, plaintext, context).toString('base64'), KeyId: key.arn, EncryptionAlgorithm: ALGORITHM }) };
      }
      case 'Decrypt': {
        const blob = blobOf(body, 'CiphertextBlob');
        const named = keyIdOf(blob);
        const key = this.keys.all.find((candidate) => candidate.keyId === named);
        if (!key) throw new KmsServiceError('InvalidCiphertextException', '');
        if (typeof body.KeyId === 'string' && this.keys.find(body.KeyId) !== key) throw new KmsIncorrectKeyError();
        return { key, context, run: () => ({ KeyId: key.arn, Plaintext: open(blob, this.keys.usable(key.keyId).material, context).toString('base64'), EncryptionAlgorithm: ALGORITHM }) };
      }
      case 'GenerateDataKey': {
        const key = this.keys.find(stringOf(body, 'KeyId'));
        const bytes = body.NumberOfBytes !== undefined ? Number(body.NumberOfBytes) : body.KeySpec === 'AES_128' ? 16 : body.KeySpec === 'AES_256' ? 32 : NaN;
        if (!Number.isInteger(bytes) || bytes < 1 || bytes > 1024) throw new KmsValidationError('Please specify either number of bytes or key spec.');
        return {
          key,
          context,
          run: () => {
            const plaintext = randomBytes(bytes);
            return { CiphertextBlob: seal(key.keyId, this.keys.usable(key.keyId).material, plaintext, context).toString('base64'), Plaintext: plaintext.toString('base64'), KeyId: key.arn };
          },
        };
      }
      case 'DescribeKey': {
        const key = this.keys.find(stringOf(body, 'KeyId'));
        return { key, context: undefined, run: () => ({ KeyMetadata: metadataOf(key) }) };
      }
      case 'EnableKey':
      case 'DisableKey': {
        const key = this.keys.find(stringOf(body, 'KeyId'));
        return { key, context: undefined, run: () => (this.keys.setEnabled(key.keyId, operation === 'EnableKey'), {}) };
      }
      default:
        throw new KmsServiceError('UnknownOperationException', `Operation ${operation || '(none)'} is not supported by the local KMS`);
    }
  }
}

/** DescribeKey's answer for a local key. */
const metadataOf = (key: LocalKmsKey) => ({
  AWSAccountId: LOCAL_ACCOUNT,
  KeyId: key.keyId,
  Arn: key.arn,
  CreationDate: key.createdAt / 1000,
  Enabled: key.enabled,
  Description: key.description,
  KeyUsage: 'ENCRYPT_DECRYPT',
  KeyState: key.enabled ? 'Enabled' : 'Disabled',
  Origin: 'AWS_KMS',
  KeyManager: 'CUSTOMER',
  KeySpec: ALGORITHM,
  CustomerMasterKeySpec: ALGORITHM,
  EncryptionAlgorithms: [ALGORITHM],
  MultiRegion: false,
});
