import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { buildQueryString, HttpResponse, type HttpRequest } from '@smithy/core/protocols';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpHandlerOptions } from '@smithy/types';
import inject from 'light-my-request';
import { directExchange, type DirectRequest, type DirectResponse } from './direct-exchange.ts';

/**
 * A signed HTTP request as an AWS SDK request handler would send it: the SDK's method, path with
 * query, headers (including `host`, the signature and `content-length`) and body, unchanged.
 */
export interface TransportRequest extends DirectRequest {
  /** `host:port` of the endpoint, as in the SDK request (`127.0.0.1:4703`). */
  readonly origin: string;
}

/** The engine's answer, as its HTTP server would have written it. */
export type TransportResponse = DirectResponse;

/**
 * Injects one request into `server`'s request listeners (the ones its HTTP connections feed)
 * without a socket, and collects the whole response.
 */
export const injectRequest = async (server: Server, request: Omit<TransportRequest, 'origin'>, signal?: AbortSignal): Promise<TransportResponse> => {
  const bound = server.address() as AddressInfo | null;
  const dispatch = (req: IncomingMessage, res: ServerResponse): void => {
    // The listener sees the connection it would have had: loopback, to this server's port.
    Object.assign(req.socket, { localAddress: '127.0.0.1', localPort: bound?.port, remotePort: 0 });
    server.emit('request', req, res);
  };
  const response = await inject(dispatch, {
    method: request.method as 'POST',
    url: request.path,
    headers: request.headers,
    remoteAddress: '127.0.0.1',
    ...(request.body !== undefined ? { payload: typeof request.body === 'string' ? request.body : Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength) } : {}),
    ...(signal ? { signal } : {}),
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : String(value);
  return { statusCode: response.statusCode, statusMessage: response.statusMessage, headers, body: response.rawPayload };
};

/** How a server's request listener is fed: see {@link InProcessTransport.register}. */
export type ListenerShape = 'direct' | 'inject';

/** Messages from a function thread on its transport port. */
type PortMessage = ({ readonly type: 'request'; readonly id: number } & TransportRequest) | { readonly type: 'abort'; readonly id: number };

/** Replies to a function thread. */
export type PortReply = { readonly id: number; readonly response: TransportResponse } | { readonly id: number; readonly error: { readonly message: string; readonly code: string } };

/** Thrown when a request names an endpoint no local engine serves. */
export class UnknownLocalEndpointError extends Error {
  public constructor(public readonly origin: string) {
    super(`No local engine serves ${origin}`);
    this.name = 'UnknownLocalEndpointError';
  }
}

/**
 * In-process transport between the AWS SDK clients of the Lambda environments (worker threads) and
 * the local engines (DynamoDB, SQS and S3, EventBridge, Secrets Manager, `@connections`): the
 * signed request crosses a `MessagePort` instead of a loopback TCP connection, and is injected into
 * the engine's own HTTP request listener without a socket ({@link directExchange}), so everything the
 * engine's server does on the HTTP path (call counting, fault injection, IAM enforcement, the
 * engine itself) runs unchanged. The SDK, its signing and the wire format are the real ones; only
 * the socket and the HTTP/1.1 framing on both ends are skipped. Endpoints not registered here
 * (Bedrock's HTTP/2 stream, webhooks, anything remote) keep using real HTTP.
 */
export class InProcessTransport {
  private readonly servers = new Map<string, { readonly server: Server; readonly exchange: ListenerShape }>();

  /**
   * Serves requests for `endpoint` (`http://host:port`) with `server`'s request listeners.
   * `exchange`: `direct` for listeners using the plain Node request/response API (the cheapest,
   * see {@link directExchange}), `inject` for frameworks that need a full `ServerResponse`.
   */
  public register(endpoint: string, server: Server, exchange: ListenerShape = 'direct'): void {
    const url = new URL(endpoint);
    if (url.protocol !== 'http:') throw new RangeError(`only http: endpoints are served in process, got ${endpoint}`);
    this.servers.set(url.host, { server, exchange });
  }

  /** The `host:port` origins served in process. */
  public get origins(): string[] {
    return [...this.servers.keys()];
  }

  /** Whether `origin` (`host:port`) is served in process. */
  public serves(origin: string): boolean {
    return this.servers.has(origin);
  }

  /** Hands one request to its engine's request listener; resolves with the complete response. */
  public async dispatch(request: TransportRequest, signal?: AbortSignal): Promise<TransportResponse> {
    const target = this.servers.get(request.origin);
    if (!target) throw new UnknownLocalEndpointError(request.origin);
    return target.exchange === 'direct' ? directExchange(target.server, request, signal) : injectRequest(target.server, request, signal);
  }

  /**
   * A port for one function thread (pass it in `workerData`, listed in the transfer list); its
   * requests are dispatched here and answered on it. Closed when the environment ends.
   */
  public connect(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    const aborts = new Map<number, AbortController>();
    port1.on('message', (message: PortMessage) => {
      if (message.type === 'abort') {
        aborts.get(message.id)?.abort();
        return;
      }
      const abort = new AbortController();
      aborts.set(message.id, abort);
      this.dispatch(message, abort.signal).then(
        (response) => {
          aborts.delete(message.id);
          // The body's own copy moves to the thread (no second copy).
          const body = response.body.byteLength === response.body.buffer.byteLength ? response.body : new Uint8Array(response.body);
          port1.postMessage({ id: message.id, response: { ...response, body } } satisfies PortReply, [body.buffer as ArrayBuffer]);
        },
        (error: Error & { code?: string }) => {
          aborts.delete(message.id);
          // What a client sees when the server side of a connection fails: a reset connection.
          port1.postMessage({ id: message.id, error: { message: error.message, code: error.code ?? 'ECONNRESET' } } satisfies PortReply);
        },
      );
    });
    // The thread's end closes its side; the dispatches still running then answer nobody.
    port1.on('close', () => {
      for (const abort of aborts.values()) abort.abort();
      aborts.clear();
    });
    port1.unref();
    return port2;
  }
}

/** The SDK's `HttpHandler` contract, as far as the clients use it. */
interface SdkHttpHandler {
  handle(request: HttpRequest, options?: HttpHandlerOptions): Promise<{ response: HttpResponse }>;
  updateHttpClientConfig(key: never, value: never): void;
  httpHandlerConfigs(): object;
  destroy?(): void;
}

const abortErrorOf = (signal: AbortSignal): Error => Object.assign(new Error('Request aborted'), { name: 'AbortError', ...(signal.reason instanceof Error ? { cause: signal.reason } : {}) });

const bodyOf = async (body: unknown): Promise<string | Uint8Array | undefined> => {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof Readable || typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<string | Uint8Array>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    return Buffer.concat(chunks);
  }
  return String(body);
};

/**
 * An AWS SDK request handler for the runtime's own clients (on the main thread, such as the SQS
 * event source pollers): requests to the endpoints `transport` serves are dispatched in process;
 * any other goes to `fallback` (real HTTP). Aborts reject with the SDK's `AbortError`.
 */
export class InProcessRequestHandler implements SdkHttpHandler {
  public readonly metadata = { handlerProtocol: 'http/1.1' };

  public constructor(
    private readonly transport: InProcessTransport,
    private readonly fallback: NodeHttpHandler,
  ) {}

  public async handle(request: HttpRequest, options: HttpHandlerOptions = {}): Promise<{ response: HttpResponse }> {
    const origin = `${request.hostname}:${request.port ?? 80}`;
    if (request.protocol !== 'http:' || !this.transport.serves(origin)) return this.fallback.handle(request, options);
    const { abortSignal } = options;
    const signal = abortSignal as AbortSignal | undefined;
    if (signal?.aborted) throw abortErrorOf(signal);
    const controller = new AbortController();
    const body = await bodyOf(request.body);
    const query = request.query ? buildQueryString(request.query) : '';
    const answer = await new Promise<TransportResponse>((resolve, reject) => {
      const onAbort = () => {
        controller.abort();
        reject(abortErrorOf(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.transport
        .dispatch({ origin, method: request.method, path: `${request.path}${query ? `?${query}` : ''}`, headers: request.headers, ...(body !== undefined ? { body } : {}) }, controller.signal)
        .then(resolve, (error: Error & { code?: string }) => reject(Object.assign(error, { name: 'TimeoutError', code: error.code ?? 'ECONNRESET' })))
        .finally(() => signal?.removeEventListener('abort', onAbort));
    });
    const stream = new Readable({ read() {} });
    stream.push(Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength));
    stream.push(null);
    return { response: new HttpResponse({ statusCode: answer.statusCode, reason: answer.statusMessage, headers: answer.headers, body: stream }) };
  }

  public updateHttpClientConfig(key: never, value: never): void {
    this.fallback.updateHttpClientConfig(key, value);
  }

  public httpHandlerConfigs(): ReturnType<NodeHttpHandler['httpHandlerConfigs']> {
    return this.fallback.httpHandlerConfigs();
  }

  public destroy(): void {
    this.fallback.destroy();
  }
}
