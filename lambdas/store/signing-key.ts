import { secretValue } from './secret-value.ts';
import type { SigningKey } from '../core/client-token.ts';

/**
 * The client-token signing key from AWS Secrets Manager, cached in the execution environment for
 * five minutes (Powertools Parameters), so rotation takes effect without a deploy.
 */
export const secretsManagerKey = (secretId: string): SigningKey => async () => {
  const value = await secretValue(secretId);
  if (value.length < 32) throw new Error('client token signing key is too short');
  return value;
};
