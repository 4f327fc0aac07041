import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Reads a request body, failing past `limit` bytes. The rest of an oversized body is still read
 * and discarded (up to a bound), so that the caller's error response reaches the client instead of
 * a connection reset; a client that keeps sending far beyond the limit is cut off.
 */
export const readBody = (request: IncomingMessage, limit: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit + 64 * 1024 * 1024) request.destroy();
      if (size > limit && !failed) {
        failed = true;
        chunks.length = 0;
        reject(Object.assign(new Error('body too large'), { code: 'BODY_TOO_LARGE' }));
      }
      if (!failed) chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });

/** Writes a JSON response. */
export const sendJson = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
};

/** Listens on loopback and returns the bound port. */
export const listen = (server: Server, port = 0): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });

/** Closes a server, dropping keep-alive connections. */
export const close = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** Counts of AWS API calls by service and operation, for the cost model and benchmarks. */
export class ApiCallCounter {
  public readonly counts = new Map<string, number>();
  public add(service: string, operation: string, n = 1): void {
    const key = `${service}:${operation}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
  public snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
