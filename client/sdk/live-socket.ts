import { NetworkError } from './errors.ts';
import type { WebSocketConstructor } from './options.ts';

/** What a {@link LiveSocket} reports: a parsed JSON message, or the end of the connection. */
export type SocketEvent =
  | { readonly kind: 'message'; readonly message: Record<string, unknown> }
  | { readonly kind: 'closed'; readonly code: number; readonly reason: string };

/**
 * A WebSocket as a pull-based stream of events, over the standard `WebSocket` API only (browsers
 * and Node 22+). Messages are queued until read, so none is lost between reads.
 */
export class LiveSocket {
  private readonly queue: SocketEvent[] = [];
  private waiter: ((event: SocketEvent) => void) | undefined;
  private closed = false;

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') return; // Offload only sends text frames
      let message: unknown;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message && typeof message === 'object') this.push({ kind: 'message', message: message as Record<string, unknown> });
    });
    socket.addEventListener('close', (event) => this.push({ kind: 'closed', code: event.code, reason: event.reason }));
  }

  /**
   * Opens a connection. Rejects with a {@link NetworkError} when the handshake fails or takes
   * longer than `timeoutMs` (the standard API does not expose the refusal's HTTP status), and with
   * the signal's reason when aborted.
   */
  public static open(url: string, Impl: WebSocketConstructor, options: { timeoutMs: number; signal?: AbortSignal }): Promise<LiveSocket> {
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) return reject(options.signal.reason);
      const socket = new Impl(url);
      const done = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        socket.removeEventListener('open', onOpen);
        socket.removeEventListener('close', onClose);
      };
      const fail = (error: unknown) => {
        done();
        try {
          socket.close();
        } catch {
          // not open yet
        }
        reject(error);
      };
      const onOpen = () => {
        done();
        resolve(new LiveSocket(socket));
      };
      const onClose = (event: CloseEvent) => fail(new NetworkError(`The WebSocket handshake failed (close code ${event.code}).`));
      const onAbort = () => fail(options.signal!.reason);
      const timer = setTimeout(() => fail(new NetworkError(`The WebSocket handshake took longer than ${options.timeoutMs} ms.`)), options.timeoutMs);
      socket.addEventListener('open', onOpen);
      socket.addEventListener('close', onClose);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Sends a JSON message; false when the connection is no longer open. */
  public send(message: unknown): boolean {
    if (this.socket.readyState !== 1 /* OPEN */) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /**
   * The next event; `undefined` when `timeoutMs` passes first. Rejects with the signal's reason
   * when aborted. After a `closed` event every call answers `closed` again.
   */
  public next(timeoutMs: number, signal?: AbortSignal): Promise<SocketEvent | undefined> {
    const queued = this.queue.shift();
    if (queued) {
      if (queued.kind === 'closed') this.queue.unshift(queued);
      return Promise.resolve(queued);
    }
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiter = undefined;
      };
      const onAbort = () => {
        finish();
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        finish();
        resolve(undefined);
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = (event) => {
        finish();
        resolve(event);
      };
    });
  }

  /** Closes the connection (idempotent). */
  public close(code = 1000, reason = 'done'): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.socket.close(code, reason);
    } catch {
      // already closing
    }
  }

  private push(event: SocketEvent): void {
    if (this.waiter) {
      const waiter = this.waiter;
      if (event.kind === 'closed') this.queue.push(event);
      waiter(event);
    } else this.queue.push(event);
  }
}
