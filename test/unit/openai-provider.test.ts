import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelProviderError, OpenAiCompatibleProvider } from '../../lambdas/tasks/models/openai-compatible.ts';
import type { TaskDefinition } from '../../lambdas/tasks/definition.ts';

/** A local server speaking the OpenAI chat completions streaming API (server-sent events). */
const startModelServer = async () => {
  const requests: { body: any; auth: string | undefined }[] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    let raw = '';
    request.on('data', (chunk) => (raw += chunk));
    request.on('end', () => {
      const body = JSON.parse(raw);
      requests.push({ body, auth: request.headers.authorization });
      if (body.model === 'overloaded') {
        response.writeHead(429, { 'content-type': 'application/json' }).end('{"error":{"message":"slow down"}}');
        return;
      }
      if (body.model === 'forbidden') {
        response.writeHead(403).end('{"error":{"message":"no"}}');
        return;
      }
      const already = body.messages.find((message: { role: string }) => message.role === 'assistant')?.content ?? '';
      const words = ['Queues', ' absorb', ' bursts', ' so', ' requests', ' stay', ' fast', '.'].filter((_, i) => i < body.max_tokens);
      const rest = words.join('').startsWith(already) ? words.slice(words.findIndex((_, i) => words.slice(0, i).join('') === already)) : words;
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      const timer = setInterval(() => {
        if (i < rest.length) {
          response.write(`data: ${JSON.stringify({ choices: [{ delta: { content: rest[i++] } }] })}\n\n`);
          return;
        }
        clearInterval(timer);
        response.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 4, completion_tokens: words.length, total_tokens: 4 + words.length } })}\n\n`);
        response.end('data: [DONE]\n\n');
      }, 5);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, requests, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
};

describe('OpenAI-compatible model provider', () => {
  let model: Awaited<ReturnType<typeof startModelServer>>;
  let completion: TaskDefinition<any, { text: string }, any>;
  beforeAll(async () => {
    model = await startModelServer();
    process.env.OPENAI_BASE_URL = model.url;
    // As a stack with the provider enabled and this model in its allowedModels would configure it.
    process.env.ALLOWED_MODELS = 'sim-1,openai:tiny';
    ({ completion } = await import('../../lambdas/tasks/completion.ts'));
  });
  afterAll(() => {
    delete process.env.ALLOWED_MODELS;
    return new Promise<void>((resolve) => model.server.close(() => resolve()));
  });

  const drain = async (provider: OpenAiCompatibleProvider, request: Parameters<OpenAiCompatibleProvider['stream']>[0]) => {
    const chunks: string[] = [];
    const stream = provider.stream(request);
    for (;;) {
      const next = await stream.next();
      if (next.done) return { chunks, usage: next.value };
      chunks.push(next.value.text);
    }
  };

  it('streams the deltas and reports the server usage, with the key as a bearer token', async () => {
    // Prepare
    const provider = new OpenAiCompatibleProvider({ baseUrl: model.url, apiKey: async () => 'sk-test' });
    // Act
    const { chunks, usage } = await drain(provider, { model: 'openai:tiny', prompt: 'why queues', maxTokens: 8, signal: new AbortController().signal });
    // Assess
    expect(chunks.join('')).toBe('Queues absorb bursts so requests stay fast.');
    expect(usage).toEqual({ promptTokens: 4, completionTokens: 8, totalTokens: 12 });
    expect(model.requests.at(-1)).toMatchObject({ auth: 'Bearer sk-test', body: { model: 'tiny', stream: true, max_tokens: 8 } });
  });

  it('continues after already streamed text on a retry', async () => {
    const provider = new OpenAiCompatibleProvider({ baseUrl: model.url });
    const { chunks } = await drain(provider, { model: 'openai:tiny', prompt: 'why', maxTokens: 8, resumeAfter: 'Queues absorb', signal: new AbortController().signal });
    expect(chunks.join('')).toBe(' bursts so requests stay fast.');
    expect(model.requests.at(-1)?.body.messages.at(-1)).toEqual({ role: 'assistant', content: 'Queues absorb' });
  });

  it('maps 429 to a retryable error and 403 to a final one', async () => {
    const provider = new OpenAiCompatibleProvider({ baseUrl: model.url });
    const signal = new AbortController().signal;
    const overloaded = await drain(provider, { model: 'openai:overloaded', prompt: 'x', maxTokens: 1, signal }).catch((error: unknown) => error);
    const forbidden = await drain(provider, { model: 'openai:forbidden', prompt: 'x', maxTokens: 1, signal }).catch((error: unknown) => error);
    expect(overloaded).toBeInstanceOf(ModelProviderError);
    expect((overloaded as ModelProviderError).retryable).toBe(true);
    expect((forbidden as ModelProviderError).retryable).toBe(false);
  });

  it('serves `completion` tasks naming an openai: model, whose streamed text equals the result', async () => {
    // Prepare
    const progress: string[] = [];
    const input = completion.input.parse({ prompt: 'why queues', model: 'openai:tiny', maxTokens: 8 });
    // Act
    const result = await completion.run(input, {
      taskId: 't',
      tenantId: 'ten',
      attempt: 1,
      signal: new AbortController().signal,
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      previous: [],
      progress: async (data) => void progress.push(data.text),
    });
    // Assess
    expect(progress.join('')).toBe(result.text);
    expect(result).toMatchObject({ model: 'openai:tiny', text: 'Queues absorb bursts so requests stay fast.' });
    expect(completion.input.safeParse({ prompt: 'x', model: 'anthropic:claude' }).success).toBe(false);
  });
});
