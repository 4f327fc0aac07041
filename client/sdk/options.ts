import { InsecureEndpointError } from './errors.ts';

/** How HTTP calls are retried. */
export interface RetryOptions {
  /** Attempts in all, including the first (1 = never retry). */
  readonly maxAttempts: number;
  /** A `429` whose `Retry-After` is longer than this is thrown at once instead of waited for. */
  readonly maxRetryAfterSeconds: number;
  /** Backoff of network and `5xx` retries (idempotent calls only): full jitter over `base * 2^n`, capped. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** How `watch` keeps and regains its WebSocket connection. */
export interface WatchOptions {
  /** Consecutive failed connections (without a confirmed subscription in between) before giving up. */
  readonly maxReconnectAttempts: number;
  /** Reconnect backoff: full jitter over `base * 2^n`, capped. */
  readonly reconnectBaseDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  /** Keep-alive: a `ping` this often (API Gateway closes connections idle for 10 minutes). */
  readonly pingIntervalMs: number;
  /** A connection that answers nothing this long after a `ping` is considered dead and replaced. */
  readonly pongTimeoutMs: number;
  /** Time allowed for the handshake, and for the subscription to be confirmed. */
  readonly connectTimeoutMs: number;
  /** Page size when filling a gap from the events endpoint. */
  readonly fillPageSize: number;
}

/** A credential, or a function returning a fresh one (for example a client token minted by your backend). */
export type Credential = string | (() => string | Promise<string>);

/** A WebSocket constructor (the global `WebSocket` of browsers and Node 22+). */
export type WebSocketConstructor = new (url: string | URL, protocols?: string | string[]) => WebSocket;

/** Options of `new OffloadClient(...)`. */
export interface OffloadClientOptions {
  /**
   * Base URL of the HTTP API (the CloudFront URL on AWS, `httpApi` locally), without `/v1`.
   * `https:`; plain `http:` only for loopback hosts (else `InsecureEndpointError`).
   */
  readonly endpoint: string;
  /**
   * The WebSocket API URL (`wss://.../live`); needed by `watch` only. Plain `ws:` only for loopback
   * hosts. An API key is never put in this URL: `watch` connects with a short client token it mints.
   */
  readonly webSocketUrl?: string;
  /** A tenant API key (`ofk_...`, backends only) or a client token (`oft_...`, browsers). */
  readonly credential: Credential;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default globalThis.WebSocket */
  readonly WebSocket?: WebSocketConstructor;
  /** Per-request timeout in ms (a timeout counts as a network error). @default 30000 */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryOptions>;
  readonly watch?: Partial<WatchOptions>;
}

/** Defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 4, maxRetryAfterSeconds: 60, baseDelayMs: 200, maxDelayMs: 5_000 };

/** Defaults of {@link WatchOptions}. */
export const DEFAULT_WATCH: WatchOptions = {
  maxReconnectAttempts: 8,
  reconnectBaseDelayMs: 250,
  reconnectMaxDelayMs: 10_000,
  pingIntervalMs: 5 * 60_000,
  pongTimeoutMs: 30_000,
  connectTimeoutMs: 15_000,
  fillPageSize: 500,
};

/** Options with every default applied. */
export interface ResolvedOptions {
  readonly endpoint: string;
  readonly webSocketUrl: string | undefined;
  readonly credential: () => Promise<string>;
  readonly fetch: typeof fetch;
  readonly WebSocket: WebSocketConstructor | undefined;
  readonly timeoutMs: number;
  readonly retry: RetryOptions;
  readonly watch: WatchOptions;
}

const CLIENT_KEYS = ['endpoint', 'webSocketUrl', 'credential', 'fetch', 'WebSocket', 'timeoutMs', 'retry', 'watch'] as const;

/** Merges defaults with given options, rejecting unknown keys and numbers out of bounds. */
const checkNumbers = <T extends object>(what: string, defaults: T, given: Partial<T> | undefined, bounds: { [K in keyof T]?: [number, number] } = {}): T => {
  if (given !== undefined && (typeof given !== 'object' || given === null)) throw new TypeError(`${what} must be an object.`);
  for (const key of Object.keys(given ?? {})) {
    if (!(key in defaults)) throw new TypeError(`Unknown option ${what}.${key}; known: ${Object.keys(defaults).join(', ')}.`);
  }
  const merged = { ...defaults, ...given };
  for (const [key, value] of Object.entries(merged)) {
    const [min, max] = bounds[key as keyof T] ?? [0, Number.MAX_SAFE_INTEGER];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      throw new TypeError(`${what}.${key} must be a number in [${min}, ${max}].`);
    }
  }
  return merged;
};

/** Whether a URL's host is loopback: 127.0.0.0/8, `[::1]` or `localhost` (the only hosts plain `http:`/`ws:` may name). */
export const isLoopbackUrl = (url: URL): boolean => {
  const host = url.hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
};

const httpUrl = (name: 'endpoint' | 'webSocketUrl', value: unknown, protocols: readonly string[]): string => {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a URL string.`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${name} must be a URL; got "${value}".`);
  }
  if (!protocols.includes(url.protocol)) throw new TypeError(`${name} must use ${protocols.join(' or ')}; got "${value}".`);
  if ((url.protocol === 'http:' || url.protocol === 'ws:') && !isLoopbackUrl(url)) throw new InsecureEndpointError(name, value);
  return value.replace(/\/+$/, '');
};

/**
 * Applies defaults (`{ ...defaults, ...options }`) and validates the client options; unknown keys
 * are rejected so typos never pass silently.
 */
export const resolveOptions = (options: OffloadClientOptions): ResolvedOptions => {
  if (typeof options !== 'object' || options === null) throw new TypeError('OffloadClient options are required.');
  for (const key of Object.keys(options)) {
    if (!(CLIENT_KEYS as readonly string[]).includes(key)) throw new TypeError(`Unknown option ${key}; known: ${CLIENT_KEYS.join(', ')}.`);
  }
  const { credential } = options;
  if (typeof credential === 'string') {
    if (!credential) throw new TypeError('credential must not be empty.');
  } else if (typeof credential !== 'function') throw new TypeError('credential must be a string or a function returning one.');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new TypeError('No fetch implementation: pass options.fetch.');
  if (options.WebSocket !== undefined && typeof options.WebSocket !== 'function') throw new TypeError('WebSocket must be a constructor.');
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new TypeError('timeoutMs must be a positive number.');
  return {
    endpoint: httpUrl('endpoint', options.endpoint, ['http:', 'https:']),
    webSocketUrl: options.webSocketUrl === undefined ? undefined : httpUrl('webSocketUrl', options.webSocketUrl, ['ws:', 'wss:']),
    credential: typeof credential === 'string' ? () => Promise.resolve(credential) : async () => String(await credential()),
    // Called as a plain function: browsers refuse `fetch` invoked with a foreign `this`.
    fetch: (input, init) => fetchImpl(input, init),
    WebSocket: options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket,
    timeoutMs,
    retry: checkNumbers('retry', DEFAULT_RETRY, options.retry, { maxAttempts: [1, 20] }),
    watch: checkNumbers('watch', DEFAULT_WATCH, options.watch, { maxReconnectAttempts: [0, 1000], pingIntervalMs: [1, 9 * 60_000], fillPageSize: [1, 1000] }),
  };
};
