import { secretValue } from './secret-value.ts';
import type { SigningKey } from '../core/client-token.ts';

/** How long an execution environment keeps the signing secret: `TOKEN_KEY_CACHE_SECONDS` (0-300), default 300. */
const cacheSeconds = (): number => {
  const seconds = Number(process.env.TOKEN_KEY_CACHE_SECONDS ?? 300);
  return Number.isFinite(seconds) && seconds >= 0 && seconds <= 300 ? seconds : 300;
};

/**
 * The client-token signing secret from AWS Secrets Manager (a plain key, or a key ring
 * `{current:{kid,key}, previous?:{kid,key}}`: see `parseSigningSecret`), cached in the execution
 * environment for five minutes (Powertools Parameters), so a rotation takes effect without a deploy.
 */
export const secretsManagerKey = (secretId: string): SigningKey => async () => secretValue(secretId, cacheSeconds());
