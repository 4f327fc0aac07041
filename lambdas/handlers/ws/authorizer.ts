import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { clientTokenExpiry } from '../../core/client-token.ts';
import { authenticate } from '../../core/credentials.ts';
import { logger, tenantStore, tokenSigningKey } from '../runtime.ts';

const policy = (effect: 'Allow' | 'Deny', resource: string, principalId: string, context?: Record<string, string>): APIGatewayAuthorizerResult => ({
  principalId,
  policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] },
  ...(context ? { context } : {}),
});

/**
 * WebSocket `$connect` authorizer (REQUEST, identity source `?token=`). Admits a tenant API key or
 * a client token whose minting key is still active (both checked at once, uncached). The
 * connection's context carries the task scope, the key id (so revoking the key can close the
 * connection) and, for a client token, its expiry (`validUntil`, epoch ms: every message after it
 * is refused and the connection closed). Denies anything else, which closes the handshake with
 * `403`. Tokens are never logged.
 */
export const handler = async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
  const token = event.queryStringParameters?.token;
  try {
    const principal = await authenticate(tenantStore(), tokenSigningKey(), token);
    if (!principal) return policy('Deny', event.methodArn, 'anonymous');
    return policy('Allow', event.methodArn, principal.tenantId, {
      tenantId: principal.tenantId,
      ...(principal.keyId ? { keyId: principal.keyId } : {}),
      ...(principal.via === 'clientToken' ? { via: 'clientToken' } : {}),
      ...(principal.taskIds ? { taskIds: JSON.stringify(principal.taskIds) } : {}),
      ...(principal.via === 'clientToken' && token ? { validUntil: String(clientTokenExpiry(token) ?? 0) } : {}),
    });
  } catch (error) {
    logger.error('authorizer lookup failed', { error: error as Error });
    throw error;
  }
};
