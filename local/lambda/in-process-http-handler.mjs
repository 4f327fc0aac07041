// Runs inside a worker thread (a Lambda execution environment), installed by bootstrap.mjs.
// Requests the AWS SDK's Node.js handler (@smithy/node-http-handler, the one the emulated Lambda
// runtime provides) sends to a local engine's endpoint are handed to the runtime over a
// MessagePort (see in-process-transport.ts) instead of a loopback TCP connection: the SDK builds,
// signs and parses them exactly as on the HTTP path. Any other endpoint keeps real HTTP.
import { Readable } from 'node:stream';

/** What the handler's `TimeoutError` looks like for a reset connection (the SDK retries it). */
const TRANSIENT_CODES = ['ECONNRESET', 'EPIPE', 'ETIMEDOUT'];

/** The error @smithy/node-http-handler rejects with when the caller aborts. */
const abortErrorOf = (signal) => {
  const reason = signal && typeof signal === 'object' && 'reason' in signal ? signal.reason : undefined;
  if (reason && !(reason instanceof Error)) return Object.assign(new Error(String(reason)), { name: 'AbortError' });
  return Object.assign(new Error('Request aborted'), { name: 'AbortError', ...(reason ? { cause: reason } : {}) });
};

const collect = async (body) => {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return new Uint8Array(body); // an exact copy, transferred below
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  if (body instanceof ArrayBuffer) return new Uint8Array(body.slice(0));
  if (typeof body[Symbol.asyncIterator] === 'function') {
    const chunks = [];
    for await (const chunk of body) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return new Uint8Array(Buffer.concat(chunks));
  }
  return String(body);
};

/**
 * Routes `NodeHttpHandler` requests for `origins` (`host:port`) through `port`.
 * @param {{ port: import('node:worker_threads').MessagePort, origins: string[], NodeHttpHandler: any, HttpResponse: any, buildQueryString: (query: object) => string }} options
 */
export const installInProcessTransport = ({ port, origins, NodeHttpHandler, HttpResponse, buildQueryString }) => {
  const local = new Set(origins);
  const pending = new Map();
  let nextId = 0;
  port.on('message', (reply) => {
    const settle = pending.get(reply.id);
    if (!settle) return;
    pending.delete(reply.id);
    if (pending.size === 0) port.unref();
    settle(reply);
  });
  port.unref();

  const send = (request, { abortSignal, requestTimeout } = {}, config) =>
    new Promise((resolve, reject) => {
      if (abortSignal?.aborted) {
        reject(abortErrorOf(abortSignal));
        return;
      }
      const id = ++nextId;
      const timers = [];
      let done = false;
      const finish = (outcome) => {
        if (done) return false;
        done = true;
        pending.delete(id);
        for (const timer of timers) clearTimeout(timer);
        abortSignal?.removeEventListener?.('abort', onAbort);
        outcome();
        return true;
      };
      const cancel = (error) => {
        if (finish(() => reject(error))) port.postMessage({ type: 'abort', id });
      };
      const onAbort = () => cancel(abortErrorOf(abortSignal));
      if (typeof abortSignal?.addEventListener === 'function') abortSignal.addEventListener('abort', onAbort, { once: true });
      else if (abortSignal) abortSignal.onabort = onAbort;
      // Request timeout (an error only with throwOnRequestTimeout, a warning otherwise), as the HTTP handler.
      const timeoutMs = requestTimeout ?? config.requestTimeout;
      if (timeoutMs) {
        timers.push(
          setTimeout(() => {
            const message = `@smithy/node-http-handler - [${config.throwOnRequestTimeout ? 'ERROR' : 'WARN'}] a request has exceeded the configured ${timeoutMs} ms requestTimeout.`;
            if (config.throwOnRequestTimeout) cancel(Object.assign(new Error(message), { name: 'TimeoutError', code: 'ETIMEDOUT' }));
            else (config.logger ?? console)?.warn?.(`${message} Init client requestHandler with throwOnRequestTimeout=true to turn this into an error.`);
          }, timeoutMs),
        );
      }
      // Socket inactivity timeout: here, the time until the whole answer arrives.
      const socketTimeoutMs = config.socketTimeout ?? config.defaultSocketTimeout;
      if (Number.isFinite(socketTimeoutMs) && socketTimeoutMs > 0) {
        timers.push(
          setTimeout(
            () =>
              cancel(
                Object.assign(
                  new Error(`@smithy/node-http-handler - the request socket timed out after ${socketTimeoutMs} ms of inactivity (${config.socketTimeout === undefined ? 'service default socket timeout' : 'configured by client requestHandler'}).`),
                  { name: 'TimeoutError' },
                ),
              ),
            socketTimeoutMs,
          ),
        );
      }
      pending.set(id, (reply) =>
        finish(() => {
          if (reply.error) {
            const error = Object.assign(new Error(reply.error.message), { code: reply.error.code });
            reject(TRANSIENT_CODES.includes(reply.error.code) ? Object.assign(error, { name: 'TimeoutError' }) : error);
            return;
          }
          const { statusCode, statusMessage, headers, body } = reply.response;
          const stream = new Readable({ read() {} });
          stream.push(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
          stream.push(null);
          resolve({ response: new HttpResponse({ statusCode, reason: statusMessage, headers, body: stream }) });
        }),
      );
      port.ref();
      collect(request.body).then(
        (body) => {
          if (done) return;
          const query = request.query ? buildQueryString(request.query) : '';
          const message = {
            type: 'request',
            id,
            origin: `${request.hostname}:${request.port}`,
            method: request.method,
            path: `${request.path}${query ? `?${query}` : ''}`,
            headers: request.headers,
            ...(body !== undefined ? { body } : {}),
          };
          port.postMessage(message, body instanceof Uint8Array ? [body.buffer] : []);
        },
        (error) => cancel(error),
      );
    });

  const httpHandle = NodeHttpHandler.prototype.handle;
  NodeHttpHandler.prototype.handle = async function handle(request, options) {
    const port = request.port ?? (request.protocol === 'https:' ? 443 : 80);
    if (request.protocol !== 'http:' || !local.has(`${request.hostname}:${port}`)) return httpHandle.call(this, request, options);
    if (!this.config) this.config = await this.configProvider;
    return send({ ...request, port }, options, this.config);
  };
};
