import { RemovalPolicy } from 'aws-cdk-lib';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** API Gateway access log fields (JSON), with the request id to correlate with function logs. */
const FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  integrationError: '$context.integrationErrorMessage',
  connectionId: '$context.connectionId',
});

/** A log group for a stage's access logs and the settings that point the stage at it. */
export const accessLogs = (scope: Construct, id: string): { destinationArn: string; format: string } => {
  const group = new LogGroup(scope, id, { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
  return { destinationArn: group.logGroupArn, format: FORMAT };
};
