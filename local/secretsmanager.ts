import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { close, listen, readBody, sendJson, type ApiCallCounter } from './http-util.ts';
import { type LocalTemplate, UnsupportedTemplateError, localArn } from './template.ts';
import { authorizeCall, callerOf } from './iam/caller.ts';
import type { IamEnforcer } from './iam/mode.ts';
import { json11Refusal } from './iam/services/json-refusal.ts';
import { secretsManagerPermissions } from './iam/services/secretsmanager.ts';

interface LocalSecret {
  readonly name: string;
  readonly arn: string;
  value: string;
  versionId: string;
  readonly createdAt: number;
}

interface GenerateSecretString {
  PasswordLength?: number;
  ExcludePunctuation?: boolean;
  ExcludeCharacters?: string;
  ExcludeUppercase?: boolean;
  ExcludeLowercase?: boolean;
  ExcludeNumbers?: boolean;
  SecretStringTemplate?: string;
  GenerateStringKey?: string;
}

/** A random string as Secrets Manager's GenerateSecretString would make it. */
const generate = (spec: GenerateSecretString): string => {
  let alphabet = '';
  if (!spec.ExcludeUppercase) alphabet += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  if (!spec.ExcludeLowercase) alphabet += 'abcdefghijklmnopqrstuvwxyz';
  if (!spec.ExcludeNumbers) alphabet += '0123456789';
  if (!spec.ExcludePunctuation) alphabet += '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
  alphabet = [...alphabet].filter((char) => !(spec.ExcludeCharacters ?? '').includes(char)).join('');
  const length = spec.PasswordLength ?? 32;
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; out.length < length; i++) out += alphabet[(bytes[i % bytes.length] ?? 0) % alphabet.length];
  if (spec.SecretStringTemplate && spec.GenerateStringKey) {
    return JSON.stringify({ ...(JSON.parse(spec.SecretStringTemplate) as object), [spec.GenerateStringKey]: out });
  }
  return out;
};

class ServiceError extends Error {
  public constructor(
    public readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Local AWS Secrets Manager for the template's secrets: values generated once (as
 * GenerateSecretString specifies) and kept in the data directory, so restarts keep them.
 * `GetSecretValue`, `DescribeSecret`, `PutSecretValue` and `ListSecrets` over the AWS JSON protocol.
 */
export class LocalSecretsManager {
  public endpoint = '';
  private readonly secrets = new Map<string, LocalSecret>();
  /** The endpoint's HTTP server (its request listener also serves the in-process transport of the function threads). */
  public readonly server: Server;

  public constructor(
    private readonly template: LocalTemplate,
    private readonly file: string,
    private readonly counter: ApiCallCounter,
    /** Authorizes each call by its caller's credentials against their role's policies, in the runtime's IAM mode. @default no checks */
    private readonly callerIam?: IamEnforcer,
  ) {
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  public load(): void {
    const saved = existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, string>) : {};
    for (const [logicalId, resource] of this.template.ofType('AWS::SecretsManager::Secret')) {
      const properties = resource.Properties ?? {};
      for (const key of Object.keys(properties)) {
        if (!['Name', 'Description', 'GenerateSecretString', 'SecretString', 'KmsKeyId', 'Tags'].includes(key)) {
          throw new UnsupportedTemplateError(logicalId, key, 'secret property not supported');
        }
      }
      const name = String(properties.Name ?? `Offload-${logicalId}`);
      const value =
        saved[name] ??
        (properties.SecretString !== undefined ? this.template.resolveString(properties.SecretString, logicalId) : generate((properties.GenerateSecretString ?? {}) as GenerateSecretString));
      const arn = localArn('secretsmanager', `secret:${name}-${logicalId.slice(-6)}`);
      this.secrets.set(name, { name, arn, value, versionId: randomUUID(), createdAt: Date.now() });
      this.template.register(logicalId, { ref: arn, attributes: { Id: arn } });
    }
    this.save();
  }

  public async start(port?: number): Promise<string> {
    this.endpoint = `http://127.0.0.1:${await listen(this.server, port)}`;
    return this.endpoint;
  }

  public async stop(): Promise<void> {
    await close(this.server);
  }

  private save(): void {
    writeFileSync(this.file, JSON.stringify(Object.fromEntries([...this.secrets.values()].map((secret) => [secret.name, secret.value])), null, 2), { mode: 0o600 });
  }

  private find(id: unknown): LocalSecret {
    const secret = [...this.secrets.values()].find((candidate) => candidate.name === id || candidate.arn === id);
    if (!secret) throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      const operation = String(request.headers['x-amz-target'] ?? '').replace(/^secretsmanager\./, '');
      const body = JSON.parse((await readBody(request, 256 * 1024)).toString('utf8') || '{}') as Record<string, unknown>;
      this.counter.add('secretsmanager', operation || 'Unknown');
      const iam = this.callerIam;
      if (iam && iam.mode !== 'off' && operation) {
        const arnOf = (id: string) => [...this.secrets.values()].find((candidate) => candidate.name === id || candidate.arn === id)?.arn;
        const outcome = authorizeCall(iam, callerOf(iam, request.headers, request.url), secretsManagerPermissions(operation, body, arnOf), `secretsmanager:${operation}`);
        if (!outcome.allowed) {
          const refusal = json11Refusal(outcome);
          response.writeHead(refusal.status, refusal.headers).end(refusal.body);
          return;
        }
      }
      let result: unknown;
      if (operation === 'GetSecretValue') {
        const secret = this.find(body.SecretId);
        result = { ARN: secret.arn, Name: secret.name, SecretString: secret.value, VersionId: secret.versionId, VersionStages: ['AWSCURRENT'], CreatedDate: secret.createdAt / 1000 };
      } else if (operation === 'DescribeSecret') {
        const secret = this.find(body.SecretId);
        result = { ARN: secret.arn, Name: secret.name, CreatedDate: secret.createdAt / 1000 };
      } else if (operation === 'PutSecretValue') {
        const secret = this.find(body.SecretId);
        if (typeof body.SecretString !== 'string') throw new ServiceError('InvalidParameterException', 'SecretString is required.');
        secret.value = body.SecretString;
        secret.versionId = randomUUID();
        this.save();
        result = { ARN: secret.arn, Name: secret.name, VersionId: secret.versionId, VersionStages: ['AWSCURRENT'] };
      } else if (operation === 'ListSecrets') {
        result = { SecretList: [...this.secrets.values()].map((secret) => ({ ARN: secret.arn, Name: secret.name })) };
      } else {
        throw new ServiceError('UnknownOperationException', `Operation ${operation || '(none)'} is not supported by the local Secrets Manager`);
      }
      sendJson(response, 200, result, { 'content-type': 'application/x-amz-json-1.1' });
    } catch (error) {
      const serviceError = error instanceof ServiceError ? error : new ServiceError('InvalidRequestException', (error as Error).message);
      sendJson(response, 400, { __type: serviceError.type, message: serviceError.message }, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': serviceError.type });
    }
  }
}
