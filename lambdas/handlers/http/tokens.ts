import { mintClientToken } from '../../core/client-token.ts';
import { tokenSigningKey } from '../runtime.ts';
import { json, jsonBody, principalOf } from './http.ts';
import { httpHandler } from './wrap.ts';

/**
 * `POST /v1/tokens {taskIds?, ttlSeconds?}`: a short-lived client token for browsers, minted by an
 * API key only (a client token gets `403`), and bound to that key.
 */
export const handler = httpHandler(async (event) => {
  const principal = principalOf(event);
  const body = event.body ? jsonBody(event) : {};
  return json(201, await mintClientToken(tokenSigningKey(), principal, body), { 'cache-control': 'no-store' });
});
