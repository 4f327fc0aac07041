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
      const request = httpRequest({ host: '127.0.0.1', port, path: '/host', headers: { host: 'viewer.example.com' } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(Buffer.concat(chunks).toString()));
      });
      request.on('error', reject);
      request.end();
    });
    // Assess
    const { host } = JSON.parse(body);
    expect(host).not.toBe('viewer.example.com');
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
