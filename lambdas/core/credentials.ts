import { authenticateApiKey } from './auth.ts';
import { type SigningKey, verifyClientToken } from './client-token.ts';
import type { Principal } from './model.ts';
import type { TenantStore } from './ports.ts';

/** Resolves an API key or a client token to its principal; undefined when neither is valid. */
export const authenticate = async (tenants: TenantStore, key: SigningKey, credential: string | undefined): Promise<Principal | undefined> => {
  if (!credential) return undefined;
  if (credential.startsWith('oft_')) return verifyClientToken(key, credential);
  return authenticateApiKey(tenants, credential);
};
