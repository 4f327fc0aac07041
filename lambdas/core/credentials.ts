import { authenticateApiKey } from './auth.ts';
import { type SigningKey, verifyClientToken } from './client-token.ts';
import type { Principal } from './model.ts';
import type { TenantStore } from './ports.ts';

/**
 * Resolves an API key or a client token to its principal (with the key id); undefined when neither
 * is valid. A client token is valid only while the API key that minted it is active.
 */
export const authenticate = async (tenants: TenantStore, key: SigningKey, credential: string | undefined): Promise<Principal | undefined> => {
  if (!credential) return undefined;
  if (credential.startsWith('oft_')) {
    const principal = await verifyClientToken(key, credential);
    return principal?.keyId !== undefined && (await tenants.isApiKeyActive(principal.tenantId, principal.keyId)) ? principal : undefined;
  }
  return authenticateApiKey(tenants, credential);
};
