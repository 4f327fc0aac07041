import type { ModelChunk, ModelProvider, ModelRequest, ModelUsage } from './model.ts';
import { countTokens } from './simulated.ts';
import { ModelProviderError } from './provider-error.ts';

/** Re-exported: it used to live here. */
export { ModelProviderError };

/** Options of {@link OpenAiCompatibleProvider}. */
export interface OpenAiCompatibleOptions {
  /** Base URL of the API, e.g. `https://api.openai.com/v1` or a vLLM/Ollama server's `/v1`. */
  readonly baseUrl: string;
  /** Resolves the API key (from Secrets Manager in the stack); undefined = no Authorization header. */
  readonly apiKey?: () => Promise<string | undefined>;
  /** Model names this provider serves are `<prefix><model>`. @default 'openai:' */
  readonly prefix?: string;
}

interface StreamChunk {
  choices?: { delta?: { content?: string | null } }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
}

/**
 * A provider for any server speaking the OpenAI chat completions streaming API (OpenAI, Azure
 * OpenAI, vLLM, Ollama, LM Studio, llama.cpp...). Streams `delta.content` from the server-sent
 * events; a retried attempt continues after the text already streamed by sending it back as the
 * assistant's partial answer.
 *
 * @example
 * ```ts
 * const provider = new OpenAiCompatibleProvider({ baseUrl: 'http://127.0.0.1:8000/v1' });
 * provider.stream({ model: 'openai:llama3', prompt: 'hi', maxTokens: 64, signal });
 * ```
 */
export class OpenAiCompatibleProvider implements ModelProvider {
  private readonly prefix: string;

  public constructor(private readonly options: OpenAiCompatibleOptions) {
    this.prefix = options.prefix ?? 'openai:';
  }

  public supports(model: string): boolean {
    return model.startsWith(this.prefix) && model.length > this.prefix.length;
  }

  public async *stream(request: ModelRequest): AsyncGenerator<ModelChunk, ModelUsage, void> {
    const key = await this.options.apiKey?.();
    const response = await fetch(`${this.options.baseUrl.replace(/\/$/, '')}/chat/completions`, {
      method: 'POST',
      signal: request.signal,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({
        model: request.model.slice(this.prefix.length),
        messages: [
          { role: 'user', content: request.prompt },
          ...(request.resumeAfter ? [{ role: 'assistant', content: request.resumeAfter }] : []),
        ],
        max_tokens: request.maxTokens,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    if (!response.ok || !response.body) throw new ModelProviderError(response.status, await response.text().catch(() => ''));
    let usage: ModelUsage | undefined;
    let produced = 0;
    for await (const data of serverSentData(response.body)) {
      if (data === '[DONE]') break;
      const chunk = JSON.parse(data) as StreamChunk;
      const text = chunk.choices?.[0]?.delta?.content;
      if (text) {
        produced++;
        yield { text };
      }
      if (chunk.usage) {
        const promptTokens = chunk.usage.prompt_tokens ?? countTokens(request.prompt);
        const completionTokens = chunk.usage.completion_tokens ?? produced;
        usage = { promptTokens, completionTokens, totalTokens: chunk.usage.total_tokens ?? promptTokens + completionTokens };
      }
    }
    return usage ?? { promptTokens: countTokens(request.prompt), completionTokens: produced, totalTokens: countTokens(request.prompt) + produced };
  }
}

/** The `data:` payloads of a server-sent event stream. */
async function* serverSentData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    let boundary: number;
    while ((boundary = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const event = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, '');
      const data = event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (data) yield data;
    }
  }
}
