import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import type { HttpEvent } from '../../lambdas/handlers/http/http.ts';

/** Options of {@link httpEvent}. */
export interface HttpEventOptions {
  readonly method?: string;
  /** Path with the real id in it, for example `/v1/tasks/tsk_...`. */
  readonly path?: string;
  /** Route key as the gateway reports it, for example `GET /v1/tasks/{id}`. */
  readonly routeKey?: string;
  /** Header names are lowercased, as the HTTP API delivers them. */
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly pathParameters?: Record<string, string>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  /** Tenant the authorizer resolved; `null` = the authorizer marked the request unauthenticated. */
  readonly tenantId?: string | null;
  /** Omit the authorizer context altogether. */
  readonly noAuthorizer?: boolean;
}

/** An HTTP API (payload 2.0) proxy event, with the Lambda authorizer context attached. */
export const httpEvent = (options: HttpEventOptions = {}): HttpEvent => {
  const method = options.method ?? 'GET';
  const path = options.path ?? '/v1/tasks';
  const query = options.query ?? {};
  const rawQueryString = new URLSearchParams(query).toString();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  const authorizer =
    options.tenantId === null
      ? { lambda: { authenticated: 'false' as const } }
      : { lambda: { authenticated: 'true' as const, tenantId: options.tenantId ?? 'ten_test' } };
  return {
    version: '2.0',
    routeKey: options.routeKey ?? `${method} ${path}`,
    rawPath: path,
    rawQueryString,
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: { ...query } } : {}),
    ...(options.pathParameters ? { pathParameters: { ...options.pathParameters } } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api1234567',
      domainName: 'api1234567.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'api1234567',
      requestId: `rid-${Math.random().toString(36).slice(2, 10)}`,
      routeKey: options.routeKey ?? `${method} ${path}`,
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: Date.parse('2026-01-01T00:00:00Z'),
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'vitest' },
      ...(options.noAuthorizer ? {} : { authorizer }),
    } as HttpEvent['requestContext'],
    ...(options.body !== undefined ? { body: options.body } : {}),
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
};

/** `GET /v1/tasks/{id}` for a tenant. */
export const getTaskEvent = (taskId: string, options: Omit<HttpEventOptions, 'path' | 'pathParameters' | 'routeKey'> = {}): HttpEvent =>
  httpEvent({ ...options, method: 'GET', path: `/v1/tasks/${taskId}`, routeKey: 'GET /v1/tasks/{id}', pathParameters: { id: taskId } });

/** `GET /v1/tasks/{id}/events` for a tenant. */
export const getEventsEvent = (taskId: string, options: Omit<HttpEventOptions, 'path' | 'pathParameters' | 'routeKey'> = {}): HttpEvent =>
  httpEvent({
    ...options,
    method: 'GET',
    path: `/v1/tasks/${taskId}/events`,
    routeKey: 'GET /v1/tasks/{id}/events',
    pathParameters: { id: taskId },
  });

/** `POST /v1/tasks` with a JSON body (pass a string to send it verbatim). */
export const submitEvent = (body: unknown, options: Omit<HttpEventOptions, 'path' | 'routeKey' | 'body'> = {}): HttpEvent =>
  httpEvent({
    ...options,
    method: 'POST',
    path: '/v1/tasks',
    routeKey: 'POST /v1/tasks',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** A payload 2.0 REQUEST authorizer event for the HTTP API. */
export const httpAuthorizerEvent = (headers: Record<string, string> = {}): APIGatewayRequestAuthorizerEventV2 => {
  const lowered: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) lowered[name.toLowerCase()] = value;
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: 'arn:aws:execute-api:us-east-1:123456789012:api1234567/$default/GET/v1/tasks/tsk_x',
    identitySource: [],
    routeKey: 'GET /v1/tasks/{id}',
    rawPath: '/v1/tasks/tsk_x',
    rawQueryString: '',
    cookies: [],
    headers: lowered,
    queryStringParameters: {},
    requestContext: {
      accountId: '123456789012',
      apiId: 'api1234567',
      domainName: 'api1234567.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'api1234567',
      http: { method: 'GET', path: '/v1/tasks/tsk_x', protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'vitest' },
      requestId: `rid-${Math.random().toString(36).slice(2, 10)}`,
      routeKey: 'GET /v1/tasks/{id}',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: Date.parse('2026-01-01T00:00:00Z'),
    },
    pathParameters: { id: 'tsk_x' },
    stageVariables: {},
  } as APIGatewayRequestAuthorizerEventV2;
};
