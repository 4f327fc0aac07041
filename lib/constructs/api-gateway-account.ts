import { RemovalPolicy } from 'aws-cdk-lib';
import { CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** The AWS managed policy that lets API Gateway write stage logs to CloudWatch Logs. */
export const API_GATEWAY_PUSH_TO_LOGS_POLICY = 'service-role/AmazonAPIGatewayPushToCloudWatchLogs' as const;

/**
 * The API Gateway account setting `cloudWatchRoleArn` of this account and region, with the role it
 * names. A WebSocket stage with access logging fails to deploy ("CloudWatch Logs role ARN must be
 * set in account settings") until the setting exists. It is one per account and region, shared by
 * every API there, so both resources are retained when the stack is deleted: another API may rely
 * on them. Make a stage depend on {@link account} so it is created after the setting.
 *
 * @example
 * ```ts
 * const logsRole = new ApiGatewayCloudWatchRole(stack, 'ApiGatewayAccount');
 * (stage.node.defaultChild as CfnStage).addDependency(logsRole.account);
 * ```
 */
export class ApiGatewayCloudWatchRole extends Construct {
  /** Assumed by API Gateway to push logs (`AmazonAPIGatewayPushToCloudWatchLogs`). */
  public readonly role: Role;
  /** The account setting (`AWS::ApiGateway::Account`) naming {@link role}. */
  public readonly account: CfnAccount;

  public constructor(scope: Construct, id: string) {
    super(scope, id);
    this.role = new Role(this, 'Role', {
      description: 'API Gateway (account-wide): writes API stage logs to CloudWatch Logs',
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
      managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName(API_GATEWAY_PUSH_TO_LOGS_POLICY)],
    });
    this.role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.account = new CfnAccount(this, 'Account', { cloudWatchRoleArn: this.role.roleArn });
    this.account.applyRemovalPolicy(RemovalPolicy.RETAIN);
  }
}
