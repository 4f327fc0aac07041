import { RemovalPolicy } from 'aws-cdk-lib';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/**
 * API Gateway access-log formats (JSON), one per API type: API Gateway rejects a stage whose
 * format names a `$context` variable its API type does not support, and the two lists differ
 * (`connectionId` and `eventType` exist only for WebSocket APIs; `responseLength` and
 * `integrationErrorMessage` only for HTTP APIs). Each carries the request id to correlate with
 * function logs.
 *
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-logging.html
 */
export const ACCESS_LOG_FORMATS = {
  http: JSON.stringify({
    requestId: '$context.requestId',
    extendedRequestId: '$context.extendedRequestId',
    ip: '$context.identity.sourceIp',
    requestTime: '$context.requestTime',
    routeKey: '$context.routeKey',
    status: '$context.status',
    responseLength: '$context.responseLength',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
  }),
  webSocket: JSON.stringify({
    requestId: '$context.requestId',
    extendedRequestId: '$context.extendedRequestId',
    ip: '$context.identity.sourceIp',
    requestTime: '$context.requestTime',
    routeKey: '$context.routeKey',
    eventType: '$context.eventType',
    connectionId: '$context.connectionId',
    status: '$context.status',
    integrationError: '$context.integration.error',
    authorizerError: '$context.authorizer.error',
  }),
} as const;

/** The API type whose access-log variables a stage may use. */
export type AccessLogApiType = keyof typeof ACCESS_LOG_FORMATS;

/** A log group for a stage's access logs and the settings that point the stage at it, in its API type's format. */
export const accessLogs = (scope: Construct, id: string, apiType: AccessLogApiType): { destinationArn: string; format: string } => {
  const group = new LogGroup(scope, id, { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
  return { destinationArn: group.logGroupArn, format: ACCESS_LOG_FORMATS[apiType] };
};
