import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConflictError,
  ConnectionLostError,
  IdempotencyMismatchError,
  NetworkError,
  NotFoundError,
  OffloadClient,
  PayloadTooLargeError,
  RateLimitedError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
  type WatchEvent,
} from '../../client/sdk/index.ts';
import { startHarness, type Harness } from '../e2e/harness.ts';
import { clientFor, collect, range, sleep } from './support.ts';

const progressOf = <P>(events: readonly WatchEvent<P>[]) => events.filter((event) => event.kind === 'progress');

describe('client SDK: every method against the local runtime', () => {
  let harness: Harness;
  let client: OffloadClient;

  beforeAll(async () => {
    harness = await startHarness();
    client = clientFor(harness);
  });
  afterAll(async () => harness?.stop());

  it('submits, watches to the end, reads the task and its events', async () => {
    // Act
    const task = await client.submit('completion', { prompt: 'sdk round trip', maxTokens: 80, model: 'sim-fast' });
    const events = await collect(client.watch<'completion'>(task.taskId));
    const read = await client.get<'completion'>(task.taskId);
    const page = await client.events<'completion'>(task.taskId, { after: 1, limit: 2 });
    // Assess
    expect(task).toMatchObject({ taskId: expect.stringMatching(/^tsk_/), type: 'completion', status: 'queued', replayed: false });
    const progress = progressOf(events);
    expect(progress.map((event) => event.seq)).toEqual(range(1, progress.length));
    const status = events.at(-1)!;
    expect(status).toMatchObject({ kind: 'status', status: 'succeeded', result: { text: expect.any(String) } });
    expect(progress.map((event) => event.data.text).join('')).toBe(read.result?.text);
    expect(read).toMatchObject({ status: 'succeeded', progress: { seq: progress.length } });
    expect(page.items.map((entry) => entry.seq)).toEqual([2, 3]);
    expect(page.items[0]!.data).toEqual(progress[1]!.data);
  });

  it('watches a task that is already finished, from the start or from any sequence', async () => {
    // Prepare
    const task = await client.submit('completion', { prompt: 'already done', maxTokens: 40, model: 'sim-fast' });
    await collect(client.watch(task.taskId));
    const total = (await client.get(task.taskId)).progress.seq;
    // Act
    const all = await collect(client.watch<'completion'>(task.taskId));
    const tail = await collect(client.watch<'completion'>(task.taskId, { after: total - 2 }));
    const none = await collect(client.watch<'completion'>(task.taskId, { after: total }));
    // Assess
    expect(progressOf(all).map((event) => event.seq)).toEqual(range(1, total));
    expect(progressOf(tail).map((event) => event.seq)).toEqual([total - 1, total]);
    expect(none).toEqual([expect.objectContaining({ kind: 'status', status: 'succeeded' })]);
  });

  it('replays an idempotent submit and refuses another body for the same key (422)', async () => {
    // Prepare
    const key = `sdk-${Date.now()}`;
    const input = { prompt: 'once only', maxTokens: 5, model: 'sim-fast' };
    // Act
    const first = await client.submit('completion', input, { idempotencyKey: key });
    const again = await client.submit('completion', input, { idempotencyKey: key });
    const other = await client.submit('completion', { ...input, prompt: 'another' }, { idempotencyKey: key }).catch((error: unknown) => error);
    // Assess
    expect(again).toMatchObject({ taskId: first.taskId, replayed: true });
    expect(other).toBeInstanceOf(IdempotencyMismatchError);
    expect((other as IdempotencyMismatchError).status).toBe(422);
    expect((other as IdempotencyMismatchError).problem).toMatchObject({ status: 422, type: expect.stringContaining('/problems/') });
  });

  it('lists newest first, one page or every page, filtered by status', async () => {
    // Prepare
    const submitted = [];
    for (const i of range(1, 3)) submitted.push(await client.submit('completion', { prompt: `list ${i}`, maxTokens: 3, model: 'sim-fast' }, { sessionId: 'sdk-list' }));
    for (const task of submitted) await collect(client.watch(task.taskId));
    // Act
    const page = await client.list({ limit: 2 });
    const next = await client.list({ limit: 2, cursor: page.nextCursor! });
    const every = [];
    for await (const task of client.listAll({ status: 'succeeded', limit: 2 })) every.push(task);
    // Assess
    expect(page.items).toHaveLength(2);
    expect(page.items.map((task) => task.taskId)).toEqual(submitted.slice(1).reverse().map((task) => task.taskId));
    expect(next.items[0]!.taskId).toBe(submitted[0]!.taskId);
    expect(every.every((task) => task.status === 'succeeded')).toBe(true);
    expect(every.map((task) => task.taskId)).toEqual(expect.arrayContaining(submitted.map((task) => task.taskId)));
    expect(new Set(every.map((task) => task.taskId)).size).toBe(every.length);
    expect(every.map((task) => task.taskId)).toEqual([...every.map((task) => task.taskId)].sort().reverse());
  });

  it('cancels a running task; cancelling a finished one is a ConflictError (409)', async () => {
    // Prepare
    const long = await client.submit('completion', { prompt: 'cancel me', maxTokens: 2000, model: 'sim-1' });
    const done = await client.submit('completion', { prompt: 'done', maxTokens: 3, model: 'sim-fast' });
    await collect(client.watch(done.taskId));
    // Act
    const cancelled = await client.cancel(long.taskId);
    const events = await collect(client.watch(long.taskId));
    const conflict = await client.cancel(done.taskId).catch((error: unknown) => error);
    // Assess
    expect(cancelled.status).toBe('cancelled');
    expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'cancelled' });
    expect(conflict).toBeInstanceOf(ConflictError);
    expect((conflict as ConflictError).problem?.detail).toContain('succeeded');
  });

  it('mints client tokens that read and watch only the tasks they are scoped to', async () => {
    // Prepare
    const mine = await client.submit('completion', { prompt: 'scoped', maxTokens: 20, model: 'sim-fast' });
    const other = await client.submit('completion', { prompt: 'not scoped', maxTokens: 3, model: 'sim-fast' });
    // Act
    const { token, expiresAt } = await client.createClientToken({ taskIds: [mine.taskId], ttlSeconds: 120 });
    const browser = clientFor(harness, { credential: token });
    const events = await collect(browser.watch(mine.taskId));
    const hidden = await browser.get(other.taskId).catch((error: unknown) => error);
    const hiddenWatch = await collect(browser.watch(other.taskId)).catch((error: unknown) => error);
    const invalid = await client.createClientToken({ ttlSeconds: 5 }).catch((error: unknown) => error);
    // Assess
    expect(token).toMatch(/^oft_/);
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(60_000);
    expect(events.at(-1)).toMatchObject({ kind: 'status', status: 'succeeded' });
    expect(hidden).toBeInstanceOf(NotFoundError);
    expect(hiddenWatch).toBeInstanceOf(NotFoundError);
    expect(invalid).toBeInstanceOf(ValidationError);
  });

  it('downloads a finished export through a short-lived URL; a task of another type is a NotFoundError', async () => {
    // Prepare: a finished completion, then an export of the tenant's succeeded tasks.
    const done = await client.submit('completion', { prompt: 'to be exported', maxTokens: 3, model: 'sim-fast' });
    await collect(client.watch(done.taskId));
    const exported = await client.submit('tasks.export', { status: 'succeeded', limit: 100 });
    const events = await collect(client.watch<'tasks.export'>(exported.taskId));
    // Act
    const download = await client.download(exported.taskId);
    const response = await fetch(download.url);
    const ndjson = await response.text();
    const notExport = await client.download(done.taskId).catch((error: unknown) => error);
    // Assess
    const status = events.at(-1);
    expect(status).toMatchObject({ kind: 'status', status: 'succeeded' });
    expect(response.status).toBe(200);
    const rows = ndjson.trim().split('\n').map((line) => JSON.parse(line) as { taskId: string; status: string });
    expect(rows.length).toBe(status?.kind === 'status' ? status.result?.tasks : -1);
    expect(rows.map((row) => row.taskId)).toContain(done.taskId);
    expect(rows.every((row) => row.status === 'succeeded')).toBe(true);
    expect(Date.parse(download.expiresAt)).toBeGreaterThan(Date.now());
    expect(notExport).toBeInstanceOf(NotFoundError);
    expect((notExport as NotFoundError).problem?.detail).toContain('tasks.export');
  });

  it('maps every problem to its error class, with the problem document', async () => {
    // Prepare
    const anonymous = clientFor(harness, { credential: 'ofk_not_a_real_key' });
    const plainText: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), 'content-type': 'text/plain' } });
    // Act
    const notFound = await client.get('tsk_00000000000000000000000000').catch((error: unknown) => error);
    const unknownType = await client.submit('completion' as 'completion', { prompt: '' }).catch((error: unknown) => error);
    const unauthorized = await anonymous.list().catch((error: unknown) => error);
    const tooLarge = await client.submit('completion', { prompt: 'x'.repeat(140_000) }).catch((error: unknown) => error);
    const mediaType = await clientFor(harness, { fetch: plainText }).submit('completion', { prompt: 'hi' }).catch((error: unknown) => error);
    const unauthorizedWatch = await collect(anonymous.watch('tsk_00000000000000000000000000')).catch((error: unknown) => error);
    // Assess
    expect(notFound).toBeInstanceOf(NotFoundError);
    expect((notFound as NotFoundError).problem).toMatchObject({ status: 404, title: expect.any(String), detail: expect.any(String) });
    expect(unknownType).toBeInstanceOf(ValidationError);
    expect(unauthorized).toBeInstanceOf(UnauthorizedError);
    expect(tooLarge).toBeInstanceOf(PayloadTooLargeError);
    expect(mediaType).toBeInstanceOf(UnsupportedMediaTypeError);
    expect(unauthorizedWatch).toBeInstanceOf(UnauthorizedError);
  });

  it('retries GETs through network failures, but never an unkeyed submit', async () => {
    // Prepare: a fetch whose first call fails like a dropped connection
    let calls = 0;
    const flaky: typeof fetch = (input, init) => (++calls === 1 ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init));
    const task = await client.submit('completion', { prompt: 'flaky', maxTokens: 3, model: 'sim-fast' });
    // Act
    const read = await clientFor(harness, { fetch: flaky }).get(task.taskId);
    const readCalls = calls;
    calls = 0;
    const submit = await clientFor(harness, { fetch: flaky }).submit('completion', { prompt: 'x' }).catch((error: unknown) => error);
    const submitCalls = calls;
    calls = 0;
    const keyed = await clientFor(harness, { fetch: flaky }).submit('completion', { prompt: 'keyed', maxTokens: 3, model: 'sim-fast' }, { idempotencyKey: `flaky-${Date.now()}` });
    // Assess
    expect(read.taskId).toBe(task.taskId);
    expect(readCalls).toBe(2);
    expect(submit).toBeInstanceOf(NetworkError);
    expect((submit as NetworkError).cause).toBeInstanceOf(TypeError);
    expect(submitCalls).toBe(1);
    expect(keyed.status).toBe('queued');
    expect(calls).toBe(2);
  });

  it('stops watching when the signal aborts', async () => {
    // Prepare
    const task = await client.submit('completion', { prompt: 'abort me', maxTokens: 2000, model: 'sim-1' });
    const controller = new AbortController();
    const seen: WatchEvent[] = [];
    // Act
    const outcome = (async () => {
      for await (const event of client.watch(task.taskId, { signal: controller.signal })) {
        seen.push(event);
        if (seen.length === 3) controller.abort(new Error('enough'));
      }
    })().catch((error: unknown) => error);
    const error = await outcome;
    await client.cancel(task.taskId);
    // Assess
    expect((error as Error).message).toBe('enough');
    expect(seen.map((event) => event.kind)).toEqual(['progress', 'progress', 'progress']);
  });

  it('gives up watching after its bounded reconnect attempts when nothing is reachable', async () => {
    // Prepare: nothing listens on port 9
    const reconnects: number[] = [];
    const offline = new OffloadClient({
      endpoint: 'http://127.0.0.1:9',
      webSocketUrl: 'ws://127.0.0.1:9/live',
      credential: 'ofk_x',
      retry: { maxAttempts: 1 },
      watch: { maxReconnectAttempts: 3, reconnectBaseDelayMs: 10 },
    });
    // Act
    const error = await collect(offline.watch('tsk_00000000000000000000000000', { after: 7, onConnection: (event) => event.type === 'reconnecting' && reconnects.push(event.attempt) })).catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect((error as ConnectionLostError).lastSeq).toBe(7);
    expect(reconnects).toEqual([1, 2, 3]);
  });

  it('rejects unknown and invalid options', () => {
    const base = { endpoint: 'http://127.0.0.1:1', credential: 'k' };
    expect(() => new OffloadClient({ ...base, retries: 3 } as never)).toThrow(/Unknown option retries/);
    expect(() => new OffloadClient({ ...base, retry: { attempts: 3 } as never })).toThrow(/Unknown option retry.attempts/);
    expect(() => new OffloadClient({ ...base, retry: { maxAttempts: 0 } })).toThrow(/retry.maxAttempts/);
    expect(() => new OffloadClient({ ...base, endpoint: 'ftp://x' })).toThrow(/endpoint/);
    expect(() => new OffloadClient({ ...base, webSocketUrl: 'http://x' })).toThrow(/webSocketUrl/);
  });
});

describe('client SDK: 429 and Retry-After', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ functionEnvironment: { TENANT_INFLIGHT_LIMIT: '2' } });
  });
  afterAll(async () => harness?.stop());

  it('waits Retry-After and retries a refused submit; throws RateLimitedError when out of attempts', async () => {
    // Prepare: two long tasks fill the tenant's in-flight limit
    const statuses: number[] = [];
    const recording: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      statuses.push(response.status);
      return response;
    };
    const client = clientFor(harness, { fetch: recording });
    const long = { prompt: 'hold a slot', maxTokens: 2000, model: 'sim-1' };
    const a = await client.submit('completion', long);
    const b = await client.submit('completion', long);
    const impatient = clientFor(harness, { retry: { maxAttempts: 1 } });
    // Act
    const refused = await impatient.submit('completion', long).catch((error: unknown) => error);
    statuses.length = 0;
    const started = Date.now();
    const pending = client.submit('completion', { prompt: 'fits later', maxTokens: 3, model: 'sim-fast' });
    while (!statuses.includes(429)) await sleep(50);
    await clientFor(harness).cancel(a.taskId);
    const admitted = await pending;
    const waited = Date.now() - started;
    await clientFor(harness).cancel(b.taskId);
    // Assess
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).retryAfterSeconds).toBe(2);
    expect((refused as RateLimitedError).problem?.status).toBe(429);
    expect(statuses[0]).toBe(429);
    expect(statuses.at(-1)).toBe(202);
    expect(admitted.status).toBe('queued');
    expect(waited).toBeGreaterThanOrEqual(2_000);
  });
});
