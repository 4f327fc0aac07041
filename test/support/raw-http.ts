import { connect } from 'node:net';

/** A header as sent on the wire: its value is written byte for byte (a string as latin1). */
export type RawHeader = readonly [name: string, value: string | Buffer];

/** A request serialized by hand, so that it can carry what `fetch` refuses to send. */
export interface RawRequest {
  readonly method: string;
  /** The request target exactly as written on the request line (no normalization). */
  readonly path: string;
  readonly headers?: readonly RawHeader[];
  readonly body?: string | Buffer;
  /** Adds `Content-Length` for the body unless a header already sets it. @default true */
  readonly contentLength?: boolean;
}

/** What came back on the socket. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly text: string;
}

/** Serializes a request: request line, `Host`, `Connection: close`, the headers, then the body. */
export const serializeRequest = (host: string, request: RawRequest): Buffer => {
  const body = request.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, 'utf8');
  const headers = request.headers ?? [];
  const has = (name: string) => headers.some(([candidate]) => candidate.toLowerCase() === name);
  const lines: Buffer[] = [Buffer.from(`${request.method} ${request.path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n`, 'latin1')];
  for (const [name, value] of headers) lines.push(Buffer.from(`${name}: `, 'latin1'), Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1'), Buffer.from('\r\n'));
  if (request.body !== undefined && request.contentLength !== false && !has('content-length') && !has('transfer-encoding')) {
    lines.push(Buffer.from(`Content-Length: ${body.length}\r\n`, 'latin1'));
  }
  lines.push(Buffer.from('\r\n'), body);
  return Buffer.concat(lines);
};

const decodeChunked = (data: Buffer): Buffer => {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const end = data.indexOf('\r\n', offset);
    if (end < 0) break;
    const size = Number.parseInt(data.subarray(offset, end).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(end + 2, end + 2 + size));
    offset = end + 2 + size + 2;
  }
  return Buffer.concat(parts);
};

/** Parses one HTTP/1.1 response (the server closes the connection after it). */
export const parseResponse = (data: Buffer): RawResponse | undefined => {
  const split = data.indexOf('\r\n\r\n');
  if (split < 0) return undefined;
  const [statusLine, ...headerLines] = data.subarray(0, split).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = data.subarray(split + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = decodeChunked(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status: Number(match[1]), headers, body, text: body.toString('utf8') };
};

/**
 * Sends a request over a fresh TCP connection and resolves with the parsed response, or with
 * `undefined` when the server closed the connection without answering. A server that answers
 * before it has read the whole body (and then resets the connection) still counts as answering.
 */
export const rawRequest = (endpoint: string, request: RawRequest, timeoutMs = 60_000): Promise<RawResponse | undefined> => {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseResponse(Buffer.concat(chunks)));
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${request.method} ${request.path.slice(0, 80)}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', finish);
    socket.on('close', finish);
    // EPIPE / ECONNRESET after an early answer: the answer already read is what counts.
    socket.on('error', () => undefined);
    // Never half-close: Node's HTTP server aborts a request whose client ended its side.
    socket.on('connect', () => socket.write(serializeRequest(url.host, request)));
  });
};
