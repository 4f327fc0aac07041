import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { acknowledgeNagFindings } from './nag.ts';
import { StackConfigurationError } from './errors.ts';
import { OffloadStack } from './offload-stack.ts';
import { DEFAULT_STACK_NAME, STACK_NAME_CONTEXT, validateStackName } from './stack-name.ts';

/** Name of the stack `cdk deploy` and the local runtime use when context `stackName` is not set. */
export const STACK_NAME = DEFAULT_STACK_NAME;

/**
 * Adds the Offload stack to an app (shared by `bin/app.ts`, the local runtime and the tests), with
 * the cdk-nag AwsSolutions and Serverless packs: an unacknowledged finding fails synthesis.
 *
 * Context (`cdk deploy -c key=value`): `stackName` (default `Offload`; also the construct id, so
 * `cdk ls` and the template file carry it), `bedrock`, `openAiBaseUrl`, `openAiApiKeySecretArn`,
 * `openAiApiKeyKmsKeyArn`, `defaultModel`, `allowedModels` (comma-separated), `tenantRateLimit`, `tenantBurstLimit`, `apiGatewayCloudWatchRole` (`false`: the account's API
 * Gateway CloudWatch role is managed elsewhere), `alarmEmail` (see {@link OffloadStack}).
 */
export const buildApp = (app: App): OffloadStack => {
  const stackName = validateStackName(app.node.tryGetContext(STACK_NAME_CONTEXT) ?? DEFAULT_STACK_NAME);
  const openAiBaseUrl = app.node.tryGetContext('openAiBaseUrl') as string | undefined;
  const openAiKeyArn = app.node.tryGetContext('openAiApiKeySecretArn') as string | undefined;
  const openAiKeyKmsKeyArn = app.node.tryGetContext('openAiApiKeyKmsKeyArn') as string | undefined;
  const defaultModel = app.node.tryGetContext('defaultModel') as string | undefined;
  const allowedModels = app.node.tryGetContext('allowedModels') as unknown;
  if (allowedModels !== undefined && typeof allowedModels !== 'string') throw new StackConfigurationError('allowedModels must be a comma-separated list of models');
  const alarmEmail = app.node.tryGetContext('alarmEmail') as unknown;
  const corsOrigins = app.node.tryGetContext('corsOrigins') as unknown;
  if (corsOrigins !== undefined && typeof corsOrigins !== 'string') throw new StackConfigurationError('corsOrigins must be a comma-separated list of origins');
  const rateContext = (name: string): number | undefined => {
    const value = app.node.tryGetContext(name) as unknown;
    if (value === undefined) return undefined;
    const number = Number(value);
    if (!Number.isFinite(number) || number <= 0) throw new StackConfigurationError(`${name} must be a positive number`);
    return number;
  };
  const tenantRateLimit = rateContext('tenantRateLimit');
  const tenantBurstLimit = rateContext('tenantBurstLimit');
  if (alarmEmail !== undefined && typeof alarmEmail !== 'string') throw new StackConfigurationError('alarmEmail must be an e-mail address');
  const apiGatewayCloudWatchRole = app.node.tryGetContext('apiGatewayCloudWatchRole') as unknown;
  if (![undefined, true, false, 'true', 'false'].includes(apiGatewayCloudWatchRole as never)) throw new StackConfigurationError('apiGatewayCloudWatchRole must be true or false');
  if ((openAiKeyArn || openAiKeyKmsKeyArn) && !openAiBaseUrl) throw new StackConfigurationError('openAiApiKeySecretArn and openAiApiKeyKmsKeyArn need openAiBaseUrl (the server the key is for)');
  const stack = new OffloadStack(app, stackName, {
    description: 'Offload: acknowledge fast, work in the background, stream progress',
    ...(app.node.tryGetContext('bedrock') === 'true' || app.node.tryGetContext('bedrock') === true ? { bedrock: true } : {}),
    ...(openAiBaseUrl
      ? {
          openAiCompatible: {
            baseUrl: openAiBaseUrl,
            ...(openAiKeyArn ? { apiKeySecretArn: openAiKeyArn } : {}),
            ...(openAiKeyKmsKeyArn ? { apiKeyKmsKeyArn: openAiKeyKmsKeyArn } : {}),
          },
        }
      : {}),
    ...(defaultModel ? { defaultModel } : {}),
    ...(allowedModels ? { allowedModels: allowedModels.split(',').map((model) => model.trim()).filter((model) => model !== '') } : {}),
    ...(apiGatewayCloudWatchRole === false || apiGatewayCloudWatchRole === 'false' ? { apiGatewayCloudWatchRole: false } : {}),
    ...(alarmEmail !== undefined ? { alarmEmail } : {}),
    ...(tenantRateLimit !== undefined ? { tenantRateLimit } : {}),
    ...(tenantBurstLimit !== undefined ? { tenantBurstLimit } : {}),
    ...(corsOrigins ? { corsOrigins: corsOrigins.split(',').map((origin) => origin.trim()).filter((origin) => origin !== '') } : {}),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  Validations.of(app).addPlugins(new ServerlessChecks(app));
  acknowledgeNagFindings(stack);
  return stack;
};
