import { fullJitter, sleep } from './backoff.ts';
import { ConnectionLostError, errorFromProblem, NetworkError, RateLimitedError, ServerError } from './errors.ts';
import { LiveSocket, type SocketEvent } from './live-socket.ts';
import type { ResolvedOptions } from './options.ts';
import { isTerminalStatus, type ClientToken, type EventsPage, type TaskError, type TaskFields, type TerminalStatus } from './types.ts';

/** A progress entry, yielded once per `seq`, in order. */
export interface WatchProgress<P> {
  readonly kind: 'progress';
  readonly taskId: string;
  readonly seq: number;
  readonly data: P;
}

/**
 * Continuity was lost: the entries with `after < seq < before` are no longer in the task's log (the
 * events endpoint answered without them) and will not be yielded. A read that merely fails is
 * never reported as a gap: the watch reconnects and resumes after the last entry it yielded, or
 * throws `ConnectionLostError` once its reconnect attempts run out. The terminal status still
 * follows a gap, and `result` holds the complete outcome.
 */
export interface WatchGap {
  readonly kind: 'gap';
  readonly taskId: string;
  readonly after: number;
  readonly before: number;
  readonly cause?: unknown;
}

/** The terminal status; always the last event of a watch. */
export interface WatchStatus<R> {
  readonly kind: 'status';
  readonly taskId: string;
  readonly status: TerminalStatus;
  readonly result?: R;
  readonly error?: TaskError;
}

/** What `watch` yields: progress entries (and, if continuity was lost, a gap), then the terminal status. */
export type WatchEvent<P = unknown, R = unknown> = WatchProgress<P> | WatchGap | WatchStatus<R>;

/** Connection lifecycle, reported through {@link WatchCallOptions.onConnection} (never yielded). */
export type ConnectionEvent =
  | { readonly type: 'subscribed'; readonly after: number; readonly connection: number }
  | { readonly type: 'disconnected'; readonly code?: number; readonly reason: string; readonly connection: number }
  | { readonly type: 'reconnecting'; readonly attempt: number; readonly delayMs: number; readonly after: number };

/** Options of one `watch` call. */
export interface WatchCallOptions {
  /** Yield entries with `seq > after` only (resume point). @default 0 */
  readonly after?: number;
  /** Ends the watch: the iterator rejects with the signal's reason and the connection closes. */
  readonly signal?: AbortSignal;
  /** Observes connects, drops and reconnects (for logs or a UI indicator). */
  readonly onConnection?: (event: ConnectionEvent) => void;
}

/** What `watch` needs from the HTTP side of the client. */
export interface WatchBackend {
  events(taskId: string, query: { after: number; limit: number }, signal?: AbortSignal): Promise<EventsPage>;
  get(taskId: string, signal?: AbortSignal): Promise<TaskFields & { result?: unknown }>;
  /** Mints a client token (`POST /v1/tokens`) scoped to `taskId`, with the client's API key. */
  mintToken(taskId: string, ttlSeconds: number, signal?: AbortSignal): Promise<ClientToken>;
}

/**
 * The token a watch connects with when the client holds an API key: an API key is never put in a
 * WebSocket URL (URLs end up in proxy and server logs), so a short client token scoped to the
 * watched task is minted and put there instead, and minted again once it is close to expiring.
 */
export const WATCH_TOKEN = {
  /** API keys start with this; client tokens (`oft_`) are used as they are. */
  apiKeyPrefix: 'ofk_',
  ttlSeconds: 300,
  /** A minted token with less than this left is not used for a new connection. */
  renewBeforeMs: 60_000,
} as const;

/** Why a connection ended before the task did; each is followed by a reconnect. */
class Interrupted extends Error {
  public constructor(reason: string, options?: { cause?: unknown; code?: number }) {
    super(reason, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = options?.code;
  }
  public readonly code: number | undefined;
}

/**
 * Watches one task over the WebSocket API. See `OffloadClient.watch` for the contract: progress
 * entries exactly once and in order, then the terminal status, across any number of drops.
 */
export async function* watchTask<P, R>(options: ResolvedOptions, backend: WatchBackend, taskId: string, call: WatchCallOptions = {}): AsyncGenerator<WatchEvent<P, R>, void, undefined> {
  const { watch } = options;
  const { signal, onConnection } = call;
  if (!options.webSocketUrl) throw new TypeError('watch needs the webSocketUrl client option.');
  if (!options.WebSocket) throw new TypeError('No WebSocket implementation: pass the WebSocket client option.');
  let last = call.after ?? 0;
  if (!(Number.isInteger(last) && last >= 0)) throw new TypeError('after must be a non-negative integer.');
  let minted: { token: string; expiresAt: number; key: string } | undefined; // see WATCH_TOKEN
  let failures = 0; // consecutive connections that ended without a confirmed subscription
  let stalls = 0; // consecutive failed fills with no entry yielded in between
  let connections = 0;

  /**
   * Entries `last < seq < before` from the events endpoint. A failed read never skips entries: it
   * ends this connection like a drop, and the next subscription resumes after `last` (the server
   * replays from there). A gap is reported only when the log itself no longer holds the entries.
   */
  async function* fill(before: number): AsyncGenerator<WatchEvent<P, R>> {
    try {
      while (last < before - 1) {
        const page = await backend.events(taskId, { after: last, limit: Math.min(watch.fillPageSize, before - 1 - last) }, signal);
        const start = last;
        for (const entry of page.items) {
          if (entry.seq <= last || entry.seq >= before) continue;
          if (entry.seq !== last + 1) {
            // The log no longer holds last+1..seq-1 (pages start right after `last`): report just
            // those, and go on with the entries it still holds.
            yield { kind: 'gap', taskId, after: last, before: entry.seq };
          }
          last = entry.seq;
          stalls = 0;
          yield { kind: 'progress', taskId, seq: entry.seq, data: entry.data as P };
        }
        if (last === start) break;
      }
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof NetworkError || error instanceof ServerError) {
        stalls++;
        throw new Interrupted('reading missed entries failed', { cause: error });
      }
      throw error;
    }
    if (last < before - 1) {
      yield { kind: 'gap', taskId, after: last, before };
      last = before - 1;
    }
  }

  /** One entry off the socket: a duplicate is dropped, a hole before it is filled first. */
  async function* accept(seq: number, data: unknown): AsyncGenerator<WatchEvent<P, R>> {
    if (seq <= last) return; // a duplicate (replayed after a reconnect or a resubscription)
    if (seq > last + 1) yield* fill(seq);
    last = seq;
    stalls = 0;
    yield { kind: 'progress', taskId, seq, data: data as P };
  }

  /** The terminal status, reading the task when the message left its result out (too large for one frame). */
  const terminal = async (message: Record<string, unknown>): Promise<WatchStatus<R>> => {
    let source: { status?: unknown; result?: unknown; error?: unknown } = message;
    if (message.resultOmitted) source = await backend.get(taskId, signal);
    return {
      kind: 'status',
      taskId,
      status: source.status as TerminalStatus,
      ...(source.result !== undefined ? { result: source.result as R } : {}),
      ...(source.error !== undefined ? { error: source.error as TaskError } : {}),
    };
  };

  /** Finishes over HTTP alone: used when the task is terminal but the WebSocket cannot be reached. */
  async function* finishOverHttp(task: TaskFields & { result?: unknown }): AsyncGenerator<WatchEvent<P, R>> {
    yield* fill(task.progress.seq + 1);
    yield { kind: 'status', taskId, status: task.status as TerminalStatus, ...(task.result !== undefined ? { result: task.result as R } : {}), ...(task.error ? { error: task.error } : {}) };
  }

  /**
   * The credential for the WebSocket URL: a client token as it is, or for an API key a client token
   * minted for this task (reused while it has more than `renewBeforeMs` left). A mint that fails
   * transiently counts as a dropped connection; a refused one (401, 403) is thrown.
   */
  const connectionToken = async (): Promise<string> => {
    const credential = await options.credential();
    if (!credential.startsWith(WATCH_TOKEN.apiKeyPrefix)) return credential;
    if (minted && minted.key === credential && minted.expiresAt - Date.now() > WATCH_TOKEN.renewBeforeMs) return minted.token;
    try {
      const { token, expiresAt } = await backend.mintToken(taskId, WATCH_TOKEN.ttlSeconds, signal);
      minted = { token, expiresAt: Date.parse(expiresAt), key: credential };
      return token;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof NetworkError || error instanceof ServerError || error instanceof RateLimitedError) throw new Interrupted('minting a connection token failed', { cause: error });
      throw error;
    }
  };

  for (;;) {
    signal?.throwIfAborted();
    let socket: LiveSocket | undefined;
    let interruption: Interrupted;
    try {
      const token = await connectionToken();
      const url = `${options.webSocketUrl}?token=${encodeURIComponent(token)}`;
      try {
        socket = await LiveSocket.open(url, options.WebSocket, { timeoutMs: watch.connectTimeoutMs, ...(signal ? { signal } : {}) });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        // The standard WebSocket API hides the refusal's status: ask the HTTP API whether the
        // credential and task are good (throws 401/404), and finish over HTTP if the task is done.
        let task: TaskFields & { result?: unknown };
        try {
          task = await backend.get(taskId, signal);
        } catch (probeError) {
          // Unreachable as well: a transient outage, retried like any dropped connection.
          if (probeError instanceof NetworkError || probeError instanceof ServerError) throw new Interrupted('handshake failed', { cause: error });
          throw probeError;
        }
        if (isTerminalStatus(task.status)) {
          yield* finishOverHttp(task);
          return;
        }
        throw new Interrupted('handshake failed', { cause: error });
      }
      const connection = ++connections;
      socket.send({ action: 'subscribe', taskId, after: last });
      let subscribed = false;
      let confirmed = false; // reported through onConnection once per connection
      let pingSentAt: number | undefined;
      let lastPingAt = Date.now();
      for (;;) {
        const now = Date.now();
        const wait = !subscribed
          ? watch.connectTimeoutMs
          : pingSentAt !== undefined
            ? Math.max(0, pingSentAt + watch.pongTimeoutMs - now)
            : Math.max(0, lastPingAt + watch.pingIntervalMs - now);
        const event: SocketEvent | undefined = await socket.next(wait, signal);
        if (event === undefined) {
          if (!subscribed) throw new Interrupted('the subscription was not confirmed in time');
          if (pingSentAt !== undefined) throw new Interrupted('no answer to ping');
          pingSentAt = lastPingAt = Date.now();
          if (!socket.send({ action: 'ping' })) throw new Interrupted('connection closed');
          continue;
        }
        if (event.kind === 'closed') throw new Interrupted(event.reason || 'connection closed', { code: event.code });
        pingSentAt = undefined; // any message proves the connection alive
        const message = event.message;
        if (message.type === 'subscribed' && message.taskId === taskId) {
          subscribed = true;
          failures = 0;
          if (!confirmed) onConnection?.({ type: 'subscribed', after: last, connection });
          confirmed = true;
        } else if (message.type === 'progress' && message.taskId === taskId && typeof message.seq === 'number') {
          yield* accept(message.seq, message.data);
        } else if (message.type === 'progressBatch' && message.taskId === taskId && Array.isArray(message.entries)) {
          for (const entry of message.entries as unknown[]) {
            const { seq, data } = (entry ?? {}) as { seq?: unknown; data?: unknown };
            if (typeof seq === 'number') yield* accept(seq, data);
          }
        } else if (message.type === 'replayPaused' && message.taskId === taskId) {
          // The server stopped its replay to stay within its time budget: continue after the last
          // entry yielded (not `nextAfter`: an entry lost in transit is then replayed, not filled).
          if (!socket.send({ action: 'subscribe', taskId, after: last })) throw new Interrupted('connection closed');
          subscribed = false; // the new subscription must be confirmed in time too
        } else if (message.type === 'status' && message.taskId === taskId && isTerminalStatus(String(message.status))) {
          yield await terminal(message);
          return;
        } else if (message.type === 'error') {
          const status = Number(message.status);
          const error = errorFromProblem({ title: String(message.title ?? 'Error'), status, ...(message.detail !== undefined ? { detail: String(message.detail) } : {}) });
          if (status >= 500 || status === 429) throw new Interrupted('the subscription failed', { cause: error });
          if (status === 401 && minted?.token === token) {
            // The token this watch minted expired: connect again with a fresh one (a revoked key
            // then fails to mint, and that 401 is thrown).
            minted = undefined;
            throw new Interrupted('the connection token expired', { cause: error });
          }
          throw error;
        } else if (message.type === undefined && typeof message.message === 'string') {
          // API Gateway's own answers ("Internal server error", "Too Many Requests"): start over.
          throw new Interrupted(message.message);
        }
      }
    } catch (error) {
      if (!(error instanceof Interrupted)) throw error;
      interruption = error;
    } finally {
      socket?.close();
    }
    onConnection?.({ type: 'disconnected', reason: interruption.message, connection: connections, ...(interruption.code !== undefined ? { code: interruption.code } : {}) });
    // A subscription that is confirmed but cannot get past a missing entry counts as a failure too.
    const attempts = Math.max(failures, stalls);
    if (attempts >= watch.maxReconnectAttempts) {
      throw new ConnectionLostError(`Lost the connection watching ${taskId} after ${attempts} attempts: ${interruption.message}`, { lastSeq: last, cause: interruption.cause ?? interruption });
    }
    const delayMs = fullJitter(attempts, watch.reconnectBaseDelayMs, watch.reconnectMaxDelayMs);
    failures++;
    onConnection?.({ type: 'reconnecting', attempt: attempts + 1, delayMs, after: last });
    await sleep(delayMs, signal);
  }
}
