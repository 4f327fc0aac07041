import { LOCAL_ACCOUNT, LOCAL_REGION } from '../template.ts';
import type { IamDecision, IamPrincipal, IamRequest } from './types.ts';

/**
 * Service-to-service hops: the calls one AWS service makes to another on the stack's behalf
 * (EventBridge sending to a queue or invoking a function, API Gateway invoking an integration or
 * an authorizer, CloudFront reading an S3 origin). AWS authorizes each against the target's
 * resource policy (queue policy, Lambda permissions, bucket policy) with the calling service as
 * the principal and the caller's resource as `aws:SourceArn`. These helpers build those requests
 * so every emulator asks the same question the same way.
 */

/** The service principals that make the hops. */
export const SERVICE_PRINCIPALS = {
  events: 'events.amazonaws.com',
  apiGateway: 'apigateway.amazonaws.com',
  cloudFront: 'cloudfront.amazonaws.com',
} as const;

/** Answers authorization requests in the runtime's IAM mode (see local/iam/mode.ts `IamEnforcer`). */
export interface IamAuthorizer {
  authorize(request: IamRequest): IamDecision;
}

/** A refused hop: the decision's `allowed: false` branch. */
export type IamDenial = Extract<IamDecision, { allowed: false }>;

const service = (name: string): IamPrincipal => ({ kind: 'service', service: name });

/** The condition keys a service sets when it acts for one of the account's resources. */
const sourceContext = (sourceArn: string) => ({ 'aws:SourceArn': sourceArn, 'aws:SourceAccount': LOCAL_ACCOUNT });

/** EventBridge delivering a rule's event to an SQS queue (a target or a target's dead-letter queue). */
export const eventsSendMessage = (queueArn: string, ruleArn: string): IamRequest => ({
  principal: service(SERVICE_PRINCIPALS.events),
  action: 'sqs:SendMessage',
  resource: queueArn,
  context: sourceContext(ruleArn),
});

/** A service (EventBridge for a rule, API Gateway for a route or an authorizer) invoking a function. */
export const serviceInvokeFunction = (servicePrincipal: string, functionArn: string, sourceArn: string): IamRequest => ({
  principal: service(servicePrincipal),
  action: 'lambda:InvokeFunction',
  resource: functionArn,
  context: sourceContext(sourceArn),
});

/** CloudFront reading an object of an S3 origin through origin access control, for a distribution. */
export const cloudFrontGetObject = (bucket: string, key: string, distributionArn: string): IamRequest => ({
  principal: service(SERVICE_PRINCIPALS.cloudFront),
  action: 's3:GetObject',
  resource: `arn:aws:s3:::${bucket}/${key}`,
  context: sourceContext(distributionArn),
});

/** `arn:aws:execute-api:<region>:<account>:<apiId>/<rest>`: the ARN API Gateway passes as `aws:SourceArn`. */
export const executeApiArn = (apiId: string, rest: string): string => `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${apiId}/${rest}`;

/**
 * The source ARN of an HTTP API route integration: `<apiId>/<stage>/<METHOD>/<resource path>`,
 * with the route's path as declared (`/v1/tasks/{id}`), or `<apiId>/<stage>/$default` for the
 * `$default` route. An `ANY` route is invoked with the request's method.
 */
export const httpRouteSourceArn = (apiId: string, stage: string, routeKey: string, requestMethod: string): string => {
  if (routeKey === '$default') return executeApiArn(apiId, `${stage}/$default`);
  const [method, path] = routeKey.split(' ') as [string, string];
  return executeApiArn(apiId, `${stage}/${method === 'ANY' ? requestMethod : method}${path}`);
};

/** The source ARN of a WebSocket API route integration: `<apiId>/<stage>/<route key>`. */
export const webSocketRouteSourceArn = (apiId: string, stage: string, routeKey: string): string => executeApiArn(apiId, `${stage}/${routeKey}`);

/** The source ARN of a Lambda authorizer invocation: `<apiId>/authorizers/<authorizerId>`. */
export const authorizerSourceArn = (apiId: string, authorizerId: string): string => executeApiArn(apiId, `authorizers/${authorizerId}`);

/**
 * The id a local API gives an `AWS::ApiGatewayV2::Authorizer` (what `Ref` resolves to): like API
 * Gateway's, ten lower-case alphanumerics, derived from the logical id so it is stable.
 */
export const localAuthorizerId = (logicalId: string): string => logicalId.toLowerCase().replace(/[^a-z0-9]/g, '').slice(-10);

/** `arn:aws:cloudfront::<account>:distribution/<id>`, the `AWS:SourceArn` of origin access control reads. */
export const distributionArn = (distributionId: string): string => `arn:aws:cloudfront::${LOCAL_ACCOUNT}:distribution/${distributionId}`;

/**
 * What API Gateway logs when it may not invoke a route's integration or authorizer function
 * (the execution log line; the client gets `500 {"message":"Internal Server Error"}`).
 */
export const INVALID_LAMBDA_PERMISSIONS = 'Execution failed due to configuration error: Invalid permissions on Lambda function' as const;
