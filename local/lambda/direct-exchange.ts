import { EventEmitter } from 'node:events';
import type { IncomingMessage, OutgoingHttpHeader, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { STATUS_CODES } from 'node:http';

/** A request handed to a listener without a connection. */
export interface DirectRequest {
  readonly method: string;
  /** Path and query string. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

/** The listener's complete answer. */
export interface DirectResponse {
  readonly statusCode: number;
  readonly statusMessage: string;
  /** Lower-case names; repeated values joined with `,`. */
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

/** Thrown into the caller when the listener destroys the response without answering (a reset connection on HTTP). */
export class DirectExchangeResetError extends Error {
  public readonly code = 'ECONNRESET';
  public constructor() {
    super('socket hang up');
    this.name = 'DirectExchangeResetError';
  }
}

/** The connection a listener sees: loopback, to the server's port. */
const socketOf = (localPort: number | undefined) =>
  Object.assign(new EventEmitter(), {
    remoteAddress: '127.0.0.1',
    remoteFamily: 'IPv4',
    remotePort: 0,
    localAddress: '127.0.0.1',
    localPort,
    encrypted: false,
    readable: true,
    writable: true,
    destroyed: false,
    setTimeout: () => undefined,
    setNoDelay: () => undefined,
    setKeepAlive: () => undefined,
    destroy: () => undefined,
    end: () => undefined,
    ref: () => undefined,
    unref: () => undefined,
  });

/**
 * The part of `ServerResponse` the local engines' listeners use (dynalite and the runtime's own
 * servers): status, headers, `write`/`end`, `finish`/`close` events, `destroy`. It buffers the
 * answer instead of framing it for a socket.
 */
class DirectResponseWriter extends EventEmitter {
  public statusCode = 200;
  public statusMessage = '';
  public headersSent = false;
  public writableEnded = false;
  public writableFinished = false;
  public finished = false;
  public destroyed = false;
  public sendDate = false;
  private readonly headers = new Map<string, string | number | string[]>();
  private readonly chunks: Buffer[] = [];

  public constructor(
    public readonly socket: ReturnType<typeof socketOf>,
    private readonly settle: (outcome: DirectResponse | Error) => void,
  ) {
    super();
  }

  public get connection(): ReturnType<typeof socketOf> {
    return this.socket;
  }

  public setHeader(name: string, value: string | number | readonly string[]): this {
    this.headers.set(name.toLowerCase(), Array.isArray(value) ? [...(value as string[])] : (value as string | number));
    return this;
  }

  public getHeader(name: string): string | number | string[] | undefined {
    return this.headers.get(name.toLowerCase());
  }

  public getHeaders(): OutgoingHttpHeaders {
    return Object.fromEntries(this.headers);
  }

  public getHeaderNames(): string[] {
    return [...this.headers.keys()];
  }

  public hasHeader(name: string): boolean {
    return this.headers.has(name.toLowerCase());
  }

  public removeHeader(name: string): void {
    this.headers.delete(name.toLowerCase());
  }

  public writeHead(statusCode: number, reason?: string | OutgoingHttpHeaders | OutgoingHttpHeader[], headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this {
    this.statusCode = statusCode;
    const given = typeof reason === 'string' ? headers : reason;
    if (typeof reason === 'string') this.statusMessage = reason;
    if (Array.isArray(given)) {
      for (let i = 0; i + 1 < given.length; i += 2) this.setHeader(String(given[i]), given[i + 1] as string);
    } else if (given) {
      for (const [name, value] of Object.entries(given)) if (value !== undefined) this.setHeader(name, value);
    }
    this.headersSent = true;
    return this;
  }

  public flushHeaders(): void {
    this.headersSent = true;
  }

  public write(chunk: string | Uint8Array, encoding?: BufferEncoding | (() => void), callback?: () => void): boolean {
    this.headersSent = true;
    if (chunk !== undefined && chunk !== null) this.chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : Buffer.from(chunk));
    const done = typeof encoding === 'function' ? encoding : callback;
    if (done) queueMicrotask(done);
    return true;
  }

  public end(chunk?: string | Uint8Array | (() => void), encoding?: BufferEncoding | (() => void), callback?: () => void): this {
    if (this.writableEnded) return this;
    if (typeof chunk === 'function') callback = chunk;
    else if (chunk !== undefined && chunk !== null) this.write(chunk, typeof encoding === 'string' ? encoding : undefined);
    if (typeof encoding === 'function') callback = encoding;
    this.headersSent = true;
    this.writableEnded = true;
    this.finished = true;
    const headers: Record<string, string> = {};
    for (const [name, value] of this.headers) headers[name] = Array.isArray(value) ? value.join(',') : String(value);
    const body = Buffer.concat(this.chunks);
    this.settle({ statusCode: this.statusCode, statusMessage: this.statusMessage || STATUS_CODES[this.statusCode] || '', headers, body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) });
    queueMicrotask(() => {
      this.writableFinished = true;
      this.emit('finish');
      this.emit('close');
      callback?.();
    });
    return this;
  }

  public destroy(error?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    if (!this.writableEnded) this.settle(error ?? new DirectExchangeResetError());
    queueMicrotask(() => this.emit('close'));
    return this;
  }

  // Accepted and ignored: there is no socket to tune.
  public setTimeout(): this {
    return this;
  }

  public cork(): void {}

  public uncork(): void {}
}

/**
 * Hands one request to `server`'s request listeners with a minimal request (a readable stream with
 * the method, URL, headers and a loopback socket) and response (buffered), skipping the HTTP/1.1
 * framing on both ends. For listeners that use the plain `IncomingMessage`/`ServerResponse` API
 * (dynalite and the runtime's own servers); a framework that needs more (fastify) is served
 * through light-my-request instead.
 */
export const directExchange = (server: Server, request: DirectRequest, signal?: AbortSignal): Promise<DirectResponse> =>
  new Promise((resolve, reject) => {
    const socket = socketOf((server.address() as AddressInfo | null)?.port);
    const incoming = Object.assign(new Readable({ read() {} }), {
      method: request.method,
      url: request.path,
      headers: request.headers,
      rawHeaders: Object.entries(request.headers).flat(),
      httpVersion: '1.1',
      httpVersionMajor: 1,
      httpVersionMinor: 1,
      complete: false,
      aborted: false,
      socket,
      connection: socket,
    });
    let settled = false;
    const response = new DirectResponseWriter(socket, (outcome) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    });
    const onAbort = () => {
      incoming.aborted = true;
      incoming.destroy();
      response.destroy(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    server.emit('request', incoming as unknown as IncomingMessage, response as unknown as ServerResponse);
    if (request.body !== undefined && (typeof request.body === 'string' ? request.body.length : request.body.byteLength) > 0) {
      incoming.push(typeof request.body === 'string' ? Buffer.from(request.body) : Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength));
    }
    incoming.complete = true;
    incoming.push(null);
  });
