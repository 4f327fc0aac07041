import { wsHandler } from './ws.ts';

/** `ping`: answered through the route response with `pong`; clients use it as a keep-alive. */
export const handler = wsHandler(async () => ({ statusCode: 200, body: JSON.stringify({ type: 'pong' }) }));
