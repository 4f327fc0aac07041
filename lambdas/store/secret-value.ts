import { getSecret } from '@aws-lambda-powertools/parameters/secrets';

/** A secret's string value from AWS Secrets Manager, cached for five minutes per environment. */
export const secretValue = async (secretId: string): Promise<string> => {
  const value = await getSecret(secretId, { maxAge: 300 });
  if (typeof value !== 'string' || value === '') throw new Error(`secret ${secretId} is empty`);
  return value;
};
