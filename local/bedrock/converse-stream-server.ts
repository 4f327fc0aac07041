import { randomUUID } from 'node:crypto';
import { createServer, type Http2ServerRequest, type Http2ServerResponse, type Http2Server, type Http2Session, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { encodeEvent } from './event-stream.ts';

/** The JSON body of a ConverseStream request (the fields the local endpoint reads). */
export interface ConverseStreamBody {
  readonly messages?: readonly { readonly role?: string; readonly content?: readonly { readonly text?: string }[] }[];
  readonly inferenceConfig?: { readonly maxTokens?: number };
  readonly [field: string]: unknown;
}

/** One ConverseStream call (`POST /model/{modelId}/converse-stream`). */
export interface ConverseStreamCall {
  /** The model id or inference profile of the path, decoded. */
  readonly modelId: string;
  /** The decoded request path. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: ConverseStreamBody;
}

/** One ConverseStream event: its `:event-type` and JSON payload. */
export type ConverseStreamEvent = readonly [eventType: string, payload: unknown];

/** What a {@link ConverseStreamHandler} answers: an error in Bedrock's REST JSON shape, or a stream of events. */
export type ConverseStreamAnswer =
  | { readonly kind: 'error'; readonly status: number; readonly errorType: string; readonly message: string }
  | { readonly kind: 'stream'; readonly events: Iterable<ConverseStreamEvent> | AsyncIterable<ConverseStreamEvent> };

/** Answers one ConverseStream call. */
export type ConverseStreamHandler = (call: ConverseStreamCall) => ConverseStreamAnswer | Promise<ConverseStreamAnswer>;

const CONVERSE_STREAM_PATH = /^\/model\/([^/]+)\/converse-stream$/;

/**
 * A cleartext HTTP/2 server speaking Bedrock Runtime's ConverseStream wire format: errors as
 * `x-amzn-errortype` + JSON `message`, events as AWS event-stream messages
 * (`application/vnd.amazon.eventstream`). The Bedrock runtime client streams over HTTP/2 (TLS on
 * AWS), so an HTTP/1.1 server would not do. What to answer is the handler's business.
 *
 * @example
 * ```ts
 * const server = new ConverseStreamServer(() => ({ kind: 'stream', events: [['messageStop', { stopReason: 'end_turn' }]] }));
 * process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = await server.start();
 * ```
 */
export class ConverseStreamServer {
  private readonly server: Http2Server;
  private readonly sessions = new Set<Http2Session>();
  private url = '';

  public constructor(private readonly handler: ConverseStreamHandler) {
    this.server = createServer((request, response) => void this.serve(request, response));
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
    });
  }

  /** `http://127.0.0.1:<port>` once started. */
  public get endpoint(): string {
    return this.url;
  }

  /** Listens on `port` (0: a free one) of loopback and resolves with the endpoint. */
  public async start(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  /** Stops listening and ends open sessions. */
  public async stop(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions) session.destroy();
    await closed;
  }

  private async serve(request: Http2ServerRequest, response: Http2ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const fail = (status: number, errorType: string, message: string) => {
      if (response.headersSent) return void response.stream.destroy();
      response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': errorType, 'x-amzn-requestid': requestId }).end(JSON.stringify({ message }));
    };
    try {
      let raw = '';
      for await (const chunk of request) raw += String(chunk);
      const path = decodeURIComponent(new URL(request.url ?? '/', 'http://local').pathname);
      const match = CONVERSE_STREAM_PATH.exec(path);
      if (request.method !== 'POST' || !match) return fail(404, 'UnknownOperationException', `No operation at ${request.method} ${path}`);
      let body: ConverseStreamBody;
      try {
        body = JSON.parse(raw || '{}') as ConverseStreamBody;
      } catch {
        return fail(400, 'ValidationException', 'The request body is not valid JSON.');
      }
      const answer = await this.handler({ modelId: match[1]!, path, headers: request.headers, body });
      if (answer.kind === 'error') return fail(answer.status, answer.errorType, answer.message);
      response.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': requestId });
      for await (const [eventType, payload] of answer.events) {
        if (response.stream.destroyed) return;
        response.write(encodeEvent(eventType, payload));
      }
      response.end();
    } catch (error) {
      fail(500, 'InternalServerException', error instanceof Error ? error.message : String(error));
    }
  }
}
