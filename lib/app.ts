import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { acknowledgeNagFindings } from './nag.ts';
import { OffloadStack } from './offload-stack.ts';

/** Name of the stack `cdk deploy` and the local runtime use. */
export const STACK_NAME = 'Offload' as const;

/**
 * Adds the Offload stack to an app (shared by `bin/app.ts`, the local runtime and the tests), with
 * the cdk-nag AwsSolutions and Serverless packs: an unacknowledged finding fails synthesis.
 */
export const buildApp = (app: App): OffloadStack => {
  const openAiBaseUrl = app.node.tryGetContext('openAiBaseUrl') as string | undefined;
  const openAiKeyArn = app.node.tryGetContext('openAiApiKeySecretArn') as string | undefined;
  const defaultModel = app.node.tryGetContext('defaultModel') as string | undefined;
  const stack = new OffloadStack(app, STACK_NAME, {
    description: 'Offload: acknowledge fast, work in the background, stream progress',
    ...(app.node.tryGetContext('bedrock') === 'true' || app.node.tryGetContext('bedrock') === true ? { bedrock: true } : {}),
    ...(openAiBaseUrl ? { openAiCompatible: { baseUrl: openAiBaseUrl, ...(openAiKeyArn ? { apiKeySecretArn: openAiKeyArn } : {}) } } : {}),
    ...(defaultModel ? { defaultModel } : {}),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  Validations.of(app).addPlugins(new ServerlessChecks(app));
  acknowledgeNagFindings(stack);
  return stack;
};
