import { fullJitter, parseRetryAfter, sleep } from './backoff.ts';
import { errorFromProblem, NetworkError, OffloadError, RateLimitedError, ServerError, type Problem } from './errors.ts';
import type { ResolvedOptions } from './options.ts';

/** One API call. */
export interface ApiRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Path below the endpoint, starting with `/v1/`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Whether repeating the call is harmless. Only idempotent calls are retried after network
   * errors and `5xx`; every call is retried after `429` (the server did not process it).
   */
  readonly idempotent: boolean;
  readonly signal?: AbortSignal;
}

/** A successful answer. */
export interface ApiResponse<T> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

const RETRYABLE_5XX = new Set([500, 502, 503, 504]);

const isAbort = (error: unknown): boolean => error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');

/** Reads an error answer into its problem document (synthesised when the body is not one). */
const problemOf = async (response: Response): Promise<Problem> => {
  const text = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as Partial<Problem>;
    if (parsed && typeof parsed === 'object' && typeof parsed.title === 'string') return { ...parsed, title: parsed.title, status: response.status };
  } catch {
    // not JSON: fall through
  }
  return { title: response.statusText || `HTTP ${response.status}`, status: response.status, ...(text ? { detail: text.slice(0, 500) } : {}) };
};

/**
 * Sends API calls: bearer credential, JSON bodies, problem+json answers mapped to typed errors,
 * `429` honoured by waiting `Retry-After` (bounded), and network/`5xx` retries with full-jitter
 * backoff for idempotent calls only.
 */
export class HttpTransport {
  public constructor(private readonly options: ResolvedOptions) {}

  public async send<T>(request: ApiRequest): Promise<ApiResponse<T>> {
    const { retry } = this.options;
    const url = new URL(this.options.endpoint + request.path);
    for (const [name, value] of Object.entries(request.query ?? {})) if (value !== undefined) url.searchParams.set(name, String(value));
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    for (let attempt = 1; ; attempt++) {
      request.signal?.throwIfAborted();
      const headers: Record<string, string> = { accept: 'application/json, application/problem+json', authorization: `Bearer ${await this.options.credential()}`, ...request.headers };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const timeout = AbortSignal.timeout(this.options.timeoutMs);
      let response: Response;
      try {
        response = await this.options.fetch(url, {
          method: request.method,
          headers,
          ...(body !== undefined ? { body } : {}),
          signal: request.signal ? AbortSignal.any([request.signal, timeout]) : timeout,
        });
      } catch (error) {
        if (request.signal?.aborted) throw request.signal.reason;
        const failure = new NetworkError(`${request.method} ${url.pathname} failed: ${isAbort(error) ? `no answer within ${this.options.timeoutMs} ms` : (error as Error).message}`, { cause: error });
        if (!request.idempotent || attempt >= retry.maxAttempts) throw failure;
        await sleep(fullJitter(attempt - 1, retry.baseDelayMs, retry.maxDelayMs), request.signal);
        continue;
      }
      if (response.ok) return { status: response.status, headers: response.headers, body: await this.parse<T>(response, url) };
      const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'));
      const error = errorFromProblem(await problemOf(response), retryAfterSeconds !== undefined ? { retryAfterSeconds } : {});
      if (attempt < retry.maxAttempts) {
        if (error instanceof RateLimitedError && error.retryAfterSeconds <= retry.maxRetryAfterSeconds) {
          await sleep(error.retryAfterSeconds * 1000, request.signal);
          continue;
        }
        if (error instanceof ServerError && request.idempotent && RETRYABLE_5XX.has(response.status)) {
          await sleep(fullJitter(attempt - 1, retry.baseDelayMs, retry.maxDelayMs), request.signal);
          continue;
        }
      }
      throw error;
    }
  }

  private async parse<T>(response: Response, url: URL): Promise<T> {
    const text = await response.text();
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new OffloadError(`${url.pathname} answered ${response.status} with a body that is not JSON.`, { status: response.status, cause: error });
    }
  }
}
