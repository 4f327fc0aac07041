import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { close, listen, readBody } from './http-util.ts';
import { refuseForeignRequest } from './loopback-guard.ts';
import { type LocalTemplate, UnsupportedTemplateError } from './template.ts';
import { LocalCloudFrontFunction } from './cloudfront-functions.ts';

/** Managed origin request policy: all viewer headers except Host. */
const ALL_VIEWER_EXCEPT_HOST = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';
/** CloudFront's managed cache policies, by id (values as AWS documents them). */
const MANAGED_CACHE_POLICIES: Readonly<Record<string, CachePolicy>> = {
  // CachingOptimized
  '658327ea-f89d-4fab-a63d-7e88639e58f6': { minTtl: 1, defaultTtl: 86400, maxTtl: 31536000, headers: [], queryStrings: 'none' },
  // CachingDisabled
  '4135ea2d-6df8-44a3-9df3-4b5a84be39ad': { minTtl: 0, defaultTtl: 0, maxTtl: 0, headers: [], queryStrings: 'none' },
};
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);
/**
 * Error codes CloudFront caches for the ErrorCachingMinTTL whatever the origin's `Cache-Control`
 * says (`no-store` included), or longer when the origin's max-age/s-maxage is longer.
 */
const ALWAYS_CACHED_ERRORS: ReadonlySet<number> = new Set([404, 414, 500, 501, 502, 503, 504]);
/** Error codes CloudFront caches only when the origin sends a max-age or s-maxage. (401, 416 and the rest: never.) */
const CACHED_WITH_MAX_AGE_ERRORS: ReadonlySet<number> = new Set([400, 403, 405, 412, 415]);
/** CloudFront's ErrorCachingMinTTL when the distribution sets none for a code, in seconds. */
const DEFAULT_ERROR_CACHING_MIN_TTL = 10;

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

/** An object as an S3 origin answers a GET (a missing key is 403: origin access control grants no ListBucket). */
export interface S3OriginResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Reads objects for S3 origins (the local S3 engine). */
export type S3OriginReader = (bucket: string, key: string, ifNoneMatch?: string) => Promise<S3OriginResponse>;

/** Where a cache behaviour sends requests. */
type Origin = { readonly kind: 'api' } | { readonly kind: 's3'; readonly bucket: string };

/** One cache behaviour of the distribution (the default one has no pattern). */
interface Behavior {
  readonly pattern: RegExp | undefined;
  readonly origin: Origin;
  readonly policy: CachePolicy;
  readonly allowedMethods: ReadonlySet<string>;
  readonly cachedMethods: ReadonlySet<string>;
  /** Headers its response headers policy adds to every response (none without a policy). */
  readonly responseHeaders: readonly ResponseHeaderRule[];
  /** Its viewer-request CloudFront Function, if one is associated. */
  readonly viewerRequest: LocalCloudFrontFunction | undefined;
}

/** One header a response headers policy sets: with `override`, replacing the origin's; else only where the origin sent none. */
interface ResponseHeaderRule {
  readonly name: string;
  readonly value: string;
  readonly override: boolean;
}

/** A CloudFront path pattern (`*` any characters, `?` one character; case-sensitive) as a regular expression. */
export const pathPatternRegExp = (pattern: string): RegExp =>
  new RegExp(`^${(pattern.startsWith('/') ? pattern : `/${pattern}`).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);

/** Options of {@link LocalCdn}. */
export interface LocalCdnOptions {
  /** The clock (epoch milliseconds) that ages cache entries. @default Date.now */
  readonly now?: () => number;
  /**
   * Replacements applied to response headers policy values when sent (AWS host names the stack
   * names, e.g. the WebSocket API's origin in a CSP, to their local servers). @default none
   */
  readonly headerRewrites?: () => readonly (readonly [string, string])[];
}

/** Counters of the edge. */
export interface CdnStats {
  hits: number;
  misses: number;
  refreshHits: number;
  passes: number;
  /** Answers a viewer-request function generated (the origin never saw the request). */
  functionResponses: number;
}

/**
 * A CloudFront-like caching layer from the template's distribution: the default behaviour and any
 * path-pattern cache behaviours, each with its cache policy (TTL bounds, headers and query strings
 * in the cache key; managed policies by id), allowed and cached methods, and origin: the HTTP API
 * (custom origin, with the origin request policy) or an S3 bucket (origin access control, read
 * through the local S3 engine). TTLs follow the origin's `s-maxage` (which wins) or `max-age`, clamped
 * to the policy's MinTTL and MaxTTL (DefaultTTL without either; MinTTL with `no-store`, `no-cache` or
 * `private`); stale entries with an ETag are revalidated; viewer `If-None-Match` is answered from the
 * edge. Error responses are cached as CloudFront documents it: 404, 414 and 5xx for the
 * ErrorCachingMinTTL (the distribution's CustomErrorResponses, else 10 s) whatever their
 * `Cache-Control`, 400, 403, 405, 412 and 415 only with a max-age/s-maxage, each for the greater of
 * that TTL and the (MaxTTL-clamped) max-age; 401, 416 and other codes never.
 * A behaviour's viewer-request CloudFront Function runs before the cache is consulted (see
 * {@link LocalCloudFrontFunction}); a response it generates is sent as is (`FunctionGeneratedResponse
 * from cloudfront`), a failing function answers `503`.
 * Responses carry `X-Cache: Hit from cloudfront | Miss from cloudfront | RefreshHit from cloudfront`,
 * and the headers of the behaviour's response headers policy (security and custom headers).
 */
export class LocalCdn {
  public endpoint = '';
  public readonly stats: CdnStats = { hits: 0, misses: 0, refreshHits: 0, passes: 0, functionResponses: 0 };
  private readonly server: Server;
  private readonly cache = new Map<string, CachedResponse>();
  private behaviors: Behavior[] = [];
  /** ErrorCachingMinTTL by status code, in seconds, from the distribution's CustomErrorResponses. */
  private errorCachingMinTtl = new Map<number, number>();
  private readonly maxEntries = 50_000;
  private readonly now: () => number;
  private readonly headerRewrites: () => readonly (readonly [string, string])[];
  /** The response headers policy rules of the behaviour each in-flight request matched. */
  private readonly policyHeaders = new WeakMap<ServerResponse, readonly ResponseHeaderRule[]>();

  public constructor(
    private readonly template: LocalTemplate,
    public readonly logicalId: string,
    private readonly origin: () => string,
    private readonly s3?: S3OriginReader,
    options: LocalCdnOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.headerRewrites = options.headerRewrites ?? (() => []);
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  public load(): void {
    const config = (this.template.resource(this.logicalId).Properties?.DistributionConfig ?? {}) as Record<string, unknown>;
    const origins = new Map<string, Origin>();
    for (const origin of (config.Origins as Record<string, unknown>[] | undefined) ?? []) {
      const id = String(origin.Id);
      if (origin.S3OriginConfig) {
        // The bucket is named by GetAtt (RegionalDomainName / DomainName) on a bucket of this template.
        const bucketId = ((origin.DomainName as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'] ?? [])[0];
        if (!bucketId || this.template.resource(bucketId).Type !== 'AWS::S3::Bucket') {
          throw new UnsupportedTemplateError(this.logicalId, `Origins.${id}.DomainName`, 'S3 origins must name a bucket of this stack with Fn::GetAtt');
        }
        if (!this.s3) throw new UnsupportedTemplateError(this.logicalId, `Origins.${id}`, 'S3 origins need the local S3 engine');
        origins.set(id, { kind: 's3', bucket: this.template.resolveString({ Ref: bucketId }, `${this.logicalId}.Origins.${id}`) });
      } else {
        origins.set(id, { kind: 'api' });
      }
    }
    const behavior = (raw: Record<string, unknown>, where: string, pattern?: string): Behavior => {
      const originId = String(raw.TargetOriginId ?? '');
      const origin = origins.get(originId) ?? (origins.size === 0 ? { kind: 'api' as const } : undefined);
      if (!origin) throw new UnsupportedTemplateError(this.logicalId, `${where}.TargetOriginId`, `no origin ${originId}`);
      if (origin.kind === 'api' && raw.OriginRequestPolicyId && raw.OriginRequestPolicyId !== ALL_VIEWER_EXCEPT_HOST) {
        throw new UnsupportedTemplateError(this.logicalId, `${where}.OriginRequestPolicyId`, 'only AllViewerExceptHostHeader is supported');
      }
      return {
        pattern: pattern === undefined ? undefined : pathPatternRegExp(pattern),
        origin,
        policy: this.cachePolicyOf(raw.CachePolicyId, `${where}.CachePolicyId`),
        allowedMethods: new Set((raw.AllowedMethods as string[] | undefined) ?? ['GET', 'HEAD']),
        cachedMethods: new Set((raw.CachedMethods as string[] | undefined) ?? ['GET', 'HEAD']),
        responseHeaders: this.responseHeadersOf(raw.ResponseHeadersPolicyId, `${where}.ResponseHeadersPolicyId`),
        viewerRequest: this.viewerRequestFunctionOf(raw.FunctionAssociations, `${where}.FunctionAssociations`),
      };
    };
    const defaultBehavior = behavior((config.DefaultCacheBehavior ?? {}) as Record<string, unknown>, 'DefaultCacheBehavior');
    if (defaultBehavior.origin.kind !== 'api') throw new UnsupportedTemplateError(this.logicalId, 'DefaultCacheBehavior', 'the default behaviour must target the HTTP API');
    this.errorCachingMinTtl = new Map();
    for (const [index, raw] of ((config.CustomErrorResponses as Record<string, unknown>[] | undefined) ?? []).entries()) {
      // Only error caching is emulated: a custom page or status would need fetching and rewriting.
      if (raw.ResponsePagePath !== undefined || raw.ResponseCode !== undefined) {
        throw new UnsupportedTemplateError(this.logicalId, `CustomErrorResponses.${index}`, 'only ErrorCachingMinTTL is supported (no ResponsePagePath or ResponseCode)');
      }
      if (raw.ErrorCachingMinTTL !== undefined) this.errorCachingMinTtl.set(Number(raw.ErrorCode), Number(raw.ErrorCachingMinTTL));
    }
    // CloudFront evaluates path-pattern behaviours in order, then the default.
    this.behaviors = [
      ...((config.CacheBehaviors as Record<string, unknown>[] | undefined) ?? []).map((raw, index) => behavior(raw, `CacheBehaviors.${index}`, String(raw.PathPattern))),
      defaultBehavior,
    ];
  }

  /** The behaviour's viewer-request CloudFront Function; viewer-response functions and Lambda@Edge are refused. */
  private viewerRequestFunctionOf(associations: unknown, where: string): LocalCloudFrontFunction | undefined {
    let found: LocalCloudFrontFunction | undefined;
    for (const [index, association] of ((associations as Record<string, unknown>[] | undefined) ?? []).entries()) {
      if (association.EventType !== 'viewer-request') throw new UnsupportedTemplateError(this.logicalId, `${where}.${index}.EventType`, 'only viewer-request functions are emulated');
      found = LocalCloudFrontFunction.fromTemplate(this.template, association.FunctionARN, `${this.logicalId}.${where}.${index}`);
    }
    return found;
  }

  private cachePolicyOf(id: unknown, where: string): CachePolicy {
    const defaults: CachePolicy = { minTtl: 0, defaultTtl: 86400, maxTtl: 31536000, headers: [], queryStrings: 'none' };
    if (id === undefined) return defaults;
    if (typeof id === 'string') {
      const managed = MANAGED_CACHE_POLICIES[id];
      if (!managed) throw new UnsupportedTemplateError(this.logicalId, where, `managed cache policy ${id} is not supported`);
      return managed;
    }
    const policyRef = (id as { Ref?: string }).Ref;
    if (!policyRef) throw new UnsupportedTemplateError(this.logicalId, where, 'expected a managed policy id or a Ref');
    const policy = (this.template.resource(policyRef).Properties?.CachePolicyConfig ?? {}) as Record<string, any>;
    const parameters = policy.ParametersInCacheKeyAndForwardedToOrigin ?? {};
    return {
      minTtl: Number(policy.MinTTL ?? 0),
      defaultTtl: Number(policy.DefaultTTL ?? 86400),
      maxTtl: Number(policy.MaxTTL ?? 31536000),
      headers: ((parameters.HeadersConfig?.Headers as string[] | undefined) ?? []).map((header) => header.toLowerCase()),
      queryStrings: parameters.QueryStringsConfig?.QueryStringBehavior === 'none' ? 'none' : 'all',
    };
  }

  /**
   * The headers of a response headers policy of this template (`Ref`): its security headers
   * (Content-Security-Policy, X-Content-Type-Options, X-Frame-Options, Referrer-Policy,
   * Strict-Transport-Security, X-XSS-Protection) and custom headers, each with its `Override`.
   * CORS, header removal and Server-Timing are not emulated, and refused.
   */
  private responseHeadersOf(id: unknown, where: string): readonly ResponseHeaderRule[] {
    if (id === undefined) return [];
    const policyRef = (id as { Ref?: string } | null)?.Ref;
    if (typeof id === 'string' || !policyRef) throw new UnsupportedTemplateError(this.logicalId, where, 'only response headers policies of this template (Ref) are supported');
    const resource = this.template.resource(policyRef);
    if (resource.Type !== 'AWS::CloudFront::ResponseHeadersPolicy') throw new UnsupportedTemplateError(this.logicalId, where, `${policyRef} is not a response headers policy`);
    const config = (resource.Properties?.ResponseHeadersPolicyConfig ?? {}) as Record<string, any>;
    for (const unsupported of ['CorsConfig', 'RemoveHeadersConfig', 'ServerTimingHeadersConfig']) {
      if (config[unsupported] !== undefined) throw new UnsupportedTemplateError(policyRef, `ResponseHeadersPolicyConfig.${unsupported}`, 'not supported by the local CDN');
    }
    const resolve = (value: unknown, field: string) => this.template.resolveString(value, `${policyRef}.${field}`);
    const security = (config.SecurityHeadersConfig ?? {}) as Record<string, any>;
    const rules: ResponseHeaderRule[] = [];
    const add = (name: string, value: string, override: unknown) => rules.push({ name, value, override: override === true });
    const csp = security.ContentSecurityPolicy;
    if (csp) add('content-security-policy', resolve(csp.ContentSecurityPolicy, 'ContentSecurityPolicy'), csp.Override);
    if (security.ContentTypeOptions) add('x-content-type-options', 'nosniff', security.ContentTypeOptions.Override);
    const frame = security.FrameOptions;
    if (frame) add('x-frame-options', String(frame.FrameOption), frame.Override);
    const referrer = security.ReferrerPolicy;
    if (referrer) add('referrer-policy', String(referrer.ReferrerPolicy), referrer.Override);
    const hsts = security.StrictTransportSecurity;
    if (hsts) add('strict-transport-security', [`max-age=${Number(hsts.AccessControlMaxAgeSec)}`, ...(hsts.IncludeSubdomains ? ['includeSubDomains'] : []), ...(hsts.Preload ? ['preload'] : [])].join('; '), hsts.Override);
    const xss = security.XSSProtection;
    if (xss) add('x-xss-protection', xss.Protection ? ['1', ...(xss.ModeBlock ? ['mode=block'] : []), ...(xss.ReportUri ? [`report=${String(xss.ReportUri)}`] : [])].join('; ') : '0', xss.Override);
    for (const [index, item] of ((config.CustomHeadersConfig?.Items as Record<string, unknown>[] | undefined) ?? []).entries()) {
      add(String(item.Header).toLowerCase(), resolve(item.Value, `CustomHeadersConfig.Items.${index}`), item.Override);
    }
    return rules;
  }

  public async start(port?: number): Promise<string> {
    this.endpoint = `http://127.0.0.1:${await listen(this.server, port)}`;
    return this.endpoint;
  }

  public async stop(): Promise<void> {
    await close(this.server);
  }

  private cacheKey(request: IncomingMessage, url: URL, policy: CachePolicy): string {
    const parts = [url.pathname];
    if (policy.queryStrings === 'all') parts.push([...url.searchParams].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join('&'));
    for (const header of policy.headers) parts.push(`${header}:${String(request.headers[header] ?? '')}`);
    return createHash('sha256').update(parts.join('\n')).digest('hex');
  }

  /** The origin's freshness for a shared cache, in seconds: `s-maxage`, else `max-age`, else none. */
  private originMaxAge(headers: Record<string, string>): number | undefined {
    const directives = (headers['cache-control'] ?? '').toLowerCase();
    const sMaxAge = /s-maxage=(\d+)/.exec(directives);
    const maxAge = /(?:^|[,\s])max-age=(\d+)/.exec(directives);
    return sMaxAge ? Number(sMaxAge[1]) : maxAge ? Number(maxAge[1]) : undefined;
  }

  /** How long the edge keeps a response of this status, in milliseconds (0: not at all). */
  private ttlOf(status: number, headers: Record<string, string>, policy: CachePolicy): number {
    if (status >= 400) return this.errorTtlOf(status, headers, policy);
    if (status !== 200) return 0;
    const directives = (headers['cache-control'] ?? '').toLowerCase();
    // With these directives CloudFront keeps the answer for the policy's minimum TTL (0: not at all).
    if (/(^|,)\s*(no-store|private|no-cache)\b/.test(directives)) return policy.minTtl * 1000;
    return Math.min(policy.maxTtl, Math.max(policy.minTtl, this.originMaxAge(headers) ?? policy.defaultTtl)) * 1000;
  }

  /**
   * CloudFront's error caching: the ErrorCachingMinTTL, or the origin's max-age/s-maxage (at most
   * the MaxTTL) when longer. Other directives (`no-store` too) change nothing.
   */
  private errorTtlOf(status: number, headers: Record<string, string>, policy: CachePolicy): number {
    const maxAge = this.originMaxAge(headers);
    if (!ALWAYS_CACHED_ERRORS.has(status) && !(CACHED_WITH_MAX_AGE_ERRORS.has(status) && maxAge !== undefined)) return 0;
    const minTtl = this.errorCachingMinTtl.get(status) ?? DEFAULT_ERROR_CACHING_MIN_TTL;
    return Math.max(minTtl, maxAge === undefined ? 0 : Math.min(policy.maxTtl, maxAge)) * 1000;
  }

  private behaviorFor(pathname: string): Behavior {
    return this.behaviors.find((behavior) => behavior.pattern === undefined || behavior.pattern.test(pathname)) ?? this.behaviors[this.behaviors.length - 1]!;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (refuseForeignRequest(request, response)) return; // local-only: DNS rebinding, cross-site form posts
    let url = new URL(request.url ?? '/', 'http://local');
    const method = request.method ?? 'GET';
    try {
      const behavior = this.behaviorFor(url.pathname);
      this.policyHeaders.set(response, behavior.responseHeaders);
      if (!behavior.allowedMethods.has(method)) {
        // CloudFront refuses methods the behaviour does not allow, without asking the origin.
        return this.reply(response, 403, { 'content-type': 'text/plain' }, Buffer.from('This distribution is not configured to allow the HTTP request method that was used for this request.'), 'Error from cloudfront');
      }
      // A viewer-request function runs before the cache is consulted; it may answer by itself.
      if (behavior.viewerRequest) {
        let outcome;
        try {
          outcome = await behavior.viewerRequest.viewerRequest(
            { method, path: url.pathname + url.search, headers: request.headers, viewerIp: request.socket.remoteAddress ?? '127.0.0.1' },
            { id: this.logicalId, domainName: new URL(this.endpoint || 'http://local').host },
          );
        } catch {
          return this.reply(response, 503, { 'content-type': 'text/plain' }, Buffer.from('The CloudFront function associated with the CloudFront distribution is invalid or could not run.'), 'FunctionExecutionError from cloudfront');
        }
        if (outcome.kind === 'response') {
          this.stats.functionResponses++;
          return this.reply(response, outcome.status, outcome.headers, outcome.body, 'FunctionGeneratedResponse from cloudfront');
        }
        url = new URL(outcome.path, 'http://local');
        request.headers = outcome.headers;
      }
      if (!behavior.cachedMethods.has(method)) {
        this.stats.passes++;
        const body = await readBody(request, 10 * 1024 * 1024);
        const upstream = await this.fetchFrom(behavior, request, url, body);
        return this.reply(response, upstream.status, upstream.headers, upstream.body, 'Miss from cloudfront');
      }
      const key = this.cacheKey(request, url, behavior.policy);
      const cached = this.cache.get(key);
      const now = this.now();
      if (cached && now - cached.storedAt < cached.ttlMs) {
        this.stats.hits++;
        return this.replyCached(request, response, cached, 'Hit from cloudfront');
      }
      if (cached?.headers.etag) {
        const upstream = await this.fetchFrom(behavior, request, url, Buffer.alloc(0), { 'if-none-match': cached.headers.etag });
        if (upstream.status === 304) {
          this.stats.refreshHits++;
          cached.storedAt = now;
          cached.ttlMs = this.ttlOf(cached.status, { ...cached.headers, ...upstream.headers }, behavior.policy);
          return this.replyCached(request, response, cached, 'RefreshHit from cloudfront');
        }
        return this.store(request, response, key, upstream, behavior.policy);
      }
      const upstream = await this.fetchFrom(behavior, request, url, Buffer.alloc(0));
      return this.store(request, response, key, upstream, behavior.policy);
    } catch {
      this.reply(response, 502, { 'content-type': 'text/plain' }, Buffer.from('Bad Gateway'), 'Error from cloudfront');
    }
  }

  private store(request: IncomingMessage, response: ServerResponse, key: string, upstream: { status: number; headers: Record<string, string>; body: Buffer }, policy: CachePolicy): void {
    this.stats.misses++;
    // A HEAD response has no body: storing it would serve empty bodies to later GETs of the same key.
    const ttlMs = request.method !== 'HEAD' ? this.ttlOf(upstream.status, upstream.headers, policy) : 0;
    if (ttlMs > 0) {
      if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
      const entry = { ...upstream, storedAt: this.now(), ttlMs };
      this.cache.set(key, entry);
      return this.replyCached(request, response, entry, 'Miss from cloudfront');
    }
    this.reply(response, upstream.status, upstream.headers, upstream.body, 'Miss from cloudfront');
  }

  /** Asks the behaviour's origin: the HTTP API over HTTP, or an S3 bucket (key = the path without its leading `/`). */
  private async fetchFrom(behavior: Behavior, request: IncomingMessage, url: URL, body: Buffer, extra: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    if (behavior.origin.kind === 'api') return this.fetchOrigin(request, url, body, extra);
    let key: string;
    try {
      key = decodeURIComponent(url.pathname.slice(1));
    } catch {
      return { status: 400, headers: { 'content-type': 'text/plain' }, body: Buffer.from('Bad Request') };
    }
    const ifNoneMatch = extra['if-none-match'] ?? (typeof request.headers['if-none-match'] === 'string' ? request.headers['if-none-match'] : undefined);
    return this.s3!(behavior.origin.bucket, key, ifNoneMatch);
  }

  private replyCached(request: IncomingMessage, response: ServerResponse, cached: CachedResponse, xCache: string): void {
    const etag = cached.headers.etag;
    const inm = request.headers['if-none-match'];
    if (cached.status === 200 && etag && inm && inm.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag.replace(/^W\//, ''))) {
      const { 'content-length': _length, 'content-type': _type, ...rest } = cached.headers;
      return this.reply(response, 304, rest, Buffer.alloc(0), xCache, cached.storedAt);
    }
    // Node sends no body for HEAD; passing it keeps Content-Length that of the GET, as HEAD requires.
    this.reply(response, cached.status, cached.headers, cached.body, xCache, cached.storedAt);
  }

  private reply(response: ServerResponse, status: number, headers: Record<string, string>, body: Buffer, xCache: string, storedAt?: number): void {
    const out: Record<string, string> = { ...headers, 'x-cache': xCache, via: '1.1 local.cloudfront.net (CloudFront)' };
    for (const rule of this.policyHeaders.get(response) ?? []) {
      if (!rule.override && out[rule.name] !== undefined) continue;
      out[rule.name] = this.headerRewrites().reduce((value, [from, to]) => value.split(from).join(to), rule.value);
    }
    delete out['transfer-encoding'];
    if (storedAt !== undefined) out.age = String(Math.floor((this.now() - storedAt) / 1000));
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
