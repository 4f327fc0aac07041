import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { close, listen, readBody, sendJson } from '../http-util.ts';
import { refuseForeignRequest } from '../loopback-guard.ts';
import type { LocalFunction } from '../lambda/lambda-service.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalTemplate, UnsupportedTemplateError } from '../template.ts';
import { compileRoute, functionOfUri, integrationOfTarget, matchRoute, TokenBucket, type CompiledRoute } from './routes.ts';
import { authorizerSourceArn, httpRouteSourceArn, INVALID_LAMBDA_PERMISSIONS, localAuthorizerId, SERVICE_PRINCIPALS, serviceInvokeFunction, type IamAuthorizer } from '../iam/service-hops.ts';

interface HttpAuthorizer {
  /** The authorizer's id (what `Ref` gives), in its invocation's source ARN. */
  readonly id: string;
  readonly functionId: string;
  readonly payloadVersion: string;
  readonly simpleResponses: boolean;
  readonly identitySource: readonly string[];
  readonly ttlSeconds: number;
}

interface HttpRoute {
  readonly functionId: string;
  readonly authorizer?: HttpAuthorizer;
}

const MAX_PAYLOAD = 10 * 1024 * 1024;
const TEXT_TYPES = /^(text\/|application\/(json|.*\+json|xml|javascript|x-www-form-urlencoded))/i;

/**
 * Local API Gateway HTTP API (payload format 2.0): routes, Lambda proxy integrations, Lambda
 * authorizers (simple or IAM-policy responses, result caching by identity source), CORS preflight
 * and stage throttling, from the template.
 */
export class LocalHttpApi {
  public endpoint = '';
  public readonly apiId: string;
  private readonly server: Server;
  private readonly routes: CompiledRoute<HttpRoute>[] = [];
  private readonly authCache = new Map<string, { until: number; context: Record<string, unknown> | undefined; allowed: boolean }>();
  private throttle: TokenBucket | undefined;
  private cors: Record<string, unknown> | undefined;
  private stageName = '$default';

  /**
   * @param iam authorizes API Gateway's invocations of integration and authorizer functions
   *   against their Lambda permissions, in the runtime's IAM mode. @default no checks
   */
  public constructor(
    private readonly template: LocalTemplate,
    public readonly logicalId: string,
    private readonly functionOf: (logicalId: string) => LocalFunction,
    private readonly log: (line: string) => void = () => undefined,
    private readonly iam?: IamAuthorizer,
  ) {
    this.apiId = logicalId.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 10);
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  /** Reads the API's routes, integrations, authorizers and stage from the template. */
  public load(): void {
    const api = this.template.resource(this.logicalId);
    this.cors = api.Properties?.CorsConfiguration as Record<string, unknown> | undefined;
    const mine = (resource: { Properties?: Record<string, unknown> }) => (resource.Properties?.ApiId as { Ref?: string })?.Ref === this.logicalId;
    for (const [id, stage] of this.template.ofType('AWS::ApiGatewayV2::Stage').filter(([, resource]) => mine(resource))) {
      const settings = stage.Properties?.DefaultRouteSettings as { ThrottlingRateLimit?: number; ThrottlingBurstLimit?: number } | undefined;
      if (settings?.ThrottlingRateLimit !== undefined) this.throttle = new TokenBucket(settings.ThrottlingRateLimit, settings.ThrottlingBurstLimit ?? settings.ThrottlingRateLimit);
      this.stageName = String(stage.Properties?.StageName ?? '$default');
      this.template.register(id, { ref: this.stageName, attributes: {} });
    }
    for (const [id, route] of this.template.ofType('AWS::ApiGatewayV2::Route').filter(([, resource]) => mine(resource))) {
      const properties = route.Properties ?? {};
      const integration = this.template.resource(integrationOfTarget(properties.Target, id));
      if (integration.Properties?.IntegrationType !== 'AWS_PROXY') throw new UnsupportedTemplateError(id, 'IntegrationType', 'only AWS_PROXY is supported');
      const functionId = functionOfUri(this.template, integration.Properties?.IntegrationUri, id);
      let authorizer: HttpAuthorizer | undefined;
      if (properties.AuthorizationType === 'CUSTOM') {
        const authorizerId = (properties.AuthorizerId as { Ref: string }).Ref;
        const resource = this.template.resource(authorizerId).Properties ?? {};
        if (resource.AuthorizerType !== 'REQUEST') throw new UnsupportedTemplateError(authorizerId, 'AuthorizerType', 'only REQUEST (Lambda) authorizers are supported');
        // Its id is in the source ARN of its invocations (and of the Lambda permission allowing them).
        this.template.register(authorizerId, { ref: localAuthorizerId(authorizerId), attributes: { AuthorizerId: localAuthorizerId(authorizerId) } });
        authorizer = {
          id: localAuthorizerId(authorizerId),
          functionId: functionOfUri(this.template, resource.AuthorizerUri, authorizerId),
          payloadVersion: String(resource.AuthorizerPayloadFormatVersion ?? '2.0'),
          simpleResponses: resource.EnableSimpleResponses === true,
          identitySource: (resource.IdentitySource as string[] | undefined) ?? [],
          ttlSeconds: Number(resource.AuthorizerResultTtlInSeconds ?? 300),
        };
      } else if (properties.AuthorizationType && properties.AuthorizationType !== 'NONE') {
        throw new UnsupportedTemplateError(id, 'AuthorizationType', `${String(properties.AuthorizationType)} is not supported`);
      }
      this.routes.push(compileRoute(String(properties.RouteKey), { functionId, ...(authorizer ? { authorizer } : {}) }));
    }
  }

  public async start(port?: number): Promise<string> {
    this.endpoint = `http://127.0.0.1:${await listen(this.server, port)}`;
    this.template.register(this.logicalId, {
      ref: this.apiId,
      attributes: { ApiEndpoint: `https://${this.apiId}.execute-api.${LOCAL_REGION}.amazonaws.com`, ApiId: this.apiId },
    });
    return this.endpoint;
  }

  /** Registers the API's id before start, for templates that reference it. */
  public registerId(): void {
    this.template.register(this.logicalId, {
      ref: this.apiId,
      attributes: { ApiEndpoint: `https://${this.apiId}.execute-api.${LOCAL_REGION}.amazonaws.com`, ApiId: this.apiId },
    });
  }

  public async stop(): Promise<void> {
    await close(this.server);
  }

  /** Route keys served, for the start-up summary. */
  public get routeKeys(): string[] {
    return this.routes.map((route) => route.routeKey);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = Date.now();
    const url = new URL(request.url ?? '/', 'http://local');
    const method = (request.method ?? 'GET').toUpperCase();
    if (refuseForeignRequest(request, response)) return; // local-only: DNS rebinding, cross-site form posts
    const corsHeaders = this.corsHeaders(request);
    try {
      if (method === 'OPTIONS' && this.cors && request.headers.origin && request.headers['access-control-request-method']) {
        response.writeHead(204, { ...corsHeaders, ...this.preflightHeaders() });
        response.end();
        return;
      }
      if (this.throttle && !this.throttle.take()) return sendJson(response, 429, { message: 'Too Many Requests' }, corsHeaders);
      const matched = matchRoute(this.routes, method, url.pathname);
      if (!matched) return sendJson(response, 404, { message: 'Not Found' }, corsHeaders);
      let body: Buffer;
      try {
        body = await readBody(request, MAX_PAYLOAD);
      } catch {
        return sendJson(response, 413, { message: 'Request Entity Too Large' }, { ...corsHeaders, connection: 'close' });
      }
      const event = this.buildEvent(request, url, method, matched.route.routeKey, matched.pathParameters, body, started);
      if (matched.route.value.authorizer) {
        const verdict = await this.authorize(matched.route.value.authorizer, event);
        if (verdict.status !== 200) return sendJson(response, verdict.status, { message: verdict.message }, corsHeaders);
        (event.requestContext as Record<string, unknown>).authorizer = { lambda: verdict.context ?? {} };
      }
      const fn = this.functionOf(matched.route.value.functionId);
      if (!this.mayInvoke(fn, httpRouteSourceArn(this.apiId, this.stageName, matched.route.routeKey, method), matched.route.routeKey)) {
        return sendJson(response, 500, { message: 'Internal Server Error' }, corsHeaders);
      }
      let result: unknown;
      try {
        result = await fn.invoke(event);
      } catch (error) {
        this.log(`${matched.route.routeKey}: integration failed: ${(error as Error).message}`);
        return sendJson(response, 500, { message: 'Internal Server Error' }, corsHeaders);
      }
      this.writeResult(response, result, corsHeaders);
    } catch {
      if (!response.headersSent) sendJson(response, 500, { message: 'Internal Server Error' }, corsHeaders);
      else response.end();
    }
  }

  private buildEvent(request: IncomingMessage, url: URL, method: string, routeKey: string, pathParameters: Record<string, string>, body: Buffer, started: number) {
    const headers: Record<string, string> = {};
    let cookies: string[] | undefined;
    // headersDistinct keeps repeated headers apart: API Gateway joins them with a bare comma (Node's `headers` uses ', ').
    for (const [name, values] of Object.entries(request.headersDistinct)) {
      if (values === undefined) continue;
      if (name === 'cookie') {
        cookies = values.join('; ').split(/;\s*/).filter(Boolean);
        continue;
      }
      headers[name] = values.join(',');
    }
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
    const contentType = headers['content-type'] ?? '';
    const isText = body.length === 0 || TEXT_TYPES.test(contentType);
    const time = new Date(started);
    return {
      version: '2.0',
      routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      ...(cookies ? { cookies } : {}),
      headers,
      ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
      requestContext: {
        accountId: LOCAL_ACCOUNT,
        apiId: this.apiId,
        domainName: headers.host ?? '127.0.0.1',
        domainPrefix: (headers.host ?? '127').split('.')[0],
        http: { method, path: url.pathname, protocol: `HTTP/${request.httpVersion}`, sourceIp: request.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
        requestId: randomUUID(),
        routeKey,
        stage: '$default',
        time: formatRequestTime(time),
        timeEpoch: started,
      } as Record<string, unknown>,
      ...(body.length ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
      ...(Object.keys(pathParameters).length ? { pathParameters } : {}),
      isBase64Encoded: !isText,
    };
  }

  private async authorize(authorizer: HttpAuthorizer, event: ReturnType<LocalHttpApi['buildEvent']>): Promise<{ status: number; message?: string; context?: Record<string, unknown> }> {
    const identity = authorizer.identitySource.map((source) => identityValue(source, event));
    if (authorizer.identitySource.length && identity.some((value) => value === undefined || value === '')) return { status: 401, message: 'Unauthorized' };
    const cacheKey = authorizer.ttlSeconds > 0 && identity.length ? `${authorizer.functionId}\0${identity.join('\0')}` : undefined;
    const cached = cacheKey ? this.authCache.get(cacheKey) : undefined;
    if (cached && cached.until > Date.now()) return cached.allowed ? { status: 200, ...(cached.context ? { context: cached.context } : {}) } : { status: 403, message: 'Forbidden' };
    let result: Record<string, unknown>;
    // The 2.0 authorizer payload is the request without its body.
    const { body: _body, isBase64Encoded: _isBase64Encoded, ...request } = event;
    const fn = this.functionOf(authorizer.functionId);
    if (!this.mayInvoke(fn, authorizerSourceArn(this.apiId, authorizer.id), `${event.routeKey} authorizer`)) return { status: 500, message: 'Internal Server Error' };
    try {
      result = ((await fn.invoke({
        ...request,
        type: 'REQUEST',
        routeArn: `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${this.apiId}/$default/${(event.requestContext.http as { method: string }).method}${event.rawPath}`,
        identitySource: identity,
      })) ?? {}) as Record<string, unknown>;
    } catch (error) {
      this.log(`authorizer failed: ${(error as Error).message}`);
      return { status: 500, message: 'Internal Server Error' };
    }
    let allowed: boolean;
    let context: Record<string, unknown> | undefined;
    if (authorizer.simpleResponses) {
      allowed = result.isAuthorized === true;
      context = result.context as Record<string, unknown> | undefined;
    } else {
      const statements = ((result.policyDocument as { Statement?: { Effect?: string }[] } | undefined)?.Statement ?? []);
      allowed = statements.length > 0 && statements.every((statement) => statement.Effect === 'Allow');
      context = result.context as Record<string, unknown> | undefined;
    }
    if (cacheKey) this.authCache.set(cacheKey, { until: Date.now() + authorizer.ttlSeconds * 1000, allowed, context });
    return allowed ? { status: 200, ...(context ? { context } : {}) } : { status: 403, message: 'Forbidden' };
  }

  /**
   * Whether API Gateway may invoke the function for this source (its Lambda permissions must allow
   * `apigateway.amazonaws.com` with this `aws:SourceArn`). When not, API Gateway logs the
   * configuration error and the caller answers 500 without invoking anything.
   */
  private mayInvoke(fn: LocalFunction, sourceArn: string, what: string): boolean {
    const decision = this.iam?.authorize(serviceInvokeFunction(SERVICE_PRINCIPALS.apiGateway, fn.config.arn, sourceArn));
    if (!decision || decision.allowed) return true;
    this.log(`${what}: ${INVALID_LAMBDA_PERMISSIONS} (${decision.message})`);
    return false;
  }

  private writeResult(response: ServerResponse, result: unknown, corsHeaders: Record<string, string>): void {
    if (result === null || typeof result !== 'object' || !('statusCode' in result)) {
      const text = typeof result === 'string' ? result : JSON.stringify(result);
      response.writeHead(200, { 'content-type': 'application/json', ...corsHeaders });
      response.end(text);
      return;
    }
    const shaped = result as { statusCode: number; headers?: Record<string, unknown>; multiValueHeaders?: Record<string, unknown[]>; cookies?: string[]; body?: string; isBase64Encoded?: boolean };
    const headers: Record<string, string | string[]> = { ...corsHeaders };
    for (const [name, value] of Object.entries(shaped.headers ?? {})) headers[name.toLowerCase()] = String(value);
    for (const [name, values] of Object.entries(shaped.multiValueHeaders ?? {})) headers[name.toLowerCase()] = values.map(String).join(',');
    if (shaped.cookies?.length) headers['set-cookie'] = shaped.cookies;
    const body = shaped.body === undefined ? Buffer.alloc(0) : shaped.isBase64Encoded ? Buffer.from(shaped.body, 'base64') : Buffer.from(String(shaped.body));
    if (!headers['content-type'] && body.length) headers['content-type'] = 'application/json';
    headers['apigw-requestid'] = randomUUID().slice(0, 16);
    response.writeHead(Number(shaped.statusCode) || 500, headers);
    response.end(body);
  }

  private corsHeaders(request: IncomingMessage): Record<string, string> {
    const origin = request.headers.origin;
    if (!this.cors || !origin) return {};
    const origins = (this.cors.AllowOrigins as string[] | undefined) ?? [];
    if (!origins.includes('*') && !origins.includes(origin)) return {};
    const headers: Record<string, string> = { 'access-control-allow-origin': origins.includes('*') ? '*' : origin };
    const expose = this.cors.ExposeHeaders as string[] | undefined;
    if (expose?.length) headers['access-control-expose-headers'] = expose.join(',');
    return headers;
  }

  private preflightHeaders(): Record<string, string> {
    const cors = this.cors ?? {};
    return {
      'access-control-allow-methods': ((cors.AllowMethods as string[] | undefined) ?? ['*']).join(','),
      'access-control-allow-headers': ((cors.AllowHeaders as string[] | undefined) ?? []).join(','),
      ...(cors.MaxAge !== undefined ? { 'access-control-max-age': String(cors.MaxAge) } : {}),
    };
  }
}

/** `23/Nov/2026:13:45:01 +0000`, as API Gateway writes `requestContext.time`. */
export const formatRequestTime = (date: Date): string => {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
};

/** Value of an identity source such as `$request.header.Authorization` or `$request.querystring.token`. */
const identityValue = (source: string, event: { headers: Record<string, string>; queryStringParameters?: Record<string, string> }): string | undefined => {
  const header = /^\$request\.header\.(.+)$/i.exec(source);
  if (header) return event.headers[header[1]!.toLowerCase()];
  const query = /^\$request\.querystring\.(.+)$/i.exec(source);
  if (query) return event.queryStringParameters?.[query[1]!];
  return undefined;
};
