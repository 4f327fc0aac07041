import type { BedrockRuntimeClient, ConverseStreamCommand, Message } from '@aws-sdk/client-bedrock-runtime';
import type { ModelChunk, ModelProvider, ModelRequest, ModelUsage } from './model.ts';
import { ModelProviderError } from './provider-error.ts';
import { countTokens } from './simulated.ts';

interface BedrockSdk {
  readonly client: BedrockRuntimeClient;
  readonly ConverseStreamCommand: typeof ConverseStreamCommand;
}

let sdk: Promise<BedrockSdk> | undefined;

/**
 * The Bedrock runtime SDK, loaded on first use and cached: every bundle that imports the task
 * registry (the submit and ack Lambdas too) would otherwise pay its module initialisation at cold
 * start, Bedrock enabled or not. The SDK is external to the bundles (provided by the Lambda
 * runtime), so the dynamic import stays a runtime import. A failed load is not cached.
 */
const loadBedrock = (): Promise<BedrockSdk> =>
  (sdk ??= import('@aws-sdk/client-bedrock-runtime').then(
    (module) => ({ client: new module.BedrockRuntimeClient({ maxAttempts: 3 }), ConverseStreamCommand: module.ConverseStreamCommand }),
    (error: unknown) => {
      sdk = undefined;
      throw error;
    },
  ));

const RETRYABLE = new Set(['ThrottlingException', 'ServiceUnavailableException', 'InternalServerException', 'ModelNotReadyException', 'ModelStreamErrorException']);

/**
 * Amazon Bedrock through the Converse streaming API: models named `bedrock:<model id or inference
 * profile>`, e.g. `bedrock:anthropic.claude-3-5-haiku-20241022-v1:0`. A retried attempt continues
 * after the streamed text by sending it back as the assistant's partial turn.
 */
export class BedrockProvider implements ModelProvider {
  public constructor(private readonly prefix = 'bedrock:') {}

  public supports(model: string): boolean {
    return model.startsWith(this.prefix) && model.length > this.prefix.length;
  }

  public async *stream(request: ModelRequest): AsyncGenerator<ModelChunk, ModelUsage, void> {
    const messages: Message[] = [
      { role: 'user', content: [{ text: request.prompt }] },
      ...(request.resumeAfter ? [{ role: 'assistant' as const, content: [{ text: request.resumeAfter }] }] : []),
    ];
    let response;
    try {
      const { client, ConverseStreamCommand } = await loadBedrock();
      response = await client.send(
        new ConverseStreamCommand({ modelId: request.model.slice(this.prefix.length), messages, inferenceConfig: { maxTokens: request.maxTokens } }),
        { abortSignal: request.signal },
      );
    } catch (error) {
      throw toProviderError(error);
    }
    let usage: ModelUsage | undefined;
    let produced = 0;
    try {
      for await (const event of response.stream ?? []) {
        const text = event.contentBlockDelta?.delta?.text;
        if (text) {
          produced++;
          yield { text };
        }
        const reported = event.metadata?.usage;
        if (reported) {
          const promptTokens = reported.inputTokens ?? countTokens(request.prompt);
          const completionTokens = reported.outputTokens ?? produced;
          usage = { promptTokens, completionTokens, totalTokens: reported.totalTokens ?? promptTokens + completionTokens };
        }
      }
    } catch (error) {
      throw toProviderError(error);
    }
    return usage ?? { promptTokens: countTokens(request.prompt), completionTokens: produced, totalTokens: countTokens(request.prompt) + produced };
  }
}

const toProviderError = (error: unknown): Error => {
  if (error instanceof Error && error.name === 'AbortError') return error;
  const name = (error as { name?: string }).name ?? 'Error';
  const status = RETRYABLE.has(name) ? 503 : ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 400);
  return new ModelProviderError(status, String((error as Error).message ?? ''), { exceptionName: name });
};
