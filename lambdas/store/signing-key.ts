import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { SigningKey } from '../core/client-token.ts';

/**
 * The client-token signing key from AWS Secrets Manager, cached in the execution environment for
 * five minutes (Powertools Parameters), so rotation takes effect without a deploy.
 */
export const secretsManagerKey = (secretId: string): SigningKey => async () => {
  const value = await getSecret(secretId, { maxAge: 300 });
  if (typeof value !== 'string' || value.length < 32) throw new Error('client token signing key is missing or too short');
  return value;
};
