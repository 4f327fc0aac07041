import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KmsInvalidCiphertextError } from './errors.ts';

/** Layout of a local ciphertext blob (opaque to callers, as AWS's is). */
export const CIPHERTEXT_LAYOUT = { version: 1, ivBytes: 12, tagBytes: 16 } as const;

/**
 * The encryption context as authenticated data: its pairs sorted by key, so the same context in
 * any order authenticates, and any other context (a changed, added or missing pair) does not.
 */
export const contextAad = (context: Readonly<Record<string, string>> = {}): Buffer =>
  Buffer.from(JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), 'utf8');

/**
 * Encrypts under one key's material with AES-256-GCM, the encryption context bound as AAD. The blob
 * is `version | key id length | key id | IV | tag | ciphertext`: it names its key, so Decrypt needs
 * no KeyId (and the key id, version and IV are authenticated too).
 */
export const seal = (keyId: string, material: Buffer, plaintext: Buffer, context?: Readonly<Record<string, string>>): Buffer => {
  const id = Buffer.from(keyId, 'utf8');
  const header = Buffer.concat([Buffer.from([CIPHERTEXT_LAYOUT.version, id.length]), id]);
  const iv = randomBytes(CIPHERTEXT_LAYOUT.ivBytes);
  const cipher = createCipheriv('aes-256-gcm', material, iv);
  cipher.setAAD(Buffer.concat([header, iv, contextAad(context)]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, iv, cipher.getAuthTag(), body]);
};

/** The id of the key a blob was made with. @throws KmsInvalidCiphertextError for a blob this runtime did not make */
export const keyIdOf = (blob: Buffer): string => {
  const length = blob[1] ?? 0;
  if (blob[0] !== CIPHERTEXT_LAYOUT.version || length === 0 || blob.length < 2 + length + CIPHERTEXT_LAYOUT.ivBytes + CIPHERTEXT_LAYOUT.tagBytes) throw new KmsInvalidCiphertextError();
  return blob.subarray(2, 2 + length).toString('utf8');
};

/** Decrypts a blob with its key's material. @throws KmsInvalidCiphertextError when it was altered or the context differs */
export const open = (blob: Buffer, material: Buffer, context?: Readonly<Record<string, string>>): Buffer => {
  keyIdOf(blob);
  const headerLength = 2 + blob[1]!;
  const header = blob.subarray(0, headerLength);
  const iv = blob.subarray(headerLength, headerLength + CIPHERTEXT_LAYOUT.ivBytes);
  const tag = blob.subarray(headerLength + CIPHERTEXT_LAYOUT.ivBytes, headerLength + CIPHERTEXT_LAYOUT.ivBytes + CIPHERTEXT_LAYOUT.tagBytes);
  try {
    const decipher = createDecipheriv('aes-256-gcm', material, iv);
    decipher.setAAD(Buffer.concat([header, iv, contextAad(context)]));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(blob.subarray(headerLength + CIPHERTEXT_LAYOUT.ivBytes + CIPHERTEXT_LAYOUT.tagBytes)), decipher.final()]);
  } catch (error) {
    throw new KmsInvalidCiphertextError({ cause: error });
  }
};
