import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCdn } from '../../local/cdn.ts';
import { close, listen } from '../../local/http-util.ts';
import { LocalTemplate } from '../../local/template.ts';
import { sleep } from './support.ts';

/** Managed origin request policy AllViewerExceptHostHeader. */
const ALL_VIEWER_EXCEPT_HOST = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

interface OriginRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

describe('LocalCdn: CloudFront caching fidelity', () => {
  let origin: Server;
  let originUrl: string;
  let cdn: LocalCdn;
  const seen: OriginRequest[] = [];
  const hits = (path: string) => seen.filter((request) => request.path === path).length;
  let version = 0;

  const get = async (path: string, headers: Record<string, string> = {}, method = 'GET') => {
    const response = await fetch(`${cdn.endpoint}${path}`, { method, headers });
    return { status: response.status, xCache: response.headers.get('x-cache'), headers: response.headers, body: await response.text() };
  };

  beforeAll(async () => {
    // An origin whose behaviour is chosen by the path.
    origin = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const url = new URL(request.url ?? '/', 'http://origin');
        seen.push({ method: request.method ?? '', path: url.pathname, headers: request.headers, body: Buffer.concat(chunks).toString() });
        const send = (status: number, headers: Record<string, string>, body = '') => {
          response.writeHead(status, headers);
          response.end(body);
        };
        const count = String(hits(url.pathname));
        switch (url.pathname) {
          case '/cached':
          case '/per-credential':
          case '/head-first':
            return send(200, { 'content-type': 'application/json', 'cache-control': 'public, s-maxage=60' }, JSON.stringify({ count, who: request.headers.authorization ?? null }));
          case '/no-store':
            return send(200, { 'cache-control': 'no-store' }, count);
          case '/private':
            return send(200, { 'cache-control': 'private, max-age=60' }, count);
          case '/short': {
            const etag = '"v1"';
            if (request.headers['if-none-match'] === etag) return send(304, { etag, 'cache-control': 's-maxage=1' });
            return send(200, { etag, 'cache-control': 's-maxage=1', 'content-type': 'text/plain' }, `body ${count}`);
          }
          case '/etagged':
            return send(200, { etag: '"e1"', 'cache-control': 's-maxage=60', 'content-type': 'text/plain' }, 'tagged');
          case '/echo':
            return send(200, { 'content-type': 'application/json', 'cache-control': 's-maxage=60' }, JSON.stringify({ method: request.method, body: Buffer.concat(chunks).toString(), version: ++version }));
          case '/host':
            return send(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }, JSON.stringify({ host: request.headers.host, forwarded: request.headers['x-forwarded-host'] ?? null }));
          default:
            return send(404, { 'content-type': 'text/plain' }, 'no');
        }
      });
    });
    originUrl = `http://127.0.0.1:${await listen(origin)}`;
    const template = new LocalTemplate(
      {
        Resources: {
          Reads: {
            Type: 'AWS::CloudFront::CachePolicy',
            Properties: {
              CachePolicyConfig: {
                Name: 'reads',
                MinTTL: 0,
                DefaultTTL: 0,
                MaxTTL: 31536000,
                ParametersInCacheKeyAndForwardedToOrigin: {
                  CookiesConfig: { CookieBehavior: 'none' },
                  EnableAcceptEncodingGzip: true,
                  HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['Authorization'] },
                  QueryStringsConfig: { QueryStringBehavior: 'all' },
                },
              },
            },
          },
          Edge: {
            Type: 'AWS::CloudFront::Distribution',
            Properties: {
              DistributionConfig: {
                Enabled: true,
                DefaultCacheBehavior: {
                  AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
                  CachedMethods: ['GET', 'HEAD'],
                  CachePolicyId: { Ref: 'Reads' },
                  OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST,
                  TargetOriginId: 'api',
                  ViewerProtocolPolicy: 'https-only',
                },
                Origins: [{ Id: 'api', DomainName: 'example.execute-api.us-east-1.amazonaws.com', CustomOriginConfig: { OriginProtocolPolicy: 'https-only' } }],
              },
            },
          },
        },
      },
      '/nonexistent',
      {},
    );
    cdn = new LocalCdn(template, 'Edge', () => originUrl);
    cdn.load();
    await cdn.start(0);
  });
  afterAll(async () => {
    await cdn?.stop();
    if (origin) await close(origin);
  });

  it('misses, then hits within s-maxage without going to the origin', async () => {
    // Act
    const first = await get('/cached');
    const second = await get('/cached');
    // Assess
    expect(first.xCache).toBe('Miss from cloudfront');
    expect(second.xCache).toBe('Hit from cloudfront');
    expect(second.body).toBe(first.body);
    expect(second.headers.get('age')).toMatch(/^\d+$/);
    expect(second.headers.get('via')).toContain('cloudfront');
    expect(hits('/cached')).toBe(1);
  });

  it('keys the cache on the query string (policy: all)', async () => {
    // Act
    await get('/cached?page=1');
    const other = await get('/cached?page=2');
    const again = await get('/cached?page=1');
    // Assess
    expect(other.xCache).toBe('Miss from cloudfront');
    expect(again.xCache).toBe('Hit from cloudfront');
  });

  it('keeps Authorization in the cache key: another credential misses and never sees the first one’s response', async () => {
    // Act
    const alice = await get('/per-credential', { authorization: 'Bearer alice' });
    const bob = await get('/per-credential', { authorization: 'Bearer bob' });
    const aliceAgain = await get('/per-credential', { authorization: 'Bearer alice' });
    // Assess
    expect(alice.xCache).toBe('Miss from cloudfront');
    expect(bob.xCache).toBe('Miss from cloudfront');
    expect(JSON.parse(bob.body).who).toBe('Bearer bob');
    expect(aliceAgain.xCache).toBe('Hit from cloudfront');
    expect(JSON.parse(aliceAgain.body).who).toBe('Bearer alice');
  });

  it.each([
    ['no-store', '/no-store'],
    ['private', '/private'],
  ])('never caches a %s response', async (_name, path) => {
    // Act
    const first = await get(path);
    const second = await get(path);
    // Assess
    expect([first.xCache, second.xCache]).toEqual(['Miss from cloudfront', 'Miss from cloudfront']);
    expect([first.body, second.body]).toEqual(['1', '2']);
  });

  it('revalidates a stale entry that has an ETag (RefreshHit) with If-None-Match to the origin', async () => {
    // Prepare
    const first = await get('/short');
    await sleep(1_150);
    // Act
    const refreshed = await get('/short');
    const fresh = await get('/short');
    // Assess
    expect(first.xCache).toBe('Miss from cloudfront');
    expect(refreshed.xCache).toBe('RefreshHit from cloudfront');
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toBe(first.body);
    expect(fresh.xCache).toBe('Hit from cloudfront');
    const conditional = seen.filter((request) => request.path === '/short');
    expect(conditional).toHaveLength(2);
    expect(conditional[1]!.headers['if-none-match']).toBe('"v1"');
  });

  it('answers a viewer If-None-Match with 304 from the edge', async () => {
    // Prepare
    await get('/etagged');
    const before = hits('/etagged');
    // Act
    const response = await get('/etagged', { 'if-none-match': '"e1"' });
    const weak = await get('/etagged', { 'if-none-match': 'W/"e1", "other"' });
    const mismatch = await get('/etagged', { 'if-none-match': '"e0"' });
    // Assess
    expect(response.status).toBe(304);
    expect(response.body).toBe('');
    expect(response.headers.get('etag')).toBe('"e1"');
    expect(weak.status).toBe(304);
    expect(mismatch.status).toBe(200);
    expect(mismatch.body).toBe('tagged');
    expect(hits('/etagged')).toBe(before);
  });

  it('passes a POST through to the origin, uncached, with its body', async () => {
    // Act
    const first = await fetch(`${cdn.endpoint}/echo`, { method: 'POST', body: 'payload-1' });
    const second = await fetch(`${cdn.endpoint}/echo`, { method: 'POST', body: 'payload-2' });
    // Assess
    const [a, b] = [await first.json(), await second.json()];
    expect(a).toMatchObject({ method: 'POST', body: 'payload-1' });
    expect(b).toMatchObject({ method: 'POST', body: 'payload-2' });
    expect(b.version).toBeGreaterThan(a.version);
    expect(second.headers.get('x-cache')).not.toMatch(/^Hit/);
  });

  it('does not forward the viewer Host header to the origin', async () => {
    // Act
    const body = await new Promise<string>((resolve, reject) => {
      const { port } = new URL(cdn.endpoint);
      // A loopback name other than the origin's (the local CDN refuses non-loopback hosts).
      const request = httpRequest({ host: '127.0.0.1', port, path: '/host', headers: { host: `localhost:${port}` } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(Buffer.concat(chunks).toString()));
      });
      request.on('error', reject);
      request.end();
    });
    // Assess
    const { host } = JSON.parse(body);
    expect(host).not.toBe(`localhost:${new URL(cdn.endpoint).port}`);
    expect(host).toBe(new URL(originUrl).host);
    expect(seen.at(-1)!.headers.host).toBe(new URL(originUrl).host);
  });

  it('does not serve a GET from an entry a HEAD request filled (no empty bodies from the cache)', async () => {
    // Prepare
    const head = await get('/head-first', {}, 'HEAD');
    // Act
    const response = await get('/head-first');
    // Assess
    expect(head.status).toBe(200);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ who: null });
  });

  it('answers a HEAD from a cached GET: a Hit with the GET’s Content-Length and no body', async () => {
    // Prepare
    const full = await get('/cached?for=head');
    // Act
    const head = await get('/cached?for=head', {}, 'HEAD');
    // Assess
    expect(head.xCache).toBe('Hit from cloudfront');
    expect(head.body).toBe('');
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(full.body)));
  });
});

/** A distribution over one HTTP origin, with a cache policy and optional error caching TTLs. */
const distributionTemplate = (policy: { min: number; default: number; max: number }, errorCachingMinTtl: Record<number, number> = {}): LocalTemplate =>
  new LocalTemplate(
    {
      Resources: {
        Reads: {
          Type: 'AWS::CloudFront::CachePolicy',
          Properties: {
            CachePolicyConfig: {
              Name: 'reads',
              MinTTL: policy.min,
              DefaultTTL: policy.default,
              MaxTTL: policy.max,
              ParametersInCacheKeyAndForwardedToOrigin: {
                CookiesConfig: { CookieBehavior: 'none' },
                EnableAcceptEncodingGzip: true,
                HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['Authorization'] },
                QueryStringsConfig: { QueryStringBehavior: 'all' },
              },
            },
          },
        },
        Edge: {
          Type: 'AWS::CloudFront::Distribution',
          Properties: {
            DistributionConfig: {
              Enabled: true,
              DefaultCacheBehavior: {
                AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
                CachedMethods: ['GET', 'HEAD'],
                CachePolicyId: { Ref: 'Reads' },
                OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST,
                TargetOriginId: 'api',
                ViewerProtocolPolicy: 'https-only',
              },
              Origins: [{ Id: 'api', DomainName: 'example.execute-api.us-east-1.amazonaws.com', CustomOriginConfig: { OriginProtocolPolicy: 'https-only' } }],
              ...(Object.keys(errorCachingMinTtl).length
                ? { CustomErrorResponses: Object.entries(errorCachingMinTtl).map(([code, ttl]) => ({ ErrorCode: Number(code), ErrorCachingMinTTL: ttl })) }
                : {}),
            },
          },
        },
      },
    },
    '/nonexistent',
    {},
  );

describe('LocalCdn: CloudFront TTLs and error caching, on a controllable clock', () => {
  let origin: Server;
  let originUrl: string;
  /** Origin requests by path and query. */
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  const originHits = (url: string) => seen.filter((request) => request.url === url).length;
  /** The revalidation target answers 401 once its credential is revoked. */
  let revoked = false;
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const advance = (ms: number) => {
    clock += ms;
  };
  const cdns: LocalCdn[] = [];
  /** CloudFront's defaults: no CustomErrorResponses (ErrorCachingMinTTL 10 s); MinTTL 0, DefaultTTL 0, MaxTTL 60. */
  let plain: LocalCdn;
  /** ErrorCachingMinTTL 0 for 404 and 500, 3 s for 503. */
  let configured: LocalCdn;
  /** MinTTL 5, DefaultTTL 20, MaxTTL 60. */
  let bounded: LocalCdn;

  const get = async (cdn: LocalCdn, url: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${cdn.endpoint}${url}`, { headers });
    return { status: response.status, xCache: response.headers.get('x-cache'), body: await response.text() };
  };
  /** A distinct URL per test and CDN, so entries and origin counts never mix. */
  let serial = 0;
  const unique = (path: string) => `${path}${path.includes('?') ? '&' : '?'}n=${++serial}`;

  beforeAll(async () => {
    // /status/<code>?cc=<Cache-Control>: that status and Cache-Control, a body counting the origin hits.
    origin = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://origin');
      seen.push({ url: url.pathname + url.search, headers: request.headers });
      const count = String(originHits(url.pathname + url.search));
      const cacheControl = url.searchParams.get('cc');
      const status = /^\/status\/(\d{3})$/.exec(url.pathname);
      if (status) {
        const code = Number(status[1]);
        const type = code >= 400 ? 'application/problem+json' : 'application/json';
        response.writeHead(code, { 'content-type': type, ...(cacheControl ? { 'cache-control': cacheControl } : {}) });
        return response.end(JSON.stringify({ status: code, count }));
      }
      if (url.pathname === '/revalidated') {
        if (revoked) {
          response.writeHead(401, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' });
          return response.end(JSON.stringify({ status: 401, title: 'Unauthorized' }));
        }
        const headers = { etag: '"r1"', 'cache-control': 'max-age=31536000, immutable, s-maxage=5' };
        if (request.headers['if-none-match'] === '"r1"') {
          response.writeHead(304, headers);
          return response.end();
        }
        response.writeHead(200, { 'content-type': 'application/json', ...headers });
        return response.end(JSON.stringify({ secret: 'terminal task', count }));
      }
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('no');
    });
    originUrl = `http://127.0.0.1:${await listen(origin)}`;
    const start = async (template: LocalTemplate) => {
      const cdn = new LocalCdn(template, 'Edge', () => originUrl, undefined, { now: () => clock });
      cdn.load();
      await cdn.start(0);
      cdns.push(cdn);
      return cdn;
    };
    plain = await start(distributionTemplate({ min: 0, default: 0, max: 60 }));
    configured = await start(distributionTemplate({ min: 0, default: 0, max: 60 }, { 404: 0, 500: 0, 503: 3 }));
    bounded = await start(distributionTemplate({ min: 5, default: 20, max: 60 }));
  });
  afterAll(async () => {
    for (const cdn of cdns) await cdn.stop();
    if (origin) await close(origin);
  });

  it('serves a 500 without Cache-Control from the edge for the default ErrorCachingMinTTL of 10 s, then asks the origin again', async () => {
    // Prepare
    const url = unique('/status/500');
    // Act
    const first = await get(plain, url);
    advance(9_900);
    const replayed = await get(plain, url);
    advance(100);
    const expired = await get(plain, url);
    // Assess
    expect([first.status, replayed.status, expired.status]).toEqual([500, 500, 500]);
    expect(replayed.body).toBe(first.body);
    expect(JSON.parse(expired.body).count).toBe('2');
    expect(originHits(url)).toBe(2);
  });

  it.each([404, 500, 502, 503, 504])('caches a %i for the ErrorCachingMinTTL even with Cache-Control: no-store (CloudFront ignores it on errors)', async (code) => {
    // Prepare
    const url = unique(`/status/${code}?cc=no-store`);
    // Act
    await get(plain, url);
    advance(5_000);
    const replayed = await get(plain, url);
    // Assess
    expect(replayed.status).toBe(code);
    expect(originHits(url)).toBe(1);
  });

  it.each([
    [404, 'no-store'],
    [500, 'no-store'],
    [500, ''],
  ])('never serves a %i (Cache-Control "%s") from the edge when the distribution sets its ErrorCachingMinTTL to 0', async (code, cacheControl) => {
    // Prepare
    const url = unique(`/status/${code}${cacheControl ? `?cc=${cacheControl}` : ''}`);
    // Act
    const first = await get(configured, url);
    const second = await get(configured, url);
    // Assess
    expect([first.status, second.status]).toEqual([code, code]);
    expect(JSON.parse(second.body).count).toBe('2');
    expect(originHits(url)).toBe(2);
  });

  it('honours a per-code ErrorCachingMinTTL from the CustomErrorResponses', async () => {
    // Prepare
    const url = unique('/status/503');
    // Act
    await get(configured, url);
    advance(2_900);
    await get(configured, url);
    const cachedHits = originHits(url);
    advance(100);
    await get(configured, url);
    // Assess
    expect(cachedHits).toBe(1);
    expect(originHits(url)).toBe(2);
  });

  it.each([400, 403, 405])('caches a %i only when the origin gives it a max-age, then for the greater of it and the ErrorCachingMinTTL', async (code) => {
    // Prepare
    const bare = unique(`/status/${code}`);
    const withMaxAge = unique(`/status/${code}?cc=max-age=30`);
    // Act
    await get(plain, bare);
    await get(plain, bare);
    await get(plain, withMaxAge);
    advance(29_900);
    await get(plain, withMaxAge);
    const cachedHits = originHits(withMaxAge);
    advance(100);
    await get(plain, withMaxAge);
    // Assess
    expect(originHits(bare)).toBe(2);
    expect(cachedHits).toBe(1);
    expect(originHits(withMaxAge)).toBe(2);
  });

  it.each([401, 416])('never caches a %i, whatever its Cache-Control', async (code) => {
    // Prepare
    const url = unique(`/status/${code}?cc=max-age=60`);
    // Act
    await get(plain, url);
    await get(plain, url);
    // Assess
    expect(originHits(url)).toBe(2);
  });

  it('clamps a max-age above the cache policy’s MaxTTL to the MaxTTL', async () => {
    // Prepare
    const url = unique('/status/200?cc=max-age=3600');
    // Act
    await get(plain, url);
    advance(59_900);
    const beforeMax = await get(plain, url);
    advance(100);
    const atMax = await get(plain, url);
    // Assess
    expect(beforeMax.xCache).toBe('Hit from cloudfront');
    expect(atMax.xCache).toBe('Miss from cloudfront');
    expect(originHits(url)).toBe(2);
  });

  it('lets s-maxage win over max-age at the edge', async () => {
    // Prepare
    const url = unique(`/status/200?cc=${encodeURIComponent('max-age=5, s-maxage=30')}`);
    // Act
    await get(plain, url);
    advance(29_000);
    const within = await get(plain, url);
    // Assess
    expect(within.xCache).toBe('Hit from cloudfront');
    expect(originHits(url)).toBe(1);
  });

  it.each([
    ['no Cache-Control: the DefaultTTL', '', 20_000],
    ['a max-age below the MinTTL: the MinTTL', 'max-age=1', 5_000],
    ['no-store with a MinTTL above 0: the MinTTL', 'no-store', 5_000],
    ['an s-maxage above the MaxTTL: the MaxTTL', 's-maxage=3600', 60_000],
  ])('keeps an answer with %s', async (_name, cacheControl, expectedMs) => {
    // Prepare
    const url = unique(`/status/200${cacheControl ? `?cc=${encodeURIComponent(cacheControl)}` : ''}`);
    // Act
    await get(bounded, url);
    advance(expectedMs - 100);
    const fresh = await get(bounded, url);
    advance(100);
    const stale = await get(bounded, url);
    // Assess
    expect(fresh.xCache).toBe('Hit from cloudfront');
    expect(stale.xCache).toBe('Miss from cloudfront');
  });

  it('revalidates a stale entry with its ETag (RefreshHit), and answers the origin’s 401 instead of the cached body once the credential is refused', async () => {
    // Prepare
    revoked = false;
    const url = unique('/revalidated');
    const credential = { authorization: 'Bearer key-about-to-be-revoked' };
    const first = await get(plain, url, credential);
    advance(5_000);
    const refreshed = await get(plain, url, credential);
    // Act
    revoked = true;
    const fresh = await get(plain, url, credential);
    advance(5_000);
    const refused = await get(plain, url, credential);
    const refusedAgain = await get(plain, url, credential);
    // Assess
    expect(first.xCache).toBe('Miss from cloudfront');
    expect(refreshed.xCache).toBe('RefreshHit from cloudfront');
    expect(refreshed.body).toBe(first.body);
    expect(seen.filter((request) => request.url === url)[1]!.headers['if-none-match']).toBe('"r1"');
    expect(fresh.xCache).toBe('Hit from cloudfront');
    expect([refused.status, refusedAgain.status]).toEqual([401, 401]);
    expect(refused.body).not.toContain('terminal task');
    expect(refusedAgain.body).not.toContain('terminal task');
  });

  it('refuses custom error pages it does not emulate', () => {
    // Prepare
    const template = distributionTemplate({ min: 0, default: 0, max: 60 });
    const config = (template.resource('Edge').Properties as { DistributionConfig: Record<string, unknown> }).DistributionConfig;
    config.CustomErrorResponses = [{ ErrorCode: 404, ResponsePagePath: '/404.html', ResponseCode: 200 }];
    // Act
    const loading = () => new LocalCdn(template, 'Edge', () => originUrl).load();
    // Assess
    expect(loading).toThrow(/ErrorCachingMinTTL/);
  });
});

describe('LocalCdn: response headers policies', () => {
  let origin: Server;
  let cdn: LocalCdn;
  const WS = 'wss://abc123.execute-api.us-east-1.amazonaws.com';

  /** A distribution whose default behaviour uses policy `Headers` and whose `/site/*` behaviour uses none. */
  const policyTemplate = (config: Record<string, unknown>) =>
    new LocalTemplate(
      {
        Resources: {
          Headers: { Type: 'AWS::CloudFront::ResponseHeadersPolicy', Properties: { ResponseHeadersPolicyConfig: { Name: 'headers', ...config } } },
          Edge: {
            Type: 'AWS::CloudFront::Distribution',
            Properties: {
              DistributionConfig: {
                DefaultCacheBehavior: { TargetOriginId: 'api', CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', ResponseHeadersPolicyId: { Ref: 'Headers' } },
                CacheBehaviors: [{ PathPattern: '/plain/*', TargetOriginId: 'api', CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad' }],
                Origins: [{ Id: 'api', DomainName: 'example.execute-api.us-east-1.amazonaws.com', CustomOriginConfig: { OriginProtocolPolicy: 'https-only' } }],
              },
            },
          },
        },
      },
      '/nonexistent',
      {},
    );

  beforeAll(async () => {
    // The origin sends its own Referrer-Policy and X-Frame-Options.
    origin = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html', 'referrer-policy': 'unsafe-url', 'x-frame-options': 'SAMEORIGIN' });
      response.end('<p>page</p>');
    });
    const originUrl = `http://127.0.0.1:${await listen(origin)}`;
    cdn = new LocalCdn(
      policyTemplate({
        SecurityHeadersConfig: {
          ContentSecurityPolicy: { ContentSecurityPolicy: `default-src 'none'; connect-src 'self' ${WS}; frame-ancestors 'none'`, Override: true },
          ContentTypeOptions: { Override: true },
          FrameOptions: { FrameOption: 'DENY', Override: true },
          ReferrerPolicy: { ReferrerPolicy: 'no-referrer', Override: false },
          StrictTransportSecurity: { AccessControlMaxAgeSec: 63072000, IncludeSubdomains: true, Override: true },
        },
        CustomHeadersConfig: { Items: [{ Header: 'Permissions-Policy', Value: 'camera=()', Override: true }] },
      }),
      'Edge',
      () => originUrl,
      undefined,
      { headerRewrites: () => [[WS, 'ws://127.0.0.1:4701']] },
    );
    cdn.load();
    await cdn.start(0);
  });
  afterAll(async () => {
    await cdn?.stop();
    if (origin) await close(origin);
  });

  it('adds the policy\u2019s security and custom headers, replacing the origin\u2019s where Override is set', async () => {
    // Act
    const response = await fetch(`${cdn.endpoint}/page`);
    // Assess
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; connect-src 'self' ws://127.0.0.1:4701; frame-ancestors 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('strict-transport-security')).toBe('max-age=63072000; includeSubDomains');
    expect(response.headers.get('permissions-policy')).toBe('camera=()');
  });

  it('keeps the origin\u2019s header where the policy does not override it', async () => {
    // Act
    const response = await fetch(`${cdn.endpoint}/page`);
    // Assess
    expect(response.headers.get('referrer-policy')).toBe('unsafe-url');
  });

  it('adds nothing on a behaviour without a policy', async () => {
    // Act
    const response = await fetch(`${cdn.endpoint}/plain/page`);
    // Assess
    expect(response.headers.get('content-security-policy')).toBeNull();
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  });

  it('refuses what it does not emulate (a CORS configuration) at load', () => {
    // Prepare
    const unsupported = new LocalCdn(policyTemplate({ CorsConfig: { AccessControlAllowOrigins: { Items: ['*'] } } }), 'Edge', () => 'http://127.0.0.1:1');
    // Act / Assess
    expect(() => unsupported.load()).toThrow(/CorsConfig/);
  });
});
