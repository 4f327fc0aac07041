import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writePrivateFile } from '../private-file.ts';
import { type LocalTemplate, UnsupportedTemplateError, localArn } from '../template.ts';
import { KmsDisabledError, KmsNotFoundError } from './errors.ts';

/** One customer managed key of the template. */
export interface LocalKmsKey {
  readonly logicalId: string;
  readonly keyId: string;
  readonly arn: string;
  readonly description: string;
  /** 32 bytes of AES-256 key material; never leaves this process. */
  readonly material: Buffer;
  readonly createdAt: number;
  enabled: boolean;
}

/** The `AWS::KMS::Key` properties the local KMS implements (symmetric encryption keys only). */
const SUPPORTED_PROPERTIES = ['Description', 'Enabled', 'EnableKeyRotation', 'KeyPolicy', 'KeySpec', 'KeyUsage', 'PendingWindowInDays', 'MultiRegion', 'Tags', 'RotationPeriodInDays'] as const;

interface SavedKey {
  readonly keyId: string;
  readonly material: string;
  readonly createdAt: number;
  readonly enabled: boolean;
}

/**
 * The template's KMS keys with their key material, kept (mode 0600) in the data directory so
 * ciphertexts made before a restart still decrypt: each key gets a random id and 256-bit material
 * the first time it is seen, by logical id. Registers each key's values: `Ref` → key id,
 * `Fn::GetAtt Arn` / `KeyId`.
 */
export class LocalKeyStore {
  private readonly keys = new Map<string, LocalKmsKey>();

  public constructor(
    private readonly template: LocalTemplate,
    private readonly file: string,
  ) {}

  /** Reads the keys of the template (creating material for new ones) and registers their values. */
  public load(): void {
    const saved = existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, SavedKey>) : {};
    for (const [logicalId, resource] of this.template.ofType('AWS::KMS::Key')) {
      const properties = resource.Properties ?? {};
      for (const key of Object.keys(properties)) {
        if (!(SUPPORTED_PROPERTIES as readonly string[]).includes(key)) throw new UnsupportedTemplateError(logicalId, key, 'KMS key property not supported');
      }
      if ((properties.KeySpec ?? 'SYMMETRIC_DEFAULT') !== 'SYMMETRIC_DEFAULT') throw new UnsupportedTemplateError(logicalId, 'KeySpec', 'only SYMMETRIC_DEFAULT keys are supported');
      if ((properties.KeyUsage ?? 'ENCRYPT_DECRYPT') !== 'ENCRYPT_DECRYPT') throw new UnsupportedTemplateError(logicalId, 'KeyUsage', 'only ENCRYPT_DECRYPT keys are supported');
      if (properties.MultiRegion === true) throw new UnsupportedTemplateError(logicalId, 'MultiRegion', 'multi-Region keys are not supported');
      const previous = saved[logicalId];
      const keyId = previous?.keyId ?? randomUUID();
      const key: LocalKmsKey = {
        logicalId,
        keyId,
        arn: localArn('kms', `key/${keyId}`),
        description: typeof properties.Description === 'string' ? properties.Description : '',
        material: previous ? Buffer.from(previous.material, 'base64') : randomBytes(32),
        createdAt: previous?.createdAt ?? Date.now(),
        enabled: previous?.enabled ?? properties.Enabled !== false,
      };
      this.keys.set(keyId, key);
      this.template.register(logicalId, { ref: keyId, attributes: { Arn: key.arn, KeyId: keyId } });
    }
    this.save();
  }

  /** Every key. */
  public get all(): readonly LocalKmsKey[] {
    return [...this.keys.values()];
  }

  /**
   * The key a `KeyId` parameter names: its id or ARN (aliases are not created locally).
   * @throws KmsNotFoundError
   */
  public find(keyId: string): LocalKmsKey {
    const id = keyId.startsWith('arn:') ? /:key\/(.+)$/.exec(keyId)?.[1] : keyId;
    const key = id !== undefined ? this.keys.get(id) : undefined;
    if (!key || (keyId.startsWith('arn:') && key.arn !== keyId)) throw new KmsNotFoundError(keyId);
    return key;
  }

  /** The key, if enabled. @throws KmsNotFoundError, KmsDisabledError */
  public usable(keyId: string): LocalKmsKey {
    const key = this.find(keyId);
    if (!key.enabled) throw new KmsDisabledError(key.arn);
    return key;
  }

  /** Enables or disables a key (EnableKey / DisableKey); kept across restarts. */
  public setEnabled(keyId: string, enabled: boolean): void {
    this.find(keyId).enabled = enabled;
    this.save();
  }

  private save(): void {
    const saved: Record<string, SavedKey> = {};
    for (const key of this.keys.values()) saved[key.logicalId] = { keyId: key.keyId, material: key.material.toString('base64'), createdAt: key.createdAt, enabled: key.enabled };
    writePrivateFile(this.file, JSON.stringify(saved, null, 2));
  }
}
