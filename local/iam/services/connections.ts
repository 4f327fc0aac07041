import { randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../template.ts';
import type { CallAuthorization, HttpAnswer, RequiredPermission } from '../caller.ts';

/**
 * The permission an API Gateway management API call needs: `execute-api:ManageConnections` on
 * `arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/@connections/<connectionId>`.
 */
export const connectionsPermissions = (apiId: string, stage: string, method: string, connectionId: string): RequiredPermission[] => [
  { action: 'execute-api:ManageConnections', resource: `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${apiId}/${stage}/${method.toUpperCase()}/@connections/${connectionId}` },
];

/**
 * API Gateway's refusal (REST-JSON): `403 ForbiddenException` with the message naming session,
 * action and resource; `403 UnrecognizedClientException` for a key never issued; `403
 * MissingAuthenticationTokenException` ("Missing Authentication Token") unsigned.
 */
export const connectionsRefusal = (outcome: Exclude<CallAuthorization, { allowed: true }>): HttpAnswer => {
  const answer = (type: string, message: string): HttpAnswer => ({
    status: 403,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID() },
    body: JSON.stringify({ message }),
  });
  if (outcome.why === 'denied') return answer('ForbiddenException', outcome.decision.message);
  if (outcome.why === 'unrecognized') return answer('UnrecognizedClientException', 'The security token included in the request is invalid.');
  return answer('MissingAuthenticationTokenException', 'Missing Authentication Token');
};
