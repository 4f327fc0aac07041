import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCdn } from '../../local/cdn.ts';
import { FunctionExecutionError, LocalCloudFrontFunction } from '../../local/cloudfront-functions.ts';
import { close, listen } from '../../local/http-util.ts';
import { LocalTemplate } from '../../local/template.ts';
import { edgeCredentialCheckCode } from '../../lib/constructs/edge-credential-check.ts';
import { toProblem } from '../../lambdas/core/problem.ts';
import { UnauthorizedError } from '../../lambdas/core/errors.ts';

/** CloudFront Functions as the local CDN runs them, and Offload's edge credential check. */

const ALL_VIEWER_EXCEPT_HOST = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';
const API_KEY = `ofk_01J0000000000000000000000A_${'a'.repeat(43)}`;
const CLIENT_TOKEN = `oft_eyJ0IjoieCJ9.${'b'.repeat(43)}`;

const templateWith = (functions: Record<string, string>, associated: string): LocalTemplate =>
  new LocalTemplate(
    {
      Resources: {
        ...Object.fromEntries(
          Object.entries(functions).map(([id, code]) => [id, { Type: 'AWS::CloudFront::Function', Properties: { Name: id, AutoPublish: true, FunctionCode: code, FunctionConfig: { Comment: id, Runtime: 'cloudfront-js-2.0' } } }]),
        ),
        Edge: {
          Type: 'AWS::CloudFront::Distribution',
          Properties: {
            DistributionConfig: {
              Enabled: true,
              DefaultCacheBehavior: {
                AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
                CachedMethods: ['GET', 'HEAD'],
                CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
                OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST,
                TargetOriginId: 'api',
                ViewerProtocolPolicy: 'https-only',
                FunctionAssociations: [{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [associated, 'FunctionARN'] } }],
              },
              Origins: [{ Id: 'api', DomainName: 'api.example.com', CustomOriginConfig: { OriginProtocolPolicy: 'https-only' } }],
            },
          },
        },
      },
    } as never,
    '/nonexistent',
    {},
  );

const run = (code: string, request: { method?: string; path: string; headers?: IncomingHttpHeaders }) =>
  LocalCloudFrontFunction.fromTemplate(templateWith({ Fn: code }, 'Fn'), { 'Fn::GetAtt': ['Fn', 'FunctionARN'] }, 'test').viewerRequest(
    { method: request.method ?? 'GET', path: request.path, headers: request.headers ?? {}, viewerIp: '127.0.0.1' },
    { id: 'EDFDVBD6EXAMPLE', domainName: 'd111111abcdef8.cloudfront.net' },
  );

describe('the edge credential check (CloudFront Function)', () => {
  const code = edgeCredentialCheckCode();

  it.each([
    ['no Authorization header', {}],
    ['a Basic credential', { authorization: `Basic ${Buffer.from(`x:${API_KEY}`).toString('base64')}` }],
    ['an empty Bearer', { authorization: 'Bearer' }],
    ['a Bearer value of no known shape', { authorization: 'Bearer not-a-key' }],
    ['an over-long header', { authorization: `Bearer ${'A'.repeat(8192)}` }],
  ])('answers %s on an API path with the route\'s own 401 problem+json', async (_name, headers) => {
    // Act
    const outcome = await run(code, { path: '/v1/tasks/tsk_1?x=1', headers });
    // Assess
    expect(outcome.kind).toBe('response');
    if (outcome.kind !== 'response') return;
    const expected = toProblem(new UnauthorizedError(), '/v1/tasks/tsk_1');
    expect(outcome.status).toBe(401);
    expect(JSON.parse(outcome.body.toString())).toEqual(expected.problem);
    expect(outcome.headers).toMatchObject({ 'content-type': 'application/problem+json', 'cache-control': 'no-store', 'www-authenticate': 'Bearer realm="offload"', 'x-content-type-options': 'nosniff' });
  });

  it.each([
    ['an API key', '/v1/tasks', 'GET', { authorization: `Bearer ${API_KEY}` }],
    ['a client token', '/v1/tokens', 'POST', { authorization: `bearer ${CLIENT_TOKEN}` }],
    ['a public document', '/v1/openapi.json', 'GET', {}],
    ['a CORS preflight', '/v1/tasks', 'OPTIONS', {}],
    ['a path outside the API', '/elsewhere', 'GET', {}],
  ])('lets %s through unchanged, for the authorizer to decide', async (_name, path, method, headers) => {
    // Act
    const outcome = await run(code, { method, path, headers });
    // Assess
    expect(outcome).toEqual({ kind: 'request', path, headers });
  });
});

describe('LocalCloudFrontFunction: CloudFront Functions semantics', () => {
  it('hands the function CloudFront\'s event structure and forwards the request it returns', async () => {
    // Prepare
    const code = `function handler(event) {
      var r = event.request;
      r.headers['x-seen'] = { value: [event.version, event.context.eventType, r.method, r.uri, r.querystring.a.multiValue.length, r.headers['x-in'].value, r.cookies.c.value].join('|') };
      r.uri = '/rewritten';
      r.querystring = { b: { value: '2' } };
      return r;
    }`;
    // Act
    const outcome = await run(code, { method: 'POST', path: '/orig?a=1&a=2', headers: { 'x-in': 'v', cookie: 'c=k' } });
    // Assess
    expect(outcome).toEqual({ kind: 'request', path: '/rewritten?b=2', headers: { 'x-in': 'v', 'x-seen': '1.0|viewer-request|POST|/orig|2|v|k', cookie: 'c=k' } });
  });

  it('answers with a generated response, base64 bodies decoded', async () => {
    // Act
    const outcome = await run(`async function handler() { return { statusCode: 302, statusDescription: 'Found', headers: { location: { value: '/x' } }, body: { encoding: 'base64', data: '${Buffer.from('moved').toString('base64')}' } }; }`, { path: '/' });
    // Assess
    expect(outcome).toEqual({ kind: 'response', status: 302, headers: { location: '/x' }, body: Buffer.from('moved') });
  });

  it('fails a function that throws, loops or reaches for Node', async () => {
    // Act and assess
    await expect(run('function handler() { throw new Error("boom"); }', { path: '/' })).rejects.toBeInstanceOf(FunctionExecutionError);
    await expect(run('function handler() { for (;;) {} }', { path: '/' })).rejects.toBeInstanceOf(FunctionExecutionError);
    await expect(run('function handler() { return require("fs"); }', { path: '/' })).rejects.toBeInstanceOf(FunctionExecutionError);
    await expect(run('function handler() { return process.env; }', { path: '/' })).rejects.toBeInstanceOf(FunctionExecutionError);
  });

  it('refuses KeyValueStore imports and unknown runtimes at load', () => {
    // Act and assess
    expect(() => LocalCloudFrontFunction.fromTemplate(templateWith({ Fn: "import cf from 'cloudfront';\nfunction handler(e) { return e.request; }" }, 'Fn'), { 'Fn::GetAtt': ['Fn', 'FunctionARN'] }, 'test')).toThrow(/not emulated/);
  });
});

describe('LocalCdn with a viewer-request function', () => {
  let origin: Server;
  let cdn: LocalCdn;
  let originRequests = 0;

  beforeAll(async () => {
    origin = createServer((request, response) => {
      originRequests++;
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify({ path: request.url, auth: request.headers.authorization ?? null }));
    });
    const originUrl = `http://127.0.0.1:${await listen(origin)}`;
    cdn = new LocalCdn(templateWith({ Check: edgeCredentialCheckCode() }, 'Check'), 'Edge', () => originUrl);
    cdn.load();
    await cdn.start();
  });
  afterAll(async () => {
    await cdn?.stop();
    if (origin) await close(origin);
  });

  it('answers a credential-less request at the edge, never asking the origin, and forwards the rest', async () => {
    // Prepare
    const before = originRequests;
    // Act
    const refused = await fetch(`${cdn.endpoint}/v1/tasks`);
    const refusedBody = await refused.json();
    const refusedOriginRequests = originRequests - before;
    const passed = await fetch(`${cdn.endpoint}/v1/tasks?limit=1`, { headers: { authorization: `Bearer ${API_KEY}` } });
    // Assess
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-cache')).toBe('FunctionGeneratedResponse from cloudfront');
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(refusedBody).toMatchObject({ status: 401, title: 'Unauthorized', instance: '/v1/tasks' });
    expect(refusedOriginRequests).toBe(0);
    expect(cdn.stats.functionResponses).toBe(1);
    expect(passed.status).toBe(200);
    expect(await passed.json()).toEqual({ path: '/v1/tasks?limit=1', auth: `Bearer ${API_KEY}` });
  });
});
