import { type Stack, Validations } from 'aws-cdk-lib';
import { CfnTable, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Distribution } from 'aws-cdk-lib/aws-cloudfront';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { CfnEventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import { CfnRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import type { IConstruct } from 'constructs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Bucket, CfnBucket } from 'aws-cdk-lib/aws-s3';
import { Subscription, SubscriptionProtocol } from 'aws-cdk-lib/aws-sns';
import { OffloadExports } from './constructs/exports.ts';
import { OffloadFunction } from './constructs/offload-function.ts';
import { OffloadDashboardSite } from './constructs/dashboard-site.ts';
import { API_GATEWAY_PUSH_TO_LOGS_POLICY, ApiGatewayCloudWatchRole } from './constructs/api-gateway-account.ts';

const ack = (scope: IConstruct, id: string, reason: string): void => Validations.of(scope).acknowledge({ id, reason });

/**
 * Every cdk-nag finding the stack accepts, each on the narrowest construct with the reason it is
 * acceptable. Anything not listed here fails `cdk synth` and the CDK tests.
 */
export const acknowledgeNagFindings = (stack: Stack): void => {
  const all = stack.node.findAll();
  const tables = all.filter((node): node is Table => node instanceof Table);
  const wsApiIds = all
    .filter((node) => node.node.id === 'Api' && node.node.scope?.node.id === 'WebSocket')
    .map((node) => stack.getLogicalId(node.node.defaultChild as never));

  for (const fn of all.filter((node): node is OffloadFunction => node instanceof OffloadFunction)) {
    ack(fn, 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'Grants only CloudWatch Logs writes, to the function\u2019s own log group; a hand-written copy adds nothing.');
    ack(fn, 'AwsSolutions::AwsSolutions-IAM5[Resource::*]', 'X-Ray PutTraceSegments/PutTelemetryRecords accept no resource other than *.');
    ack(fn, 'Serverless::Serverless-LambdaDLQ',
      'Invoked synchronously (API Gateway) or by an SQS event source / EventBridge target that has its own DLQ; a function DLQ would never receive anything.');
    for (const table of tables) {
      const logicalId = stack.getLogicalId(table.node.defaultChild as CfnTable);
      ack(fn, `AwsSolutions::AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/index/*]`, 'Access to this table\u2019s own secondary indexes (GSI1 listing, GSI2 reconciliation) only.');
    }
    for (const apiId of wsApiIds) {
      for (const method of ['POST', '*']) {
        ack(fn, `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiId}>/live/${method}/@connections/*]`,
          'Connection ids are created at runtime; the grant is limited to this API\u2019s stage @connections path.');
      }
    }
  }
  for (const fn of all.filter((node): node is OffloadFunction => node instanceof OffloadFunction && node.node.id === 'Worker')) {
    ack(fn, 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/*]', 'The model is chosen per request (bedrock:<model id>); the grant is streaming invocation only.');
    ack(fn, 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:inference-profile/*]', 'Inference profiles are chosen per request; the grant is streaming invocation only.');
  }
  for (const route of all.filter((node): node is CfnRoute => node instanceof CfnRoute)) {
    if (route.authorizationType === 'CUSTOM') continue;
    if (route.node.scopes.some((scope) => scope.node.id === 'WebSocket') && route.routeKey !== '$connect') {
      ack(route, 'AwsSolutions::AwsSolutions-APIG4', 'WebSocket APIs authorize on $connect only; every later message runs with the connection\u2019s authorizer context.');
    } else if (route.routeKey === 'GET /v1/openapi.json' || route.routeKey === 'GET /v1/asyncapi.json') {
      ack(route, 'AwsSolutions::AwsSolutions-APIG4', 'The API descriptions are public by design; their function reads no data and has no permissions beyond its logs and traces.');
    }
  }
  for (const queue of all.filter((node): node is Queue => node instanceof Queue && node.node.id === 'Dlq')) {
    ack(queue, 'Serverless::Serverless-SQSRedrivePolicy', 'This queue is itself the dead-letter queue; operators inspect and redrive it.');
  }
  for (const mapping of all.filter((node): node is CfnEventSourceMapping => node instanceof CfnEventSourceMapping)) {
    ack(mapping, 'Serverless::Serverless-LambdaEventSourceMappingDestination', 'SQS event sources use the queue\u2019s redrive policy (DLQ after maxReceiveCount); on-failure destinations do not apply to SQS.');
  }
  for (const bus of all.filter((node): node is EventBus => node instanceof EventBus)) {
    ack(bus, 'Serverless::Serverless-EventBusDLQ', 'Every rule target on the bus carries its own dead-letter queue and retry policy.');
  }
  for (const rule of all.filter((node): node is Rule => node instanceof Rule && node.node.scope?.node.id === 'Reconciler')) {
    ack(rule.node.defaultChild as IConstruct, 'Serverless::Serverless-EventBusDLQ', 'A missed reconciler run is covered by the next one a minute later; there is nothing to dead-letter.');
  }
  for (const logsRole of all.filter((node): node is ApiGatewayCloudWatchRole => node instanceof ApiGatewayCloudWatchRole)) {
    ack(logsRole.role, `AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${API_GATEWAY_PUSH_TO_LOGS_POLICY}]`,
      'The role API Gateway itself assumes (account setting cloudWatchRoleArn) to write the stage logs of every API in the account and region, log groups it names at runtime; AWS maintains this policy for exactly that (CloudWatch Logs writes and describes only).');
  }
  for (const subscription of all.filter((node): node is Subscription => node instanceof Subscription && (node.node.defaultChild as { protocol?: string } | undefined)?.protocol === SubscriptionProtocol.EMAIL)) {
    ack(subscription, 'Serverless::Serverless-SNSRedrivePolicy',
      'The alarm e-mail (context alarmEmail): a queue of undeliverable alarm mails would hold copies nobody reads; the alarm state and history stay in CloudWatch, and the topic takes more subscribers.');
  }
  for (const secret of all.filter((node): node is Secret => node instanceof Secret)) {
    ack(secret, 'AwsSolutions::AwsSolutions-SMG4',
      'Rotating the token key invalidates every outstanding client token; tokens live at most 24 h, so rotate manually in a window (a new value takes effect within 5 minutes).');
  }
  for (const bucket of all.filter((node): node is Bucket => node instanceof Bucket && !(node.node.scope instanceof OffloadDashboardSite))) {
    ack(bucket, 'AwsSolutions::AwsSolutions-S1', 'Written only by one worker (the analytics export or the batch class\u2019s task exports; PutObject under one prefix, visible in CloudTrail); server access logs would need a second bucket per deployment.');
  }
  for (const site of all.filter((node): node is OffloadDashboardSite => node instanceof OffloadDashboardSite)) {
    ack(site.bucket, 'AwsSolutions::AwsSolutions-S1',
      'Holds only the built dashboard (public HTML/JS/CSS, no data), read only by CloudFront through origin access control; requests are visible at the edge. Access logs would need a second bucket.');
  }
  // The BucketDeployment's provider (aws-cdk-lib's own Python function, a singleton per stack), run by CloudFormation at deploy time only.
  const deploymentProviders = all.filter((node) => node.node.scope === stack && node.node.id.startsWith('Custom::CDKBucketDeployment'));
  const dashboardBuckets = all.filter((node): node is OffloadDashboardSite => node instanceof OffloadDashboardSite).map((site) => stack.getLogicalId(site.bucket.node.defaultChild as CfnBucket));
  for (const provider of deploymentProviders) {
    const why = 'aws-cdk-lib\u2019s BucketDeployment provider: it copies the built dashboard (static files, no tenant data) from the CDK asset bucket into the dashboard bucket at deploy time.';
    ack(provider, 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', `${why} The managed policy grants only its CloudWatch Logs writes.`);
    for (const action of ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*']) {
      ack(provider, `AwsSolutions::AwsSolutions-IAM5[Action::${action}]`, `${why} The grant (aws s3 sync with --delete) is generated by aws-cdk-lib and limited to the CDK asset bucket and the dashboard bucket.`);
    }
    ack(provider, 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]', `${why} Asset object keys are content hashes known only at publish time.`);
    for (const bucketId of dashboardBuckets) ack(provider, `AwsSolutions::AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`, `${why} It writes and prunes every file of the dashboard bucket.`);
    ack(provider, 'AwsSolutions::AwsSolutions-L1', `${why} Its Python runtime is chosen and updated by aws-cdk-lib.`);
    ack(provider, 'Serverless::Serverless-LambdaLatestVersion', `${why} Its Python runtime is chosen and updated by aws-cdk-lib.`);
    ack(provider, 'Serverless::Serverless-LambdaDLQ', `${why} CloudFormation invokes it synchronously as a custom resource and fails the deployment on error; nothing to dead-letter.`);
    ack(provider, 'Serverless::Serverless-LambdaTracing', `${why} Runs once per deployment; its logs are enough.`);
  }
  for (const fn of all.filter((node): node is OffloadFunction => node instanceof OffloadFunction && node.node.scope?.node.id === 'Analytics')) {
    for (const bucket of all.filter((node): node is Bucket => node instanceof Bucket)) {
      ack(fn, `AwsSolutions::AwsSolutions-IAM5[Resource::<${stack.getLogicalId(bucket.node.defaultChild as CfnBucket)}.Arn>/events/*]`, 'Object keys are date-partitioned under events/; the grant is PutObject only.');
    }
  }
  for (const exportsBucket of all.filter((node): node is OffloadExports => node instanceof OffloadExports)) {
    const bucketId = stack.getLogicalId(exportsBucket.bucket.node.defaultChild as CfnBucket);
    for (const fn of all.filter((node): node is OffloadFunction => node instanceof OffloadFunction && node.node.scope?.node.id === 'Batch')) {
      ack(fn, `AwsSolutions::AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/exports/*]`, 'One object per export task under exports/<tenant>/<task>.ndjson; the grant is PutObject only.');
    }
    for (const fn of all.filter((node): node is OffloadFunction => node instanceof OffloadFunction && node.node.id === 'DownloadTask')) {
      ack(fn, `AwsSolutions::AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/exports/*]`,
        'Presigns GET URLs of exports/<tenant>/<task>.ndjson; which tenant and task are known only per request (checked against the task record); the grant is GetObject only.');
    }
  }
  for (const distribution of all.filter((node): node is Distribution => node instanceof Distribution)) {
    ack(distribution, 'AwsSolutions::AwsSolutions-CFR1', 'A global API: geo restriction is a per-deployment policy decision, not a default.');
    ack(distribution, 'AwsSolutions::AwsSolutions-CFR2', 'WAF is per-deployment (cost, rules); tenant admission control and stage throttling protect the origin.');
    ack(distribution, 'AwsSolutions::AwsSolutions-CFR3', 'Access is logged at the origin (API Gateway access logs); CloudFront standard logs need an ACL-enabled bucket.');
    ack(distribution, 'AwsSolutions::AwsSolutions-CFR4', 'The default *.cloudfront.net certificate cannot pin a minimum TLS version; deployments with a custom domain set TLSv1.2_2021.');
  }
};
