import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';

/**
 * Reads a request's body and returns it with a stand-in request that replays it (same method,
 * URL and headers), for an engine that reads the request stream itself after a gate looked at it.
 */
export const replayableRequest = async (request: IncomingMessage): Promise<{ body: Buffer; replay: IncomingMessage }> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const replay = Object.assign(new PassThrough(), {
    method: request.method,
    url: request.url,
    headers: request.headers,
    rawHeaders: request.rawHeaders,
    httpVersion: request.httpVersion,
    socket: request.socket,
    connection: request.socket,
  }) as unknown as IncomingMessage;
  // Let the engine attach its listeners first, then replay.
  setImmediate(() => (replay as unknown as PassThrough).end(body));
  return { body, replay };
};
