import { randomUUID } from 'node:crypto';
import type { CallAuthorization, HttpAnswer } from '../caller.ts';

/**
 * The refusal of an AWS JSON 1.1 service (EventBridge, Secrets Manager): `400
 * AccessDeniedException` with AWS's message; `400 UnrecognizedClientException` for a key never
 * issued; `400 MissingAuthenticationTokenException` for an unsigned request.
 */
export const json11Refusal = (outcome: Exclude<CallAuthorization, { allowed: true }>): HttpAnswer => {
  const answer = (type: string, message: string): HttpAnswer => ({
    status: 400,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID() },
    body: JSON.stringify({ __type: type, message }),
  });
  if (outcome.why === 'denied') return answer('AccessDeniedException', outcome.decision.message);
  if (outcome.why === 'unrecognized') return answer('UnrecognizedClientException', 'The security token included in the request is invalid.');
  return answer('MissingAuthenticationTokenException', 'Missing Authentication Token');
};
