import { ApiGatewayManagementApiClient, DeleteConnectionCommand, GetConnectionCommand, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_WS_LIMITS, LocalWebSocketApi } from '../../local/apigateway/websocket-api.ts';
import { localCredentials } from '../../local/engines/credentials.ts';
import { ApiCallCounter } from '../../local/http-util.ts';
import type { LocalFunction } from '../../local/lambda/lambda-service.ts';
import { eventually, FixtureApp, lambdaUri, RECORD, route, Scratch, sleep } from './support.ts';

const AUTHORIZER = `export const handler = async (event) => {
  const token = event.queryStringParameters.token;
  return {
    principalId: 'user-' + token,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: token === 'deny' ? 'Deny' : 'Allow', Resource: event.methodArn }] },
    context: { tenant: 'tenant-' + token },
  };
};`;
const CONNECT = `${RECORD}
export const handler = async (event) => {
  record('connect', event);
  return { statusCode: event.queryStringParameters?.refuse ? 403 : 200 };
};`;
const DISCONNECT = `${RECORD}
export const handler = async (event) => { record('disconnect', event); return { statusCode: 200 }; };`;
const MESSAGE = `${RECORD}
export const handler = async (event) => {
  record('message', event);
  const { routeKey, eventType, connectionId, connectedAt, authorizer } = event.requestContext;
  return { statusCode: 200, body: JSON.stringify({ routeKey, eventType, connectionId, connectedAt, authorizer, body: event.body }) };
};`;

/** A WebSocket client recording messages, or the handshake status it was refused with. */
class Client {
  public readonly messages: any[] = [];
  public readonly closed: Promise<{ code: number; at: number }>;

  private constructor(public readonly socket: WebSocket) {
    socket.on('message', (data) => this.messages.push(JSON.parse(String(data))));
    this.closed = new Promise((resolve) => socket.once('close', (code) => resolve({ code, at: Date.now() })));
  }

  public static connect(url: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => resolve(new Client(socket)));
      socket.once('unexpected-response', (_request, response) => reject(Object.assign(new Error(`handshake ${response.statusCode}`), { statusCode: response.statusCode })));
      socket.once('error', reject);
    });
  }

  /** Status the handshake was refused with (fails if it was accepted). */
  public static async refusal(url: string): Promise<number> {
    const outcome = await Client.connect(url).then(
      (client) => (client.socket.terminate(), 101),
      (error: { statusCode?: number }) => error.statusCode ?? -1,
    );
    return outcome;
  }

  public send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  public next(predicate: (message: any) => boolean = () => true): Promise<any> {
    return eventually(() => this.messages.find(predicate), 5_000, 10);
  }

  public async close(): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close();
    await this.closed;
  }
}

describe('LocalWebSocketApi: API Gateway WebSocket API fidelity', () => {
  const scratch = new Scratch();
  let functions: Map<string, LocalFunction>;
  let api: LocalWebSocketApi;
  let idleApi: LocalWebSocketApi;
  let management: ApiGatewayManagementApiClient;
  const url = (query = 'token=ok') => `${api.endpoint}?${query}`;

  beforeAll(async () => {
    const app = new FixtureApp(scratch).fn('Authorizer', AUTHORIZER).fn('Connect', CONNECT).fn('Disconnect', DISCONNECT).fn('Message', MESSAGE);
    app.add('Ws', { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'Ws', ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' } });
    app.add('WsStage', { Type: 'AWS::ApiGatewayV2::Stage', Properties: { ApiId: { Ref: 'Ws' }, StageName: 'live', AutoDeploy: true } });
    app.add('WsAuthorizer', {
      Type: 'AWS::ApiGatewayV2::Authorizer',
      Properties: { ApiId: { Ref: 'Ws' }, AuthorizerType: 'REQUEST', AuthorizerUri: lambdaUri('Authorizer'), IdentitySource: ['route.request.querystring.token'], Name: 'Token' },
    });
    route(app, 'Ws', '$connect', 'Connect', { AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: 'WsAuthorizer' } });
    route(app, 'Ws', '$disconnect', 'Disconnect');
    const withResponse = (routeId: string) => app.add(`${routeId}Response`, { Type: 'AWS::ApiGatewayV2::RouteResponse', Properties: { ApiId: { Ref: 'Ws' }, RouteId: { Ref: routeId }, RouteResponseKey: '$default' } });
    withResponse(route(app, 'Ws', '$default', 'Message'));
    withResponse(route(app, 'Ws', 'echo', 'Message', { RouteResponseSelectionExpression: '$default' }));
    route(app, 'Ws', 'silent', 'Message');
    const template = app.template();
    functions = app.functions(template, { OUT_DIR: scratch.out });
    const functionOf = (id: string) => functions.get(id)!;
    api = new LocalWebSocketApi(template, 'Ws', functionOf, new ApiCallCounter(), { ...DEFAULT_WS_LIMITS, maxMessageBytes: 1024 });
    idleApi = new LocalWebSocketApi(template, 'Ws', functionOf, new ApiCallCounter(), { ...DEFAULT_WS_LIMITS, idleTimeoutMs: 300 });
    for (const instance of [api, idleApi]) {
      instance.registerId();
      instance.load();
      await instance.start(0);
    }
    management = new ApiGatewayManagementApiClient({ endpoint: api.managementEndpoint, region: 'us-east-1', credentials: localCredentials, maxAttempts: 1 });
  });
  afterAll(async () => {
    management?.destroy();
    await Promise.all([api, idleApi].map((instance) => instance?.stop()));
    await Promise.all([...(functions?.values() ?? [])].map((fn) => fn.shutdown()));
    scratch.cleanup();
  });

  describe('$connect', () => {
    it('refuses the handshake with 401 without invoking the authorizer when the identity source is missing', async () => {
      // Prepare
      const before = functions.get('Authorizer')!.stats.invocations;
      // Act
      const status = await Client.refusal(url('other=1'));
      // Assess
      expect(status).toBe(401);
      expect(functions.get('Authorizer')!.stats.invocations).toBe(before);
    });

    it('refuses the handshake with 403 when the authorizer denies', async () => {
      // Act / Assess
      expect(await Client.refusal(url('token=deny'))).toBe(403);
    });

    it('refuses the handshake when the $connect integration returns statusCode 403', async () => {
      // Act / Assess
      expect(await Client.refusal(url('token=ok&refuse=1'))).toBe(403);
      expect(api.connectionCount).toBe(0);
    });

    it('accepts an authorized connection and gives $connect a CONNECT event with the authorizer context', async () => {
      // Act
      const client = await Client.connect(url('token=ok&hello=1'));
      client.send({ action: 'echo' });
      const { connectionId } = await client.next();
      await client.close();
      // Assess
      const connect = scratch.records('connect').find((event) => event.requestContext.connectionId === connectionId);
      expect(connect).toMatchObject({
        queryStringParameters: { token: 'ok', hello: '1' },
        isBase64Encoded: false,
        requestContext: {
          routeKey: '$connect',
          eventType: 'CONNECT',
          stage: 'live',
          apiId: api.apiId,
          connectionId,
          identity: { sourceIp: '127.0.0.1' },
          authorizer: { tenant: 'tenant-ok', principalId: 'user-ok' },
        },
      });
      expect(connect.headers.host).toBeTruthy();
    });
  });

  describe('messages', () => {
    let client: Client;
    beforeAll(async () => {
      client = await Client.connect(url());
    });
    afterAll(async () => client?.close());

    it.each([
      ['the route named by $request.body.action', { action: 'echo', n: 1 }, 'echo'],
      ['$default for an action without a route', { action: 'nope', n: 2 }, '$default'],
      ['$default for a body that is not JSON', 'plain text 3', '$default'],
    ])('selects %s', async (_name, message, routeKey) => {
      // Act
      client.send(message);
      const body = typeof message === 'string' ? message : JSON.stringify(message);
      const reply = await client.next((candidate) => candidate.body === body);
      // Assess
      expect(reply).toMatchObject({ routeKey, eventType: 'MESSAGE', authorizer: { tenant: 'tenant-ok', principalId: 'user-ok' } });
    });

    it('sends a route response back only for routes that have an AWS::ApiGatewayV2::RouteResponse', async () => {
      // Prepare
      const body = JSON.stringify({ action: 'silent', n: 4 });
      // Act
      client.send(body);
      await eventually(() => scratch.records('message').some((event) => event.body === body));
      client.send({ action: 'echo', n: 5 });
      await client.next((message) => message.body === JSON.stringify({ action: 'echo', n: 5 }));
      await sleep(50);
      // Assess
      expect(client.messages.some((message) => message.body === body)).toBe(false);
    });

    it('keeps the connection attributes stable across the events of one connection', async () => {
      // Act
      client.send({ action: 'echo', n: 6 });
      const reply = await client.next((message) => message.body === JSON.stringify({ action: 'echo', n: 6 }));
      // Assess
      const connect = scratch.records('connect').find((event) => event.requestContext.connectionId === reply.connectionId);
      expect(reply.connectedAt).toBe(connect.requestContext.connectedAt);
      const message = scratch.records('message').find((event) => event.body === JSON.stringify({ action: 'echo', n: 6 }));
      expect(message.requestContext.requestTime).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
      expect(message.requestContext.messageId).toEqual(expect.any(String));
    });
  });

  it('invokes $disconnect on close with a DISCONNECT event for the same connection', async () => {
    // Prepare
    const client = await Client.connect(url());
    client.send({ action: 'echo' });
    const { connectionId } = await client.next();
    // Act
    await client.close();
    const disconnect = await eventually(() => scratch.records('disconnect').find((event) => event.requestContext.connectionId === connectionId));
    // Assess
    const connect = scratch.records('connect').find((event) => event.requestContext.connectionId === connectionId);
    expect(disconnect.requestContext).toMatchObject({
      routeKey: '$disconnect',
      eventType: 'DISCONNECT',
      connectionId,
      disconnectStatusCode: 1005,
      connectedAt: connect.requestContext.connectedAt,
      authorizer: { tenant: 'tenant-ok' },
    });
    expect(api.connectionCount).toBe(0);
  });

  it('closes the connection with 1009 when a message exceeds the message size limit', async () => {
    // Prepare
    const client = await Client.connect(url());
    // Act
    client.send('x'.repeat(2048));
    const { code } = await client.closed;
    // Assess
    expect(code).toBe(1009);
  });

  it('closes an idle connection after the idle timeout (1001 Going away), and activity keeps it open', async () => {
    // Prepare
    const active = await Client.connect(`${idleApi.endpoint}?token=ok`);
    const idle = await Client.connect(`${idleApi.endpoint}?token=ok`);
    const opened = Date.now();
    // Act
    for (let i = 0; i < 4; i++) {
      await sleep(150);
      active.send({ action: 'silent', keepalive: i });
    }
    const { code, at } = await idle.closed;
    // Assess
    expect(code).toBe(1001);
    expect(at - opened).toBeGreaterThanOrEqual(280);
    expect(active.socket.readyState).toBe(WebSocket.OPEN);
    await active.close();
  });

  describe('@connections management API (real SDK client)', () => {
    it('PostToConnection delivers, GetConnection describes, DeleteConnection closes, and a gone id raises GoneException (410)', async () => {
      // Prepare
      const client = await Client.connect(url());
      client.send({ action: 'echo' });
      const { connectionId } = await client.next();
      const connectedAt = Date.now();
      // Act: post
      await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: JSON.stringify({ pushed: true }) }));
      // Assess
      expect(await client.next((message) => message.pushed === true)).toEqual({ pushed: true });
      // Act: get
      const described = await management.send(new GetConnectionCommand({ ConnectionId: connectionId }));
      // Assess
      expect(described.ConnectedAt).toBeInstanceOf(Date);
      expect(Math.abs(described.ConnectedAt!.getTime() - connectedAt)).toBeLessThan(5_000);
      expect(described.Identity).toMatchObject({ SourceIp: '127.0.0.1' });
      expect(described.LastActiveAt).toBeInstanceOf(Date);
      expect(described.LastActiveAt!.getTime()).toBeGreaterThanOrEqual(described.ConnectedAt!.getTime());
      // Act: delete
      await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      const { code } = await client.closed;
      // Assess
      expect(code).toBe(1000);
      await eventually(() => scratch.records('disconnect').some((event) => event.requestContext.connectionId === connectionId));
      // Act: gone
      const gone = await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'late' })).catch((error: unknown) => error);
      const goneGet = await management.send(new GetConnectionCommand({ ConnectionId: connectionId })).catch((error: unknown) => error);
      // Assess
      expect(gone).toBeInstanceOf(GoneException);
      expect((gone as GoneException).$metadata.httpStatusCode).toBe(410);
      expect(goneGet).toBeInstanceOf(GoneException);
    });

    it('raises GoneException for an id that never existed', async () => {
      // Act
      const error = await management.send(new DeleteConnectionCommand({ ConnectionId: 'bm9uZXhpc3RlbnQ=' })).catch((caught: unknown) => caught);
      // Assess
      expect(error).toBeInstanceOf(GoneException);
    });
  });
});
