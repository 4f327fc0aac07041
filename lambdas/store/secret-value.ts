import { getSecret } from '@aws-lambda-powertools/parameters/secrets';

/** A secret's string value from AWS Secrets Manager, cached per environment for `maxAgeSeconds` (default five minutes). */
export const secretValue = async (secretId: string, maxAgeSeconds = 300): Promise<string> => {
  const value = await getSecret(secretId, { maxAge: maxAgeSeconds });
  if (typeof value !== 'string' || value === '') throw new Error(`secret ${secretId} is empty`);
  return value;
};
