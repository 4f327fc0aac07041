import { HttpTransport } from './http.ts';
import { resolveOptions, type OffloadClientOptions, type ResolvedOptions } from './options.ts';
import type { OffloadTaskTypes } from './task-types.ts';
import type { ClientToken, EventsPage, QueueDepths, SubmittedTask, Task, TaskDownload, TaskPage, TaskStatus, TaskSummary, TaskTypeMap } from './types.ts';
import { watchTask, type WatchCallOptions, type WatchEvent } from './watch.ts';

/** Options of {@link OffloadClient.submit}. */
export interface SubmitOptions {
  /** Tasks of one session run one at a time, in submit order. */
  readonly sessionId?: string;
  /**
   * Makes the submit safe to retry: the same key and body answer the original task
   * (`replayed: true`), another body `422`. With a key, network failures are retried too.
   */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

/** Options of {@link OffloadClient.list}. */
export interface ListOptions {
  readonly status?: TaskStatus;
  /** 1–100. @default 20 */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
  readonly signal?: AbortSignal;
}

/** Options of {@link OffloadClient.events}. */
export interface EventsOptions {
  /** Entries with `seq > after`. @default 0 */
  readonly after?: number;
  /** 1–1000. @default 100 */
  readonly limit?: number;
  readonly signal?: AbortSignal;
}

/** Options of {@link OffloadClient.createClientToken}. */
export interface ClientTokenOptions {
  /** Limit the token to these tasks (1–50). @default all of the tenant's tasks */
  readonly taskIds?: readonly string[];
  /** Lifetime, 60–86400 s. @default 900 */
  readonly ttlSeconds?: number;
  readonly signal?: AbortSignal;
}

const path = (taskId: string, suffix = ''): string => {
  if (typeof taskId !== 'string' || taskId.length === 0 || taskId.length > 64) throw new TypeError('taskId must be a non-empty string of at most 64 characters.');
  return `/v1/tasks/${encodeURIComponent(taskId)}${suffix}`;
};

/**
 * The Offload client: submit work, read it, list it, cancel it, mint client tokens, and watch
 * progress stream in over WebSocket with automatic resume. Runs in browsers and Node 22+ with only
 * the standard `fetch` and `WebSocket`. Typed by task type: `Types` defaults to the shipped
 * {@link OffloadTaskTypes}; pass your own map for your own task types.
 *
 * @example
 * ```ts
 * const client = new OffloadClient({ endpoint: 'https://d123.cloudfront.net', webSocketUrl: 'wss://abc.execute-api.eu-west-1.amazonaws.com/live', credential: apiKey });
 * const task = await client.submit('completion', { prompt: 'Why acknowledge fast?' });
 * for await (const event of client.watch(task.taskId)) {
 *   if (event.kind === 'progress') process.stdout.write(event.data.text);
 *   if (event.kind === 'status') console.log(`\n[${event.status}]`);
 * }
 * ```
 */
export class OffloadClient<Types extends TaskTypeMap = OffloadTaskTypes> {
  private readonly options: ResolvedOptions;
  private readonly http: HttpTransport;

  public constructor(options: OffloadClientOptions) {
    this.options = resolveOptions(options);
    this.http = new HttpTransport(this.options);
  }

  /**
   * Submits a task (`POST /v1/tasks`) and returns the acknowledged task (`status: 'queued'`).
   * A `429` is retried after `Retry-After` within the retry options, then thrown as `RateLimitedError`.
   *
   * @example
   * ```ts
   * const task = await client.submit('completion', { prompt: 'Hello', maxTokens: 50 }, { idempotencyKey: orderId });
   * ```
   */
  public async submit<K extends keyof Types & string>(type: K, input: Types[K]['input'], options: SubmitOptions = {}): Promise<SubmittedTask<Types, K>> {
    const { sessionId, idempotencyKey, signal } = options;
    const response = await this.http.send<Task<Types, K>>({
      method: 'POST',
      path: '/v1/tasks',
      body: { type, input, ...(sessionId !== undefined ? { sessionId } : {}) },
      ...(idempotencyKey !== undefined ? { headers: { 'idempotency-key': idempotencyKey } } : {}),
      idempotent: idempotencyKey !== undefined,
      ...(signal ? { signal } : {}),
    });
    return { ...response.body, replayed: response.headers.get('idempotent-replayed') === 'true' };
  }

  /**
   * Reads a task (`GET /v1/tasks/{id}`). Narrow the type parameter when you know the task's type.
   *
   * @example
   * ```ts
   * const task = await client.get<'completion'>(taskId);
   * if (task.status === 'succeeded') console.log(task.result?.text);
   * ```
   */
  public async get<K extends keyof Types & string = keyof Types & string>(taskId: string, options: { signal?: AbortSignal } = {}): Promise<Task<Types, K>> {
    return (await this.http.send<Task<Types, K>>({ method: 'GET', path: path(taskId), idempotent: true, ...(options.signal ? { signal: options.signal } : {}) })).body;
  }

  /**
   * One page of the tenant's tasks, newest first (`GET /v1/tasks`). See {@link listAll} for every page.
   *
   * @example
   * ```ts
   * const { items, nextCursor } = await client.list({ status: 'running', limit: 50 });
   * ```
   */
  public async list(options: ListOptions = {}): Promise<TaskPage<Types>> {
    const { status, limit, cursor, signal } = options;
    return (await this.http.send<TaskPage<Types>>({ method: 'GET', path: '/v1/tasks', query: { status, limit, cursor }, idempotent: true, ...(signal ? { signal } : {}) })).body;
  }

  /**
   * Every task of the tenant (optionally of one status), newest first, fetching pages as the
   * iteration proceeds.
   *
   * @example
   * ```ts
   * for await (const task of client.listAll({ status: 'failed' })) console.log(task.taskId, task.error?.code);
   * ```
   */
  public async *listAll(options: Omit<ListOptions, 'cursor'> = {}): AsyncGenerator<TaskSummary<Types>, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...options, ...(cursor !== undefined ? { cursor } : {}) });
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }

  /**
   * A page of a task's progress log after sequence `after` (`GET /v1/tasks/{id}/events`).
   *
   * @example
   * ```ts
   * const page = await client.events<'completion'>(taskId, { after: 10, limit: 100 });
   * const text = page.items.map((entry) => entry.data.text).join('');
   * ```
   */
  public async events<K extends keyof Types & string = keyof Types & string>(taskId: string, options: EventsOptions = {}): Promise<EventsPage<Types[K]['progress']>> {
    const { after, limit, signal } = options;
    return (await this.http.send<EventsPage<Types[K]['progress']>>({ method: 'GET', path: path(taskId, '/events'), query: { after, limit }, idempotent: true, ...(signal ? { signal } : {}) })).body;
  }

  /**
   * Cancels a task (`POST /v1/tasks/{id}/cancel`): a queued task never starts, a running one
   * stops at its next progress write. Cancelling a cancelled task answers it again; a finished one
   * throws `ConflictError`.
   *
   * @example
   * ```ts
   * const task = await client.cancel(taskId); // task.status === 'cancelled'
   * ```
   */
  public async cancel<K extends keyof Types & string = keyof Types & string>(taskId: string, options: { signal?: AbortSignal } = {}): Promise<Task<Types, K>> {
    return (await this.http.send<Task<Types, K>>({ method: 'POST', path: path(taskId, '/cancel'), idempotent: true, ...(options.signal ? { signal: options.signal } : {}) })).body;
  }

  /**
   * A short-lived URL of a finished `tasks.export`'s NDJSON (`GET /v1/tasks/{id}/download`): fetch
   * it with no credential before `expiresAt` (a few minutes); ask again for a fresh one. Throws
   * `NotFoundError` for an unknown task, another tenant's, or a task of another type, and
   * `ConflictError` while the export is queued or running, or when it failed or was cancelled.
   *
   * @example
   * ```ts
   * const { url } = await client.download(exportTaskId);
   * const rows = (await (await fetch(url)).text()).trim().split('\n').map((line) => JSON.parse(line));
   * ```
   */
  public async download(taskId: string, options: { signal?: AbortSignal } = {}): Promise<TaskDownload> {
    return (await this.http.send<TaskDownload>({ method: 'GET', path: path(taskId, '/download'), idempotent: true, ...(options.signal ? { signal: options.signal } : {}) })).body;
  }

  /**
   * Mints a short-lived client token (`POST /v1/tokens`) for a browser or mobile client: scoped to
   * the tenant and optionally to some tasks, and bound to the API key (revoking the key revokes the
   * token). Call it from your backend with the API key: a client token cannot mint another (`403`).
   *
   * @example
   * ```ts
   * const { token, expiresAt } = await client.createClientToken({ taskIds: [taskId], ttlSeconds: 600 });
   * ```
   */
  public async createClientToken(options: ClientTokenOptions = {}): Promise<ClientToken> {
    const { taskIds, ttlSeconds, signal } = options;
    const body = { ...(taskIds !== undefined ? { taskIds } : {}), ...(ttlSeconds !== undefined ? { ttlSeconds } : {}) };
    return (await this.http.send<ClientToken>({ method: 'POST', path: '/v1/tokens', body, idempotent: false, ...(signal ? { signal } : {}) })).body;
  }

  /**
   * Queue depths per workload class (`GET /v1/queues`): messages waiting, messages held by a
   * worker, and messages in the dead-letter queue. Deployment-wide figures (no task or tenant
   * data); a task-scoped client token gets `ForbiddenError`.
   *
   * @example
   * ```ts
   * const { items } = await client.queueDepths();
   * for (const depth of items) console.log(depth.class, depth.visible, depth.inFlight, depth.deadLetter);
   * ```
   */
  public async queueDepths(options: { signal?: AbortSignal } = {}): Promise<QueueDepths> {
    return (await this.http.send<QueueDepths>({ method: 'GET', path: '/v1/queues', idempotent: true, ...(options.signal ? { signal: options.signal } : {}) })).body;
  }

  /**
   * Watches a task over the WebSocket API: yields its progress entries with `seq > after`, each
   * exactly once and in order, then its terminal status, and ends.
   *
   * - Resilient: when the connection drops (network, server close, the 2-hour limit, a ping left
   *   unanswered), it reconnects with exponential backoff and full jitter and resubscribes after
   *   the last sequence it yielded; replayed duplicates are dropped and any hole is filled from the
   *   events endpoint; a fill that fails counts as a drop (never as skipped entries). After
   *   `watch.maxReconnectAttempts` consecutive failures it throws `ConnectionLostError` (with
   *   `lastSeq`, to resume later).
   * - Continuity: if the task's log no longer holds some entries, a `{ kind: 'gap', after, before }`
   *   event says which ones are missing before the stream goes on.
   * - Finishes on its own when the task is already terminal (the server replays the log and the
   *   status), keeps the connection alive with `ping`, and stops on `signal` or `break`.
   * - Never puts an API key in the WebSocket URL: with an API key it first mints a client token
   *   scoped to this task (`POST /v1/tokens`, 300 s) and connects with that, minting a fresh one
   *   for a connection made when it is about to expire; a client token is used as it is.
   * - Typed by task type: narrow `K` to get typed `data` and `result`.
   *
   * @example
   * ```ts
   * for await (const event of client.watch<'completion'>(taskId, { after: 0, signal })) {
   *   if (event.kind === 'progress') render(event.data.text);
   *   else if (event.kind === 'gap') console.warn(`missed ${event.after + 1}..${event.before - 1}`);
   *   else console.log(event.status, event.result?.text);
   * }
   * ```
   */
  public watch<K extends keyof Types & string = keyof Types & string>(taskId: string, options: WatchCallOptions = {}): AsyncGenerator<WatchEvent<Types[K]['progress'], Types[K]['result']>, void, undefined> {
    path(taskId);
    const backend = {
      events: (id: string, query: { after: number; limit: number }, signal?: AbortSignal) => this.events(id, { ...query, ...(signal ? { signal } : {}) }),
      get: (id: string, signal?: AbortSignal) => this.get(id, signal ? { signal } : {}),
      mintToken: (id: string, ttlSeconds: number, signal?: AbortSignal) => this.createClientToken({ taskIds: [id], ttlSeconds, ...(signal ? { signal } : {}) }),
    };
    return watchTask<Types[K]['progress'], Types[K]['result']>(this.options, backend, taskId, options);
  }
}
