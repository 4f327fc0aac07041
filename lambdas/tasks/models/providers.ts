import type { ModelProvider } from './model.ts';
import { BedrockProvider } from './bedrock.ts';
import { OpenAiCompatibleProvider } from './openai-compatible.ts';
import { SimulatedModelProvider } from './simulated.ts';

let configured: ModelProvider[] | undefined;
let keyLoader: (() => Promise<string | undefined>) | undefined;

/**
 * Supplies the OpenAI-compatible provider's API key (the worker wires Secrets Manager here). Call
 * before the first {@link modelProviders}.
 */
export const setModelApiKeyLoader = (loader: () => Promise<string | undefined>): void => {
  keyLoader = loader;
};

/**
 * The model providers this environment offers: the simulated models always, and an
 * OpenAI-compatible server when `OPENAI_BASE_URL` is configured (stack prop `openAiCompatible`), and
 * Amazon Bedrock when `BEDROCK_ENABLED` is `true` (stack prop `bedrock`).
 */
export const modelProviders = (): readonly ModelProvider[] =>
  (configured ??= [
    new SimulatedModelProvider(),
    ...(process.env.BEDROCK_ENABLED === 'true' ? [new BedrockProvider()] : []),
    ...(process.env.OPENAI_BASE_URL ? [new OpenAiCompatibleProvider({ baseUrl: process.env.OPENAI_BASE_URL, apiKey: () => keyLoader?.() ?? Promise.resolve(undefined) })] : []),
  ]);
