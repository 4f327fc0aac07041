import type { FaultInjector } from '../faults.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { close, listen, readBody, sendJson, type ApiCallCounter } from '../http-util.ts';
import { refuseForeignRequest, refuseForeignUpgrade } from '../loopback-guard.ts';
import type { LocalFunction } from '../lambda/lambda-service.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalTemplate, UnsupportedTemplateError } from '../template.ts';
import { formatRequestTime } from './http-api.ts';
import { watchFrameSizes } from './frame-guard.ts';
import { functionOfUri, integrationOfTarget, TokenBucket } from './routes.ts';
import { authorizeCall, callerOf } from '../iam/caller.ts';
import type { IamEnforcer } from '../iam/mode.ts';
import { connectionsPermissions, connectionsRefusal } from '../iam/services/connections.ts';
import { authorizerSourceArn, INVALID_LAMBDA_PERMISSIONS, localAuthorizerId, SERVICE_PRINCIPALS, serviceInvokeFunction, webSocketRouteSourceArn, type IamAuthorizer } from '../iam/service-hops.ts';

interface WsRoute {
  readonly functionId: string;
  /** `id`: the authorizer's id (what `Ref` gives), in its invocation's source ARN. */
  readonly authorizer?: { readonly id: string; readonly functionId: string; readonly identitySource: readonly string[] };
  readonly returnsResponse: boolean;
}

interface Connection {
  readonly id: string;
  readonly socket: WebSocket;
  readonly connectedAt: number;
  lastActiveAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly authorizer: Record<string, unknown>;
  /** Set once the gateway decided to close the connection (oversized frame, binary frame): later messages are dropped. */
  refused?: boolean;
  idleTimer?: NodeJS.Timeout;
  readonly maxTimer: NodeJS.Timeout;
}

/** Limits of the WebSocket emulation (AWS defaults). */
export interface WebSocketLimits {
  /** Largest client message in bytes (AWS: 128 KB). */
  readonly maxMessageBytes: number;
  /** Largest client frame in bytes; larger messages must be fragmented (AWS: 32 KB). */
  readonly maxFrameBytes: number;
  /** Idle connections close after this long (AWS: 10 minutes). */
  readonly idleTimeoutMs: number;
  /** Any connection closes after this long (AWS: 2 hours). */
  readonly maxConnectionMs: number;
}

export const DEFAULT_WS_LIMITS: WebSocketLimits = { maxMessageBytes: 128 * 1024, maxFrameBytes: 32 * 1024, idleTimeoutMs: 10 * 60_000, maxConnectionMs: 2 * 60 * 60_000 };

/**
 * Local API Gateway WebSocket API: the `$connect` authorizer and route, route selection by the
 * API's expression, `$disconnect`, route responses, size and time limits, stage throttling, and
 * the `@connections` management API (`POST`, `GET`, `DELETE`, `410` for gone connections) at
 * `/{stage}/@connections/{id}` on the same port.
 */
export class LocalWebSocketApi {
  public endpoint = '';
  public readonly apiId: string;
  public stageName = 'live';
  /**
   * Authorizes the `@connections` management API's callers by their credentials against their
   * roles' policies (`execute-api:ManageConnections`), in the runtime's IAM mode. @default no checks
   */
  public callerIam: IamEnforcer | undefined;
  /** The endpoint's HTTP server (its request listener also serves the in-process transport of the function threads). */
  public readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly routes = new Map<string, WsRoute>();
  private readonly connections = new Map<string, Connection>();
  private selectionField = 'action';
  private throttle: TokenBucket | undefined;

  public constructor(
    private readonly template: LocalTemplate,
    public readonly logicalId: string,
    private readonly functionOf: (logicalId: string) => LocalFunction,
    private readonly counter: ApiCallCounter,
    private readonly limits: WebSocketLimits = DEFAULT_WS_LIMITS,
    private readonly log: (line: string) => void = () => undefined,
    private readonly faults?: FaultInjector,
    /** Authorizes API Gateway's invocations of route and authorizer functions (Lambda permissions), in the runtime's IAM mode. @default no checks */
    private readonly iam?: IamAuthorizer,
  ) {
    this.apiId = logicalId.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 10);
    this.server = createServer((request, response) => void this.handleManagement(request, response));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes });
    this.server.on('upgrade', (request, socket, head) => void this.handleUpgrade(request, socket, head));
  }

  /** Open connections. */
  public get connectionCount(): number {
    return this.connections.size;
  }

  public registerId(): void {
    this.template.register(this.logicalId, {
      ref: this.apiId,
      attributes: { ApiEndpoint: `wss://${this.apiId}.execute-api.${LOCAL_REGION}.amazonaws.com`, ApiId: this.apiId },
    });
  }

  public load(): void {
    const api = this.template.resource(this.logicalId).Properties ?? {};
    const expression = String(api.RouteSelectionExpression ?? '$request.body.action');
    const match = /^\$request\.body\.([A-Za-z0-9_]+)$/.exec(expression);
    if (!match) throw new UnsupportedTemplateError(this.logicalId, 'RouteSelectionExpression', `${expression} is not supported`);
    this.selectionField = match[1]!;
    const mine = (resource: { Properties?: Record<string, unknown> }) => (resource.Properties?.ApiId as { Ref?: string })?.Ref === this.logicalId;
    for (const [id, stage] of this.template.ofType('AWS::ApiGatewayV2::Stage').filter(([, resource]) => mine(resource))) {
      this.stageName = String(stage.Properties?.StageName);
      const settings = stage.Properties?.DefaultRouteSettings as { ThrottlingRateLimit?: number; ThrottlingBurstLimit?: number } | undefined;
      if (settings?.ThrottlingRateLimit !== undefined) this.throttle = new TokenBucket(settings.ThrottlingRateLimit, settings.ThrottlingBurstLimit ?? settings.ThrottlingRateLimit);
      this.template.register(id, { ref: this.stageName, attributes: {} });
    }
    const responses = new Set(
      this.template
        .ofType('AWS::ApiGatewayV2::RouteResponse')
        .filter(([, resource]) => mine(resource))
        .map(([, resource]) => (resource.Properties?.RouteId as { Ref: string }).Ref),
    );
    for (const [id, route] of this.template.ofType('AWS::ApiGatewayV2::Route').filter(([, resource]) => mine(resource))) {
      const properties = route.Properties ?? {};
      const integration = this.template.resource(integrationOfTarget(properties.Target, id));
      if (integration.Properties?.IntegrationType !== 'AWS_PROXY') throw new UnsupportedTemplateError(id, 'IntegrationType', 'only AWS_PROXY is supported');
      let authorizer: WsRoute['authorizer'];
      if (properties.AuthorizationType === 'CUSTOM') {
        const authorizerId = (properties.AuthorizerId as { Ref: string }).Ref;
        const resource = this.template.resource(authorizerId).Properties ?? {};
        // Its id is in the source ARN of its invocations (and of the Lambda permission allowing them).
        this.template.register(authorizerId, { ref: localAuthorizerId(authorizerId), attributes: { AuthorizerId: localAuthorizerId(authorizerId) } });
        authorizer = {
          id: localAuthorizerId(authorizerId),
          functionId: functionOfUri(this.template, resource.AuthorizerUri, authorizerId),
          identitySource: (resource.IdentitySource as string[] | undefined) ?? [],
        };
      } else if (properties.AuthorizationType && properties.AuthorizationType !== 'NONE') {
        throw new UnsupportedTemplateError(id, 'AuthorizationType', `${String(properties.AuthorizationType)} is not supported`);
      }
      this.routes.set(String(properties.RouteKey), {
        functionId: functionOfUri(this.template, integration.Properties?.IntegrationUri, id),
        ...(authorizer ? { authorizer } : {}),
        returnsResponse: responses.has(id),
      });
    }
  }

  public async start(port?: number): Promise<string> {
    const bound = await listen(this.server, port);
    this.endpoint = `ws://127.0.0.1:${bound}/${this.stageName}`;
    return this.endpoint;
  }

  /** The `@connections` endpoint for SDK clients. */
  public get managementEndpoint(): string {
    return this.endpoint.replace(/^ws:/, 'http:');
  }

  public get routeKeys(): string[] {
    return [...this.routes.keys()];
  }

  public async stop(): Promise<void> {
    for (const connection of this.connections.values()) connection.socket.terminate();
    this.wss.close();
    await close(this.server);
  }

  private async handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const reject = (status: number, message: string) => {
      socket.write(`HTTP/1.1 ${status} ${message}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify({ message })}`);
      socket.destroy();
    };
    if (refuseForeignUpgrade(request, socket)) return; // local-only: DNS rebinding
    try {
      const url = new URL(request.url ?? '/', 'http://local');
      if (url.pathname.replace(/\/$/, '') !== `/${this.stageName}`) return reject(403, 'Forbidden');
      if (this.throttle && !this.throttle.take()) return reject(429, 'Too Many Requests');
      const connectionId = randomBytes(12).toString('base64url').slice(0, 16) + '=';
      const query = Object.fromEntries(url.searchParams);
      const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : (value ?? '')]));
      const sourceIp = request.socket.remoteAddress ?? '127.0.0.1';
      const connectedAt = Date.now();
      const requestContext = this.requestContext(connectionId, '$connect', 'CONNECT', sourceIp, headers['user-agent'] ?? '', connectedAt);
      const route = this.routes.get('$connect');
      let authorizerContext: Record<string, unknown> = {};
      if (route?.authorizer) {
        const identity = route.authorizer.identitySource.map((source) => {
          const q = /^route\.request\.querystring\.(.+)$/.exec(source);
          if (q) return query[q[1]!];
          const h = /^route\.request\.header\.(.+)$/i.exec(source);
          return h ? headers[h[1]!.toLowerCase()] : undefined;
        });
        if (identity.some((value) => !value)) return reject(401, 'Unauthorized');
        let policy: { principalId?: string; policyDocument?: { Statement?: { Effect?: string }[] }; context?: Record<string, unknown> };
        const authorizerFn = this.functionOf(route.authorizer.functionId);
        if (!this.mayInvoke(authorizerFn, authorizerSourceArn(this.apiId, route.authorizer.id), '$connect authorizer')) return reject(500, 'Internal Server Error');
        try {
          policy = (await authorizerFn.invoke({
            type: 'REQUEST',
            methodArn: `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${this.apiId}/${this.stageName}/$connect`,
            headers,
            queryStringParameters: query,
            stageVariables: {},
            requestContext,
          })) as typeof policy;
        } catch (error) {
          this.log(`$connect authorizer failed: ${(error as Error).message}`);
          return reject(500, 'Internal Server Error');
        }
        const statements = policy?.policyDocument?.Statement ?? [];
        if (!statements.length || statements.some((statement) => statement.Effect !== 'Allow')) return reject(403, 'Forbidden');
        authorizerContext = { ...(policy.context ?? {}), principalId: policy.principalId };
      }
      if (route) {
        const fn = this.functionOf(route.functionId);
        if (!this.mayInvoke(fn, webSocketRouteSourceArn(this.apiId, this.stageName, '$connect'), '$connect')) return reject(500, 'Internal Server Error');
        try {
          const result = (await fn.invoke({
            headers,
            queryStringParameters: query,
            requestContext: { ...requestContext, authorizer: authorizerContext },
            isBase64Encoded: false,
          })) as { statusCode?: number } | null;
          const status = Number(result?.statusCode ?? 200);
          if (status < 200 || status > 299) return reject(status, 'Forbidden');
        } catch {
          return reject(500, 'Internal Server Error');
        }
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        const connection = this.accept(ws, connectionId, connectedAt, sourceIp, headers['user-agent'] ?? '', authorizerContext);
        // A frame over the frame quota closes the connection with 1009, like a message over the message quota.
        watchFrameSizes(socket, this.limits.maxFrameBytes, () => this.refuse(connection, 1009, 'Message too big'));
      });
    } catch {
      reject(500, 'Internal Server Error');
    }
  }

  private accept(socket: WebSocket, id: string, connectedAt: number, sourceIp: string, userAgent: string, authorizer: Record<string, unknown>): Connection {
    const connection: Connection = {
      id,
      socket,
      connectedAt,
      lastActiveAt: Date.now(),
      sourceIp,
      userAgent,
      authorizer,
      maxTimer: setTimeout(() => socket.close(1001, 'Going away'), this.limits.maxConnectionMs),
    };
    this.connections.set(id, connection);
    this.touch(connection);
    socket.on('message', (data, isBinary) => {
      this.touch(connection);
      void this.onMessage(connection, Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer), isBinary);
    });
    socket.on('close', (code, reason) => void this.onClose(connection, code, reason.toString()));
    socket.on('error', () => socket.terminate());
    return connection;
  }

  /** The gateway ends a connection that broke its rules; nothing it sent from then on is routed. */
  private refuse(connection: Connection, code: number, reason: string): void {
    connection.refused = true;
    if (connection.socket.readyState === WebSocket.OPEN) connection.socket.close(code, reason);
  }

  private touch(connection: Connection): void {
    connection.lastActiveAt = Date.now();
    if (connection.idleTimer) clearTimeout(connection.idleTimer);
    connection.idleTimer = setTimeout(() => connection.socket.close(1001, 'Going away'), this.limits.idleTimeoutMs);
  }

  private async onMessage(connection: Connection, data: Buffer, isBinary: boolean): Promise<void> {
    if (connection.refused) return;
    // API Gateway WebSocket APIs reject binary frames and disconnect the client with 1003.
    if (isBinary) return this.refuse(connection, 1003, 'Binary frames are not supported');
    if (this.throttle && !this.throttle.take()) {
      this.send(connection, JSON.stringify({ message: 'Too Many Requests', connectionId: connection.id, requestId: randomUUID() }));
      return;
    }
    const text = data.toString('utf8');
    let key = '$default';
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const selected = parsed?.[this.selectionField];
      // `$connect` and `$disconnect` run on connection events only: a message naming them is unrouted.
      if (typeof selected === 'string' && !selected.startsWith('$') && this.routes.has(selected)) key = selected;
    } catch {
      // not JSON: $default
    }
    const route = this.routes.get(key);
    if (!route) {
      this.send(connection, JSON.stringify({ message: 'Forbidden', connectionId: connection.id, requestId: randomUUID() }));
      return;
    }
    const requestContext = {
      ...this.requestContext(connection.id, key, 'MESSAGE', connection.sourceIp, connection.userAgent, connection.connectedAt),
      messageId: randomBytes(8).toString('base64url'),
      authorizer: connection.authorizer,
    };
    const fn = this.functionOf(route.functionId);
    if (!this.mayInvoke(fn, webSocketRouteSourceArn(this.apiId, this.stageName, key), key)) {
      this.send(connection, JSON.stringify({ message: 'Internal server error', connectionId: connection.id, requestId: requestContext.requestId }));
      return;
    }
    try {
      const result = (await fn.invoke({
        requestContext,
        body: text,
        isBase64Encoded: false,
      })) as { statusCode?: number; body?: string } | null;
      if (route.returnsResponse && result?.body !== undefined) this.send(connection, String(result.body));
    } catch (error) {
      this.log(`${key}: integration failed: ${(error as Error).message}`);
      this.send(connection, JSON.stringify({ message: 'Internal server error', connectionId: connection.id, requestId: requestContext.requestId }));
    }
  }

  private async onClose(connection: Connection, code: number, reason: string): Promise<void> {
    clearTimeout(connection.maxTimer);
    if (connection.idleTimer) clearTimeout(connection.idleTimer);
    this.connections.delete(connection.id);
    const route = this.routes.get('$disconnect');
    if (!route) return;
    const fn = this.functionOf(route.functionId);
    if (!this.mayInvoke(fn, webSocketRouteSourceArn(this.apiId, this.stageName, '$disconnect'), '$disconnect')) return;
    await fn
      .invoke({
        requestContext: {
          ...this.requestContext(connection.id, '$disconnect', 'DISCONNECT', connection.sourceIp, connection.userAgent, connection.connectedAt),
          disconnectStatusCode: code,
          disconnectReason: reason,
          authorizer: connection.authorizer,
        },
        isBase64Encoded: false,
      })
      .catch(() => undefined);
  }

  /**
   * Whether API Gateway may invoke the function for this source (its Lambda permissions must allow
   * `apigateway.amazonaws.com` with this `aws:SourceArn`); when not, logs the configuration error.
   */
  private mayInvoke(fn: LocalFunction, sourceArn: string, what: string): boolean {
    const decision = this.iam?.authorize(serviceInvokeFunction(SERVICE_PRINCIPALS.apiGateway, fn.config.arn, sourceArn));
    if (!decision || decision.allowed) return true;
    this.log(`${what}: ${INVALID_LAMBDA_PERMISSIONS} (${decision.message})`);
    return false;
  }

  private send(connection: Connection, text: string): void {
    if (connection.socket.readyState === WebSocket.OPEN) connection.socket.send(text);
  }

  /** `connectedAt` is the handshake time, the same in every event of a connection (also in `$disconnect`, after it left the map). */
  private requestContext(connectionId: string, routeKey: string, eventType: string, sourceIp: string, userAgent: string, connectedAt: number) {
    const now = Date.now();
    return {
      routeKey,
      eventType,
      extendedRequestId: randomUUID(),
      requestTime: formatRequestTime(new Date(now)),
      messageDirection: 'IN',
      stage: this.stageName,
      connectedAt,
      requestTimeEpoch: now,
      identity: { sourceIp, userAgent },
      requestId: randomUUID(),
      domainName: `${this.apiId}.execute-api.${LOCAL_REGION}.amazonaws.com`,
      connectionId,
      apiId: this.apiId,
    };
  }

  /** `@connections` management API. */
  private async handleManagement(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (refuseForeignRequest(request, response)) return; // local-only: DNS rebinding, cross-site form posts
    const url = new URL(request.url ?? '/', 'http://local');
    const match = new RegExp(`^/${this.stageName}/@connections/([^/]+)$`).exec(url.pathname);
    const gone = () => sendJson(response, 410, { message: null }, { 'x-amzn-errortype': 'GoneException' });
    if (!match) return sendJson(response, 404, { message: 'Not Found' });
    const connection = this.connections.get(decodeURIComponent(match[1]!));
    const method = request.method ?? 'GET';
    const iam = this.callerIam;
    if (iam && iam.mode !== 'off') {
      const outcome = authorizeCall(iam, callerOf(iam, request.headers, request.url), connectionsPermissions(this.apiId, this.stageName, method, decodeURIComponent(match[1]!)), 'execute-api:ManageConnections');
      if (!outcome.allowed) {
        const refusal = connectionsRefusal(outcome);
        request.resume();
        response.writeHead(refusal.status, refusal.headers).end(refusal.body);
        return;
      }
    }
    if (method === 'POST') {
      this.counter.add('apigatewaymanagementapi', 'PostToConnection');
      let data: Buffer;
      try {
        data = await readBody(request, 128 * 1024);
      } catch {
        return sendJson(response, 413, { message: 'Message too long' }, { 'x-amzn-errortype': 'PayloadTooLargeException' });
      }
      if (!connection || connection.socket.readyState !== WebSocket.OPEN) return gone();
      if (this.faults?.roll('connections429')) return sendJson(response, 429, { message: 'Too Many Requests (fault injected)' }, { 'x-amzn-errortype': 'LimitExceededException' });
      if (this.faults?.roll('connections410')) {
        connection.socket.terminate(); // the connection is gone, as a 410 says
        return gone();
      }
      connection.socket.send(data.toString('utf8'));
      if (this.faults?.roll('webSocketDrop')) connection.socket.terminate();
      response.writeHead(200, { 'content-length': 0 });
      response.end();
      return;
    }
    if (method === 'GET') {
      this.counter.add('apigatewaymanagementapi', 'GetConnection');
      if (!connection) return gone();
      // REST-JSON wire names (the SDKs and the CLI map them to ConnectedAt, Identity.SourceIp, …).
      return sendJson(response, 200, {
        connectedAt: new Date(connection.connectedAt).toISOString(),
        identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
        lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
      });
    }
    if (method === 'DELETE') {
      this.counter.add('apigatewaymanagementapi', 'DeleteConnection');
      if (!connection) return gone();
      connection.socket.close(1000, 'Closed by server');
      response.writeHead(204);
      response.end();
      return;
    }
    sendJson(response, 405, { message: 'Method Not Allowed' });
  }
}
