import type { Template, TemplateResource } from '../template.ts';
import { CloudWatchRoleError } from './errors.ts';
import { dependsOn, referencedId, resourcesOfType } from './template-references.ts';

/** API Gateway's answer when a stage enables logging in an account (region) without a CloudWatch role. */
export const CLOUDWATCH_ROLE_MISSING = 'CloudWatch Logs role ARN must be set in account settings to enable logging' as const;

const ACCOUNT = 'AWS::ApiGateway::Account' as const;
const LOGGING_LEVELS = new Set(['ERROR', 'INFO']);

type Settings = { LoggingLevel?: unknown; DataTraceEnabled?: unknown } | undefined;
const logs = (settings: Settings): boolean => LOGGING_LEVELS.has(String(settings?.LoggingLevel ?? 'OFF').toUpperCase()) || String(settings?.DataTraceEnabled) === 'true';
const hasDestination = (settings: unknown): boolean => (settings as { DestinationArn?: unknown } | undefined)?.DestinationArn !== undefined;

/** The property that turns CloudWatch logging on for a stage needing the account's role, or `undefined`. */
const loggingProperty = (template: Template, resource: TemplateResource): string | undefined => {
  const properties = resource.Properties ?? {};
  switch (resource.Type) {
    case 'AWS::ApiGatewayV2::Stage': {
      // HTTP APIs log without the account role; WebSocket APIs need it.
      const apiId = referencedId(properties.ApiId);
      if (!apiId || template.Resources[apiId]?.Properties?.ProtocolType !== 'WEBSOCKET') return undefined;
      if (hasDestination(properties.AccessLogSettings)) return 'AccessLogSettings';
      if (logs(properties.DefaultRouteSettings as Settings)) return 'DefaultRouteSettings';
      const route = Object.entries((properties.RouteSettings ?? {}) as Record<string, Settings>).find(([, settings]) => logs(settings));
      return route ? `RouteSettings.${route[0]}` : undefined;
    }
    case 'AWS::ApiGateway::Stage': {
      if (hasDestination(properties.AccessLogSetting)) return 'AccessLogSetting';
      const index = ((properties.MethodSettings ?? []) as Settings[]).findIndex(logs);
      return index >= 0 ? `MethodSettings.${index}` : undefined;
    }
    case 'AWS::ApiGateway::Deployment': {
      const description = properties.StageDescription as (Settings & { AccessLogSetting?: unknown; MethodSettings?: Settings[] }) | undefined;
      if (hasDestination(description?.AccessLogSetting)) return 'StageDescription.AccessLogSetting';
      if (logs(description)) return 'StageDescription';
      const index = (description?.MethodSettings ?? []).findIndex(logs);
      return index >= 0 ? `StageDescription.MethodSettings.${index}` : undefined;
    }
    default:
      return undefined;
  }
};

/**
 * WebSocket and REST stages that log to CloudWatch (access logs or execution logs) need the API
 * Gateway account's CloudWatch role in the account and region; API Gateway fails the stage with
 * {@link CLOUDWATCH_ROLE_MISSING} otherwise. Locally there is no account: the template must set the
 * role itself (`AWS::ApiGateway::Account` with a `CloudWatchRoleArn`) and the stage must depend on
 * that resource, or CloudFormation may create the stage first and fail the same way
 * (aws-cdk#10722); unless the caller asserts the account already has the role.
 */
export const checkCloudWatchRole = (template: Template, roleConfigured: boolean): CloudWatchRoleError[] => {
  if (roleConfigured) return [];
  const accounts = resourcesOfType(template, ACCOUNT)
    .filter(([, account]) => account.Properties?.CloudWatchRoleArn !== undefined)
    .map(([logicalId]) => logicalId);
  const errors: CloudWatchRoleError[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const property = loggingProperty(template, resource);
    if (!property) continue;
    const detail =
      accounts.length === 0
        ? 'The stage logs to CloudWatch and the template sets no AWS::ApiGateway::Account CloudWatchRoleArn. Add one, or, if this account and region already have the role, ' +
          'say so with --apigateway-cloudwatch-role-configured (runtime option apiGatewayCloudWatchRoleConfigured)'
        : accounts.some((account) => dependsOn(template, logicalId, account))
          ? undefined
          : `The template sets the role with ${accounts.join(', ')} (${ACCOUNT}) but the stage does not depend on it, so CloudFormation may create the stage first (add a DependsOn; see aws-cdk issue 10722)`;
    if (detail) errors.push(new CloudWatchRoleError({ logicalId, resourceType: resource.Type, property, awsMessage: CLOUDWATCH_ROLE_MISSING, detail }));
  }
  return errors;
};
