import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { close, listen, readBody } from './http-util.ts';
import { type LocalTemplate, UnsupportedTemplateError } from './template.ts';

/** Managed origin request policy: all viewer headers except Host. */
const ALL_VIEWER_EXCEPT_HOST = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

interface CachePolicy {
  readonly minTtl: number;
  readonly defaultTtl: number;
  readonly maxTtl: number;
  readonly headers: readonly string[];
  readonly queryStrings: 'none' | 'all';
}

interface CachedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  storedAt: number;
  ttlMs: number;
}

/** Counters of the edge. */
export interface CdnStats {
  hits: number;
  misses: number;
  refreshHits: number;
  passes: number;
}

/**
 * A CloudFront-like caching layer from the template's distribution: the default behaviour's cache
 * policy (TTL bounds, headers and query strings in the cache key), cached methods, and the origin
 * request policy. TTLs follow the origin's `s-maxage`/`max-age` clamped to the policy; stale
 * entries with an ETag are revalidated; viewer `If-None-Match` is answered from the edge.
 * Responses carry `X-Cache: Hit from cloudfront | Miss from cloudfront | RefreshHit from cloudfront`.
 */
export class LocalCdn {
  public endpoint = '';
  public readonly stats: CdnStats = { hits: 0, misses: 0, refreshHits: 0, passes: 0 };
  private readonly server: Server;
  private readonly cache = new Map<string, CachedResponse>();
  private policy: CachePolicy = { minTtl: 0, defaultTtl: 86400, maxTtl: 31536000, headers: [], queryStrings: 'none' };
  private cachedMethods = new Set(['GET', 'HEAD']);
  private readonly maxEntries = 50_000;

  public constructor(
    private readonly template: LocalTemplate,
    public readonly logicalId: string,
    private readonly origin: () => string,
  ) {
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  public load(): void {
    const config = (this.template.resource(this.logicalId).Properties?.DistributionConfig ?? {}) as Record<string, unknown>;
    const behavior = (config.DefaultCacheBehavior ?? {}) as Record<string, unknown>;
    if (config.CacheBehaviors) throw new UnsupportedTemplateError(this.logicalId, 'CacheBehaviors', 'only the default behaviour is supported');
    if (behavior.OriginRequestPolicyId && behavior.OriginRequestPolicyId !== ALL_VIEWER_EXCEPT_HOST) {
      throw new UnsupportedTemplateError(this.logicalId, 'OriginRequestPolicyId', 'only AllViewerExceptHostHeader is supported');
    }
    this.cachedMethods = new Set((behavior.CachedMethods as string[] | undefined) ?? ['GET', 'HEAD']);
    const policyRef = (behavior.CachePolicyId as { Ref?: string } | undefined)?.Ref;
    if (policyRef) {
      const policy = (this.template.resource(policyRef).Properties?.CachePolicyConfig ?? {}) as Record<string, any>;
      const parameters = policy.ParametersInCacheKeyAndForwardedToOrigin ?? {};
      this.policy = {
        minTtl: Number(policy.MinTTL ?? 0),
        defaultTtl: Number(policy.DefaultTTL ?? 86400),
        maxTtl: Number(policy.MaxTTL ?? 31536000),
        headers: ((parameters.HeadersConfig?.Headers as string[] | undefined) ?? []).map((header) => header.toLowerCase()),
        queryStrings: parameters.QueryStringsConfig?.QueryStringBehavior === 'none' ? 'none' : 'all',
      };
    }
  }

  public async start(port?: number): Promise<string> {
    this.endpoint = `http://127.0.0.1:${await listen(this.server, port)}`;
    return this.endpoint;
  }

  public async stop(): Promise<void> {
    await close(this.server);
  }

  private cacheKey(request: IncomingMessage, url: URL): string {
    const parts = [url.pathname];
    if (this.policy.queryStrings === 'all') parts.push([...url.searchParams].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join('&'));
    for (const header of this.policy.headers) parts.push(`${header}:${String(request.headers[header] ?? '')}`);
    return createHash('sha256').update(parts.join('\n')).digest('hex');
  }

  private ttlOf(headers: Record<string, string>): number {
    const directives = (headers['cache-control'] ?? '').toLowerCase();
    if (/(^|,)\s*(no-store|private|no-cache)\b/.test(directives) && this.policy.minTtl === 0) return 0;
    const sMaxAge = /s-maxage=(\d+)/.exec(directives);
    const maxAge = /(?:^|[,\s])max-age=(\d+)/.exec(directives);
    const origin = sMaxAge ? Number(sMaxAge[1]) : maxAge ? Number(maxAge[1]) : this.policy.defaultTtl;
    return Math.min(this.policy.maxTtl, Math.max(this.policy.minTtl, origin)) * 1000;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://local');
    const method = request.method ?? 'GET';
    try {
      if (!this.cachedMethods.has(method)) {
        this.stats.passes++;
        const body = await readBody(request, 10 * 1024 * 1024);
        const upstream = await this.fetchOrigin(request, url, body);
        return this.reply(response, upstream.status, upstream.headers, upstream.body, 'Miss from cloudfront');
      }
      const key = this.cacheKey(request, url);
      const cached = this.cache.get(key);
      const now = Date.now();
      if (cached && now - cached.storedAt < cached.ttlMs) {
        this.stats.hits++;
        return this.replyCached(request, response, cached, 'Hit from cloudfront');
      }
      if (cached?.headers.etag) {
        const upstream = await this.fetchOrigin(request, url, Buffer.alloc(0), { 'if-none-match': cached.headers.etag });
        if (upstream.status === 304) {
          this.stats.refreshHits++;
          cached.storedAt = now;
          cached.ttlMs = this.ttlOf({ ...cached.headers, ...upstream.headers });
          return this.replyCached(request, response, cached, 'RefreshHit from cloudfront');
        }
        return this.store(request, response, key, upstream);
      }
      const upstream = await this.fetchOrigin(request, url, Buffer.alloc(0));
      return this.store(request, response, key, upstream);
    } catch {
      this.reply(response, 502, { 'content-type': 'text/plain' }, Buffer.from('Bad Gateway'), 'Error from cloudfront');
    }
  }

  private store(request: IncomingMessage, response: ServerResponse, key: string, upstream: { status: number; headers: Record<string, string>; body: Buffer }): void {
    this.stats.misses++;
    // A HEAD response has no body: storing it would serve empty bodies to later GETs of the same key.
    const ttlMs = upstream.status === 200 && request.method !== 'HEAD' ? this.ttlOf(upstream.headers) : 0;
    if (ttlMs > 0) {
      if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
      const entry = { ...upstream, storedAt: Date.now(), ttlMs };
      this.cache.set(key, entry);
      return this.replyCached(request, response, entry, 'Miss from cloudfront');
    }
    this.reply(response, upstream.status, upstream.headers, upstream.body, 'Miss from cloudfront');
  }

  private replyCached(request: IncomingMessage, response: ServerResponse, cached: CachedResponse, xCache: string): void {
    const etag = cached.headers.etag;
    const inm = request.headers['if-none-match'];
    if (etag && inm && inm.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag.replace(/^W\//, ''))) {
      const { 'content-length': _length, 'content-type': _type, ...rest } = cached.headers;
      return this.reply(response, 304, rest, Buffer.alloc(0), xCache, cached.storedAt);
    }
    // Node sends no body for HEAD; passing it keeps Content-Length that of the GET, as HEAD requires.
    this.reply(response, cached.status, cached.headers, cached.body, xCache, cached.storedAt);
  }

  private reply(response: ServerResponse, status: number, headers: Record<string, string>, body: Buffer, xCache: string, storedAt?: number): void {
    const out: Record<string, string> = { ...headers, 'x-cache': xCache, via: '1.1 local.cloudfront.net (CloudFront)' };
    delete out['transfer-encoding'];
    if (storedAt !== undefined) out.age = String(Math.floor((Date.now() - storedAt) / 1000));
    if (status !== 304) out['content-length'] = String(body.length);
    response.writeHead(status, out);
    response.end(body);
  }

  private fetchOrigin(request: IncomingMessage, url: URL, body: Buffer, extra: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const origin = new URL(this.origin());
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (name === 'host' || HOP_BY_HOP.has(name) || value === undefined) continue;
      if (extra['if-none-match'] && name === 'if-none-match') continue;
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    Object.assign(headers, extra, { 'x-forwarded-proto': 'https', via: '1.1 local.cloudfront.net (CloudFront)' });
    if (body.length) headers['content-length'] = String(body.length);
    return new Promise((resolve, reject) => {
      const upstream = httpRequest(
        { host: origin.hostname, port: origin.port, method: request.method, path: url.pathname + url.search, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const out: Record<string, string> = {};
            for (const [name, value] of Object.entries(res.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = Array.isArray(value) ? value.join(', ') : value;
            resolve({ status: res.statusCode ?? 502, headers: out, body: Buffer.concat(chunks) });
          });
          res.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }
}
