import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalHttpApi } from '../../local/apigateway/http-api.ts';
import type { LocalFunction } from '../../local/lambda/lambda-service.ts';
import { FixtureApp, lambdaUri, route, Scratch } from './support.ts';

const ECHO = `export const handler = async (event) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });`;
const SHAPED = `export const handler = async (event) => {
  switch (event.pathParameters.kind) {
    case 'full': return { statusCode: 201, headers: { 'X-Thing': 'yes', 'Content-Type': 'text/plain' }, cookies: ['a=1', 'b=2; Path=/; HttpOnly'], body: 'created' };
    case 'binary': return { statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, isBase64Encoded: true, body: Buffer.from([0, 1, 2, 254, 255]).toString('base64') };
    case 'string': return 'hello';
    case 'object': return { hello: 'world' };
    case 'number': return 42;
    case 'nobody': return { statusCode: 204 };
    default: throw new Error('integration failed on purpose');
  }
};`;
const AUTHORIZER = `export const handler = async (event) => ({
  isAuthorized: event.headers.authorization.startsWith('Bearer good'),
  context: { tenantId: 't-1', sawType: event.type, sawIdentity: event.identitySource.join('|'), sawBody: 'body' in event, sawRouteArn: event.routeArn },
});`;

/** A raw HTTP request (node:http), so repeated headers and exact bytes reach the server as sent. */
const raw = (url: string, init: { method?: string; headers?: [string, string][]; body?: Buffer | string } = {}) =>
  new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const target = new URL(url);
    const request = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: init.method ?? 'GET', headers: [['Host', target.host], ...(init.headers ?? [])].flat() },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      },
    );
    request.on('error', reject);
    request.end(init.body);
  });

describe('LocalHttpApi: API Gateway HTTP API (payload 2.0) fidelity', () => {
  const scratch = new Scratch();
  let functions: Map<string, LocalFunction>;
  let main: LocalHttpApi;
  let bare: LocalHttpApi;
  let throttled: LocalHttpApi;
  let url: string;
  const echo = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${url}${path}`, init);
    return { status: response.status, event: (await response.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    const app = new FixtureApp(scratch).fn('Echo', ECHO).fn('Shaped', SHAPED).fn('Authorizer', AUTHORIZER);
    app.add('Main', { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'Main', ProtocolType: 'HTTP' } });
    app.add('MainStage', { Type: 'AWS::ApiGatewayV2::Stage', Properties: { ApiId: { Ref: 'Main' }, StageName: '$default', AutoDeploy: true } });
    app.add('MainAuthorizer', {
      Type: 'AWS::ApiGatewayV2::Authorizer',
      Properties: {
        ApiId: { Ref: 'Main' },
        AuthorizerType: 'REQUEST',
        AuthorizerUri: lambdaUri('Authorizer'),
        AuthorizerPayloadFormatVersion: '2.0',
        EnableSimpleResponses: true,
        IdentitySource: ['$request.header.Authorization'],
        AuthorizerResultTtlInSeconds: 300,
        Name: 'Simple',
      },
    });
    route(app, 'Main', 'GET /items/special', 'Echo');
    route(app, 'Main', 'GET /items/{id}', 'Echo');
    route(app, 'Main', 'ANY /items/{proxy+}', 'Echo');
    route(app, 'Main', 'ANY /things', 'Echo');
    route(app, 'Main', 'POST /things', 'Echo');
    route(app, 'Main', 'POST /upload', 'Echo');
    route(app, 'Main', 'GET /secure', 'Echo', { AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: 'MainAuthorizer' } });
    route(app, 'Main', 'POST /secure', 'Echo', { AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: 'MainAuthorizer' } });
    route(app, 'Main', 'GET /shaped/{kind}', 'Shaped');
    route(app, 'Main', '$default', 'Echo');
    app.add('Bare', { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'Bare', ProtocolType: 'HTTP' } });
    route(app, 'Bare', 'GET /only', 'Echo');
    app.add('Throttled', { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'Throttled', ProtocolType: 'HTTP' } });
    app.add('ThrottledStage', {
      Type: 'AWS::ApiGatewayV2::Stage',
      Properties: { ApiId: { Ref: 'Throttled' }, StageName: '$default', DefaultRouteSettings: { ThrottlingRateLimit: 1, ThrottlingBurstLimit: 2 } },
    });
    route(app, 'Throttled', 'GET /limited', 'Echo');
    const template = app.template();
    functions = app.functions(template);
    const functionOf = (id: string) => functions.get(id)!;
    main = new LocalHttpApi(template, 'Main', functionOf);
    bare = new LocalHttpApi(template, 'Bare', functionOf);
    throttled = new LocalHttpApi(template, 'Throttled', functionOf);
    for (const api of [main, bare, throttled]) {
      api.registerId();
      api.load();
      await api.start(0);
    }
    url = main.endpoint;
  });
  afterAll(async () => {
    await Promise.all([main, bare, throttled].map((api) => api?.stop()));
    await Promise.all([...(functions?.values() ?? [])].map((fn) => fn.shutdown()));
    scratch.cleanup();
  });

  describe('the payload 2.0 event', () => {
    it('carries the request as API Gateway builds it', async () => {
      // Prepare
      const before = Date.now();
      // Act
      const response = await raw(`${url}/items/42?a=1&a=2&b=x%20y&flag`, {
        headers: [
          ['X-Custom-Header', 'Yes'],
          ['X-Multi', 'one'],
          ['X-Multi', 'two'],
          ['Cookie', 'c1=v1; c2=v2'],
          ['User-Agent', 'fidelity/1.0'],
        ],
      });
      // Assess
      expect(response.status).toBe(200);
      const event = JSON.parse(response.body.toString());
      expect(event).toMatchObject({
        version: '2.0',
        routeKey: 'GET /items/{id}',
        rawPath: '/items/42',
        rawQueryString: 'a=1&a=2&b=x%20y&flag',
        cookies: ['c1=v1', 'c2=v2'],
        queryStringParameters: { a: '1,2', b: 'x y', flag: '' },
        pathParameters: { id: '42' },
        isBase64Encoded: false,
        requestContext: {
          accountId: '000000000000',
          apiId: main.apiId,
          domainName: new URL(url).host,
          http: { method: 'GET', path: '/items/42', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'fidelity/1.0' },
          requestId: expect.any(String),
          routeKey: 'GET /items/{id}',
          stage: '$default',
          time: expect.stringMatching(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/),
        },
      });
      expect(event.headers['x-custom-header']).toBe('Yes');
      expect(event.headers['x-multi']).toBe('one,two'); // AWS joins repeated headers with a bare comma
      expect(event.headers.cookie).toBeUndefined(); // cookies move to the cookies array
      expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
      expect(event.requestContext.timeEpoch).toBeGreaterThanOrEqual(before);
      expect(event.requestContext.timeEpoch).toBeLessThanOrEqual(Date.now());
      expect(event).not.toHaveProperty('body');
    });

    it('gives every request its own requestId', async () => {
      // Act
      const [first, second] = await Promise.all([echo('/items/1'), echo('/items/1')]);
      // Assess
      expect(first.event.requestContext.requestId).not.toBe(second.event.requestContext.requestId);
    });

    it('passes a text body as is and a binary body base64-encoded with isBase64Encoded', async () => {
      // Prepare
      const bytes = Buffer.from([0, 1, 2, 250, 251, 255]);
      // Act
      const text = await echo('/upload', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":"é"}' });
      const binary = await echo('/upload', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
      // Assess
      expect(text.event).toMatchObject({ body: '{"x":"é"}', isBase64Encoded: false });
      expect(binary.event).toMatchObject({ body: bytes.toString('base64'), isBase64Encoded: true });
    });
  });

  describe('route selection', () => {
    it.each([
      ['a literal path over a path variable', 'GET', '/items/special', 'GET /items/special', undefined],
      ['a path variable over a greedy variable', 'GET', '/items/7', 'GET /items/{id}', { id: '7' }],
      ['a greedy variable for deeper paths', 'GET', '/items/a/b/c', 'ANY /items/{proxy+}', { proxy: 'a/b/c' }],
      ['an exact method over ANY', 'POST', '/things', 'POST /things', undefined],
      ['ANY for other methods', 'DELETE', '/things', 'ANY /things', undefined],
      ['$default when nothing else matches', 'GET', '/nowhere/at/all', '$default', undefined],
    ])('picks %s', async (_name, method, path, routeKey, pathParameters) => {
      // Act
      const { status, event } = await echo(path, { method });
      // Assess
      expect(status).toBe(200);
      expect(event.routeKey).toBe(routeKey);
      expect(event.requestContext.routeKey).toBe(routeKey);
      expect(event.pathParameters).toEqual(pathParameters);
    });

    it('answers 404 {"message":"Not Found"} when no route matches and there is no $default', async () => {
      // Act
      const response = await fetch(`${bare.endpoint}/nope`);
      // Assess
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ message: 'Not Found' });
    });
  });

  describe('Lambda authorizer (simple responses)', () => {
    const authorizerCalls = () => functions.get('Authorizer')!.stats.invocations;

    it('answers 401 without invoking the authorizer when the identity source is missing', async () => {
      // Prepare
      const before = authorizerCalls();
      // Act
      const response = await fetch(`${url}/secure`);
      // Assess
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ message: 'Unauthorized' });
      expect(authorizerCalls()).toBe(before);
    });

    it('answers 403 {"message":"Forbidden"} when the authorizer says isAuthorized: false', async () => {
      // Act
      const response = await fetch(`${url}/secure`, { headers: { authorization: 'Bearer bad' } });
      // Assess
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ message: 'Forbidden' });
    });

    it('caches the result by identity source for the TTL and passes its context as requestContext.authorizer.lambda', async () => {
      // Prepare
      const before = authorizerCalls();
      // Act
      const first = await echo('/secure', { headers: { authorization: 'Bearer good-1' } });
      const second = await echo('/secure', { headers: { authorization: 'Bearer good-1' } });
      const other = await echo('/secure', { headers: { authorization: 'Bearer good-2' } });
      // Assess
      expect([first.status, second.status, other.status]).toEqual([200, 200, 200]);
      expect(authorizerCalls() - before).toBe(2); // once per distinct identity
      expect(first.event.requestContext.authorizer).toEqual({
        lambda: { tenantId: 't-1', sawType: 'REQUEST', sawIdentity: 'Bearer good-1', sawBody: false, sawRouteArn: expect.stringMatching(/^arn:aws:execute-api:us-east-1:000000000000:[a-z0-9]+\/\$default\/GET\/secure$/) },
      });
      expect(second.event.requestContext.authorizer.lambda.tenantId).toBe('t-1');
    });

    it('sends the authorizer the request without its body (the 2.0 authorizer payload has none)', async () => {
      // Act
      const posted = await echo('/secure', { method: 'POST', headers: { authorization: 'Bearer good-post', 'content-type': 'application/json' }, body: '{"secret":1}' });
      // Assess
      expect(posted.status).toBe(200);
      expect(posted.event.body).toBe('{"secret":1}'); // the integration gets it
      expect(posted.event.requestContext.authorizer.lambda).toMatchObject({ sawBody: false, sawRouteArn: expect.stringMatching(/\/\$default\/POST\/secure$/) });
    });
  });

  describe('response mapping', () => {
    it('maps statusCode, headers (lowercased), cookies to Set-Cookie, and the body', async () => {
      // Act
      const response = await fetch(`${url}/shaped/full`);
      // Assess
      expect(response.status).toBe(201);
      expect(response.headers.get('x-thing')).toBe('yes');
      expect(response.headers.get('content-type')).toBe('text/plain');
      expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2; Path=/; HttpOnly']);
      expect(response.headers.get('apigw-requestid')).toBeTruthy();
      expect(await response.text()).toBe('created');
    });

    it('decodes a base64 body when isBase64Encoded is true', async () => {
      // Act
      const response = await fetch(`${url}/shaped/binary`);
      // Assess
      expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 254, 255]));
    });

    it.each([
      ['a string', 'string', 'hello'],
      ['an object without statusCode', 'object', '{"hello":"world"}'],
      ['a number', 'number', '42'],
    ])('turns %s into a 200 JSON response', async (_name, kind, body) => {
      // Act
      const response = await fetch(`${url}/shaped/${kind}`);
      // Assess
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(await response.text()).toBe(body);
    });

    it('answers 500 {"message":"Internal Server Error"} when the integration fails', async () => {
      // Act
      const response = await fetch(`${url}/shaped/explode`);
      // Assess
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ message: 'Internal Server Error' });
    });
  });

  it('throttles past the stage burst with 429 {"message":"Too Many Requests"}', async () => {
    // Act
    const statuses: number[] = [];
    let body: unknown;
    for (let i = 0; i < 4; i++) {
      const response = await fetch(`${throttled.endpoint}/limited`);
      statuses.push(response.status);
      body = await response.json();
    }
    // Assess
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(statuses.slice(2)).toContain(429);
    expect(body).toEqual({ message: 'Too Many Requests' });
  });
});
