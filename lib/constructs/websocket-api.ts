import { Stack } from 'aws-cdk-lib';
import { CfnStage, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { accessLogs } from './access-log.ts';
import { OffloadFunction } from './offload-function.ts';
import { TENANT_RATE_DEFAULTS, TENANT_RATE_ENV } from '../../lambdas/core/rate-limit.ts';
import { inflightLimitOf } from '../inflight-limit.ts';

/** Props of {@link OffloadWebSocketApi}. */
export interface OffloadWebSocketApiProps {
  readonly tasksTable: ITable;
  readonly connectionsTable: ITable;
  /** The bus `submit` emits to. */
  readonly bus: IEventBus;
  /** The client-token signing key. */
  readonly tokenKey: ISecret;
  /** Tasks a tenant may have in flight (1-5000). @default 100 */
  readonly tenantInflightLimit?: number;
  /** @default 'live' */
  readonly stageName?: string;
  /** @default { rateLimit: 500, burstLimit: 1000 } */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** Messages per second one tenant may send over all its connections (per function instance). @default 50 */
  readonly tenantRateLimit?: number;
  /** Messages one tenant may send at once after a quiet period (per function instance). @default 100 */
  readonly tenantBurstLimit?: number;
}

/**
 * The WebSocket API: `$connect` behind a token authorizer, `$disconnect`, `subscribe`,
 * `unsubscribe`, `ping` (answered through a route response) and `$default` for unknown actions.
 */
export class OffloadWebSocketApi extends Construct {
  public readonly api: WebSocketApi;
  public readonly stage: WebSocketStage;
  /** `https://{api}.execute-api.{region}.{suffix}/{stage}`: the `@connections` endpoint. */
  public readonly managementEndpoint: string;
  /** ARN pattern for `execute-api:ManageConnections` on this stage. */
  public readonly manageConnectionsArn: string;
  /** The `submit` route's function. */
  public readonly submitFunction: OffloadFunction;

  public constructor(scope: Construct, id: string, props: OffloadWebSocketApiProps) {
    super(scope, id);
    const stageName = props.stageName ?? 'live';
    const environment = { TASKS_TABLE: props.tasksTable.tableName, CONNECTIONS_TABLE: props.connectionsTable.tableName };
    const fn = (name: string, entry: string, description: string) => new OffloadFunction(this, name, { entry, description, environment });

    const authorizerFn = fn('Authorizer', 'handlers/ws/authorizer.ts', 'Offload WebSocket $connect authorizer');
    props.tasksTable.grantReadData(authorizerFn);
    authorizerFn.addEnvironment('TOKEN_SECRET_ARN', props.tokenKey.secretArn);
    props.tokenKey.grantRead(authorizerFn);
    const connect = fn('Connect', 'handlers/ws/connect.ts', 'Offload WebSocket $connect');
    const disconnect = fn('Disconnect', 'handlers/ws/disconnect.ts', 'Offload WebSocket $disconnect');
    const subscribe = fn('Subscribe', 'handlers/ws/subscribe.ts', 'Offload WebSocket subscribe');
    const unsubscribe = fn('Unsubscribe', 'handlers/ws/unsubscribe.ts', 'Offload WebSocket unsubscribe');
    const ping = fn('Ping', 'handlers/ws/ping.ts', 'Offload WebSocket ping');
    const submit = fn('Submit', 'handlers/ws/submit.ts', 'Offload WebSocket submit');
    this.submitFunction = submit;
    submit.addEnvironment('EVENT_BUS_NAME', props.bus.eventBusName);
    submit.addEnvironment('TENANT_INFLIGHT_LIMIT', inflightLimitOf(props.tenantInflightLimit));
    props.tasksTable.grantReadWriteData(submit);
    props.bus.grantPutEventsTo(submit);
    const fallback = fn('Fallback', 'handlers/ws/default.ts', 'Offload WebSocket $default');
    // The per-tenant message rate limit, as on the HTTP API (see core/rate-limit.ts).
    for (const handler of [subscribe, unsubscribe, submit, fallback, ping]) {
      handler.addEnvironment(TENANT_RATE_ENV.ratePerSecond, String(props.tenantRateLimit ?? TENANT_RATE_DEFAULTS.ratePerSecond));
      handler.addEnvironment(TENANT_RATE_ENV.burst, String(props.tenantBurstLimit ?? TENANT_RATE_DEFAULTS.burst));
    }

    this.api = new WebSocketApi(this, 'Api', {
      description: 'Offload WebSocket API',
      routeSelectionExpression: '$request.body.action',
      connectRouteOptions: {
        integration: new WebSocketLambdaIntegration('ConnectIntegration', connect),
        authorizer: new WebSocketLambdaAuthorizer('TokenAuthorizer', authorizerFn, { identitySource: ['route.request.querystring.token'] }),
      },
      disconnectRouteOptions: { integration: new WebSocketLambdaIntegration('DisconnectIntegration', disconnect) },
      defaultRouteOptions: { integration: new WebSocketLambdaIntegration('DefaultIntegration', fallback) },
    });
    this.api.addRoute('subscribe', { integration: new WebSocketLambdaIntegration('SubscribeIntegration', subscribe) });
    this.api.addRoute('unsubscribe', { integration: new WebSocketLambdaIntegration('UnsubscribeIntegration', unsubscribe) });
    this.api.addRoute('submit', { integration: new WebSocketLambdaIntegration('SubmitIntegration', submit) });
    this.api.addRoute('ping', { integration: new WebSocketLambdaIntegration('PingIntegration', ping), returnResponse: true });

    const throttle = props.throttle ?? { rateLimit: 500, burstLimit: 1000 };
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName,
      autoDeploy: true,
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
    });
    (this.stage.node.defaultChild as CfnStage).accessLogSettings = accessLogs(this, 'AccessLogs', 'webSocket');
    this.managementEndpoint = this.stage.callbackUrl;
    this.manageConnectionsArn = Stack.of(this).formatArn({
      service: 'execute-api',
      resource: this.api.apiId,
      resourceName: `${stageName}/POST/@connections/*`,
    });

    for (const handler of [connect, disconnect, subscribe, unsubscribe]) props.connectionsTable.grantReadWriteData(handler);
    props.tasksTable.grantReadData(subscribe);
    // Every message route may push (answers, errors) and close a connection whose client token expired.
    for (const handler of [subscribe, unsubscribe, submit, fallback, connect, ping]) this.stage.grantManagementApiAccess(handler);
    for (const handler of [subscribe, unsubscribe, submit, fallback, connect, ping]) handler.addEnvironment('WS_MANAGEMENT_ENDPOINT', this.managementEndpoint);
  }
}
