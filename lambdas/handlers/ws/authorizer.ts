import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { authenticate } from '../../core/credentials.ts';
import { logger, tenantStore, tokenSigningKey } from '../runtime.ts';

const policy = (effect: 'Allow' | 'Deny', resource: string, principalId: string, context?: Record<string, string>): APIGatewayAuthorizerResult => ({
  principalId,
  policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] },
  ...(context ? { context } : {}),
});

/**
 * WebSocket `$connect` authorizer (REQUEST, identity source `?token=`). Admits a tenant API key or
 * a client token (its task scope travels in the connection's context);
 * denies anything else, which closes the handshake with `403`. Tokens are never logged.
 */
export const handler = async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
  const token = event.queryStringParameters?.token;
  try {
    const principal = await authenticate(tenantStore(), tokenSigningKey(), token);
    if (!principal) return policy('Deny', event.methodArn, 'anonymous');
    return policy('Allow', event.methodArn, principal.tenantId, {
      tenantId: principal.tenantId,
      ...(principal.taskIds ? { taskIds: JSON.stringify(principal.taskIds) } : {}),
    });
  } catch (error) {
    logger.error('authorizer lookup failed', { error: error as Error });
    throw error;
  }
};
