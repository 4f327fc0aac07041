import { createServer, request as httpRequest, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LocalHttpApi } from '../../local/apigateway/http-api.ts';
import { LocalWebSocketApi } from '../../local/apigateway/websocket-api.ts';
import { LocalCdn } from '../../local/cdn.ts';
import { ApiCallCounter, close, listen } from '../../local/http-util.ts';
import { isLoopbackHost, isLoopbackOrigin, loopbackRefusal } from '../../local/loopback-guard.ts';
import type { LocalFunction } from '../../local/lambda/lambda-service.ts';
import { LocalTemplate } from '../../local/template.ts';

/**
 * The local runtime's front doors refuse what a web page in the developer's browser could abuse:
 * a `Host` that is not a loopback name (DNS rebinding) and cross-site form posts. JSON requests
 * keep the emulated API Gateway CORS semantics.
 */

/** A raw request with exactly the given headers (Host included), as a rebinding page would send it. */
const raw = (url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const target = new URL(url);
    const request = httpRequest(
      { host: '127.0.0.1', port: target.port, path: target.pathname + target.search, method: init.method ?? 'GET', headers: { host: target.host, ...init.headers } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    request.on('error', reject);
    request.end(init.body);
  });

/** Opens a WebSocket with the given Host; resolves with `open` or the handshake's refusal status. */
const upgrade = (url: string, host: string) =>
  new Promise<number | 'open'>((resolve, reject) => {
    const socket = new WebSocket(url, { headers: { host } });
    socket.once('open', () => {
      socket.close();
      resolve('open');
    });
    socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.once('error', reject);
  });

const noFunctions = (logicalId: string): LocalFunction => {
  throw new Error(`no function ${logicalId} in this fixture`);
};

describe('local runtime: loopback guard rules', () => {
  it.each([
    ['127.0.0.1:4700', true],
    ['localhost:4700', true],
    ['LOCALHOST:4700', true],
    ['[::1]:4700', true],
    ['127.1.2.3:4700', true],
    ['127.0.0.1', true],
    ['127.0.0.1:4701', false],
    ['evil.example:4700', false],
    ['127.0.0.1.evil.example:4700', false],
    ['localhost.evil.example:4700', false],
    ['0.0.0.0:4700', false],
    ['', false],
  ])('Host %j is a loopback name of port 4700: %s', (host, expected) => {
    // Act + Assess
    expect(isLoopbackHost(host, 4700)).toBe(expected);
  });

  it.each([
    ['http://127.0.0.1:5173', true],
    ['http://localhost:3000', true],
    ['http://[::1]:8080', true],
    ['https://evil.example', false],
    ['null', false],
  ])('Origin %j is loopback: %s', (origin, expected) => {
    // Act + Assess
    expect(isLoopbackOrigin(origin)).toBe(expected);
  });

  it('refuses cross-site simple-content-type writes, and nothing else', () => {
    // Prepare
    const host = '127.0.0.1:4700';
    const evil = 'https://evil.example';
    // Act
    const cases = {
      formFromEvil: loopbackRefusal('POST', { host, origin: evil, 'content-type': 'application/x-www-form-urlencoded' }, 4700),
      multipartFromEvil: loopbackRefusal('PUT', { host, origin: evil, 'content-type': 'multipart/form-data; boundary=x' }, 4700),
      textFromEvil: loopbackRefusal('DELETE', { host, origin: evil, 'content-type': 'text/plain;charset=UTF-8' }, 4700),
      noTypeFromEvil: loopbackRefusal('POST', { host, origin: 'null' }, 4700),
      crossSiteNoOrigin: loopbackRefusal('POST', { host, 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain' }, 4700),
      jsonFromEvil: loopbackRefusal('POST', { host, origin: evil, 'content-type': 'application/json' }, 4700),
      getFromEvil: loopbackRefusal('GET', { host, origin: evil }, 4700),
      formFromLocal: loopbackRefusal('POST', { host, origin: 'http://localhost:5173', 'content-type': 'text/plain' }, 4700),
      formWithoutOrigin: loopbackRefusal('POST', { host, 'content-type': 'text/plain' }, 4700),
    };
    // Assess
    expect(cases.formFromEvil?.status).toBe(403);
    expect(cases.multipartFromEvil?.status).toBe(403);
    expect(cases.textFromEvil?.status).toBe(403);
    expect(cases.noTypeFromEvil?.status).toBe(403);
    expect(cases.crossSiteNoOrigin?.status).toBe(403);
    expect(cases.jsonFromEvil).toBeUndefined();
    expect(cases.getFromEvil).toBeUndefined();
    expect(cases.formFromLocal).toBeUndefined();
    expect(cases.formWithoutOrigin).toBeUndefined();
  });
});

describe('local runtime: the servers refuse foreign hosts and cross-site form posts', () => {
  let httpApi: LocalHttpApi;
  let webSocketApi: LocalWebSocketApi;
  let cdn: LocalCdn;
  let origin: Server;
  let originHits = 0;

  beforeAll(async () => {
    origin = createServer((request, response) => {
      originHits++;
      request.resume();
      response.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      response.end('origin');
    });
    const originUrl = `http://127.0.0.1:${await listen(origin)}`;
    const template = new LocalTemplate(
      {
        Resources: {
          Http: { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'Http', ProtocolType: 'HTTP' } },
          Ws: { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'Ws', ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' } },
          WsStage: { Type: 'AWS::ApiGatewayV2::Stage', Properties: { ApiId: { Ref: 'Ws' }, StageName: 'live' } },
          Edge: {
            Type: 'AWS::CloudFront::Distribution',
            Properties: {
              DistributionConfig: {
                Enabled: true,
                DefaultCacheBehavior: { AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'], CachedMethods: ['GET', 'HEAD'], TargetOriginId: 'api', ViewerProtocolPolicy: 'https-only' },
                Origins: [{ Id: 'api', DomainName: 'example.execute-api.us-east-1.amazonaws.com', CustomOriginConfig: { OriginProtocolPolicy: 'https-only' } }],
              },
            },
          },
        },
      },
      '/nonexistent',
      {},
    );
    httpApi = new LocalHttpApi(template, 'Http', noFunctions);
    httpApi.load();
    await httpApi.start(0);
    webSocketApi = new LocalWebSocketApi(template, 'Ws', noFunctions, new ApiCallCounter());
    webSocketApi.load();
    await webSocketApi.start(0);
    cdn = new LocalCdn(template, 'Edge', () => originUrl);
    cdn.load();
    await cdn.start(0);
  });
  afterAll(async () => {
    await httpApi?.stop();
    await webSocketApi?.stop();
    await cdn?.stop();
    if (origin) await close(origin);
  });

  it('HTTP API: serves loopback names, refuses any other Host with 403', async () => {
    // Prepare
    const { port } = new URL(httpApi.endpoint);
    // Act
    const [numeric, named, v6, rebound] = await Promise.all(
      [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `evil.example:${port}`].map((host) => raw(`${httpApi.endpoint}/nowhere`, { headers: { host } })),
    );
    // Assess: no route matches, so a request let through is a 404
    expect([numeric!.status, named!.status, v6!.status]).toEqual([404, 404, 404]);
    expect(rebound!.status).toBe(403);
    expect(JSON.parse(rebound!.body).message).toMatch(/loopback/);
  });

  it('HTTP API: refuses a cross-site form post, lets the same post through as JSON or from a loopback origin', async () => {
    // Act
    const form = await raw(`${httpApi.endpoint}/v1/tasks`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
    const text = await raw(`${httpApi.endpoint}/v1/tasks`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain' }, body: '{}' });
    const json = await raw(`${httpApi.endpoint}/v1/tasks`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{}' });
    const local = await raw(`${httpApi.endpoint}/v1/tasks`, { method: 'POST', headers: { origin: 'http://127.0.0.1:5173', 'content-type': 'text/plain' }, body: '{}' });
    // Assess
    expect(form.status).toBe(403);
    expect(text.status).toBe(403);
    expect(json.status).toBe(404);
    expect(local.status).toBe(404);
  });

  it('WebSocket API: accepts an upgrade for a loopback Host, refuses another Host with 403', async () => {
    // Prepare
    const { port } = new URL(webSocketApi.endpoint);
    // Act
    const loopback = await upgrade(webSocketApi.endpoint, `localhost:${port}`);
    const rebound = await upgrade(webSocketApi.endpoint, `evil.example:${port}`);
    // Assess
    expect(loopback).toBe('open');
    expect(rebound).toBe(403);
  });

  it('@connections: refuses another Host and cross-site form posts with 403', async () => {
    // Prepare
    const management = `${webSocketApi.managementEndpoint}/@connections/unknown`;
    const { port } = new URL(management);
    // Act
    const loopback = await raw(management, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const rebound = await raw(management, { method: 'POST', headers: { host: `evil.example:${port}`, 'content-type': 'application/json' }, body: '{}' });
    const form = await raw(management, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'text/plain' }, body: 'hi' });
    // Assess
    expect(loopback.status).toBe(410); // no such connection: let through
    expect(rebound.status).toBe(403);
    expect(form.status).toBe(403);
  });

  it('CDN: serves loopback names, refuses another Host and cross-site form posts without asking the origin', async () => {
    // Prepare
    const { port } = new URL(cdn.endpoint);
    const before = originHits;
    // Act
    const loopback = await raw(`${cdn.endpoint}/page`, { headers: { host: `localhost:${port}` } });
    const afterLoopback = originHits;
    const rebound = await raw(`${cdn.endpoint}/page`, { headers: { host: `evil.example:${port}` } });
    const form = await raw(`${cdn.endpoint}/v1/tasks`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'multipart/form-data; boundary=x' }, body: '--x--' });
    // Assess
    expect(loopback.status).toBe(200);
    expect(afterLoopback).toBe(before + 1);
    expect(rebound.status).toBe(403);
    expect(form.status).toBe(403);
    expect(originHits).toBe(afterLoopback);
  });
});
