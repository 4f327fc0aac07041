import { connectionStore } from '../runtime.ts';
import { credentialOfConnection, principalOfConnection, wsHandler } from './ws.ts';

/**
 * `$connect` (after the authorizer admitted it): remember the connection, its tenant, and its
 * credential's key id and expiry (so that revoking the key finds and closes the connection).
 */
export const handler = wsHandler(async (event) => {
  const principal = principalOfConnection(event);
  const { keyId, validUntil } = credentialOfConnection(event);
  await connectionStore().putConnection({
    connectionId: event.requestContext.connectionId,
    tenantId: principal.tenantId,
    ...(principal.taskIds ? { taskIds: principal.taskIds } : {}),
    ...(keyId ? { keyId } : {}),
    ...(validUntil !== undefined ? { credentialExpiresAt: validUntil } : {}),
    connectedAt: new Date().toISOString(),
  });
  return { statusCode: 200 };
});
