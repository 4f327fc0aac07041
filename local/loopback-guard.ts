import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { sendJson } from './http-util.ts';

/**
 * Local-only protections of the local runtime's servers (the HTTP API, the WebSocket API and its
 * `@connections` endpoint, the CDN) against web pages open in the developer's browser. The AWS side
 * does none of this; it guards the developer's machine only:
 *
 * - DNS rebinding: a page on `evil.example` whose name is re-pointed at 127.0.0.1 reaches the
 *   runtime with `Host: evil.example`. Only loopback names are served.
 * - Cross-site form posts: a page on another site can send a "simple" cross-origin request (a form
 *   content type, no preflight) to a local port. State-changing requests of those content types are
 *   refused unless they come from a loopback origin. JSON requests keep the emulated API Gateway
 *   CORS semantics (a browser preflights them, and the template's CORS configuration decides).
 */

/** Content types a browser sends cross-origin without a CORS preflight (besides none at all). */
export const SIMPLE_CONTENT_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'] as const;

/** Methods that never change state, which cross-site pages may send freely. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a host name (no port; IPv6 in brackets) is a loopback name: 127.0.0.0/8, `localhost`, `[::1]`. */
export const isLoopbackHostname = (hostname: string): boolean => {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name === '[::1]') return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  return octets !== null && octets.slice(1).every((octet) => Number(octet) <= 255);
};

/**
 * Whether a `Host` header names this server by a loopback name: the host is loopback and the port,
 * when given, is the server's own.
 */
export const isLoopbackHost = (host: string | undefined, port: number): boolean => {
  if (!host) return false;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host.trim());
  if (!match) return false;
  return isLoopbackHostname(match[1]!) && (match[2] === undefined || Number(match[2]) === port);
};

/** Whether an `Origin` header is a loopback origin (`http(s)://<loopback name>[:port]`). */
export const isLoopbackOrigin = (origin: string): boolean => {
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHostname(url.hostname);
  } catch {
    return false; // `null` (sandboxed frames, file pages) and anything unparsable
  }
};

/** Whether a `Content-Type` is one a browser sends cross-origin without a preflight (or absent). */
const isSimpleContentType = (contentType: string | undefined): boolean => {
  const essence = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return essence === '' || (SIMPLE_CONTENT_TYPES as readonly string[]).includes(essence);
};

/** Why a request is refused, or undefined when it may proceed. */
export type LoopbackRefusal = { readonly status: 403; readonly message: string } | undefined;

/**
 * Checks a request (or WebSocket upgrade) to a local server listening on `port`: refuses a `Host`
 * that is not a loopback name of that port (DNS rebinding), and a state-changing request of a
 * simple content type from a non-loopback origin (`Origin`, or `Sec-Fetch-Site: cross-site`).
 *
 * @example
 * ```ts
 * const refusal = loopbackRefusal(request.method, request.headers, port);
 * if (refusal) return sendJson(response, refusal.status, { message: refusal.message });
 * ```
 */
export const loopbackRefusal = (method: string | undefined, headers: IncomingHttpHeaders, port: number): LoopbackRefusal => {
  if (!isLoopbackHost(headers.host, port)) return { status: 403, message: 'Forbidden: the local runtime answers loopback host names only (127.0.0.1, localhost, [::1]).' };
  if (SAFE_METHODS.has((method ?? 'GET').toUpperCase())) return undefined;
  const origin = headers.origin;
  const crossSite = (origin !== undefined && !isLoopbackOrigin(origin)) || String(headers['sec-fetch-site'] ?? '').toLowerCase() === 'cross-site';
  if (crossSite && isSimpleContentType(headers['content-type'])) return { status: 403, message: 'Forbidden: the local runtime refuses cross-site form posts.' };
  return undefined;
};

/**
 * Answers a request that {@link loopbackRefusal} refuses with `403` and returns true; returns false
 * (having sent nothing) when the request may proceed.
 */
export const refuseForeignRequest = (request: IncomingMessage, response: ServerResponse): boolean => {
  const refusal = loopbackRefusal(request.method, request.headers, request.socket.localPort ?? 0);
  if (!refusal) return false;
  request.resume();
  sendJson(response, refusal.status, { message: refusal.message }, { connection: 'close' });
  return true;
};

/** Like {@link refuseForeignRequest}, for a WebSocket upgrade: writes the refusal to the socket and destroys it. */
export const refuseForeignUpgrade = (request: IncomingMessage, socket: Duplex): boolean => {
  const refusal = loopbackRefusal(request.method, request.headers, request.socket.localPort ?? 0);
  if (!refusal) return false;
  const body = JSON.stringify({ message: refusal.message });
  socket.write(`HTTP/1.1 ${refusal.status} Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy();
  return true;
};
