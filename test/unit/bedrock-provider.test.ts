import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { createServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BedrockProvider } from '../../lambdas/tasks/models/bedrock.ts';
import { ModelProviderError } from '../../lambdas/tasks/models/openai-compatible.ts';

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const frame = (eventType: string, body: unknown): Uint8Array =>
  codec.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':message-type': { type: 'string', value: 'event' },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: fromUtf8(JSON.stringify(body)),
  });

/** A local stand-in for Bedrock's ConverseStream (`POST /model/{id}/converse-stream`, AWS event stream). */
const startBedrock = async () => {
  const requests: { path: string; body: any }[] = [];
  // The Bedrock runtime client streams over HTTP/2 (cleartext here, TLS on AWS).
  const server: Http2Server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk) => (raw += chunk));
    request.on('end', () => {
      const body = JSON.parse(raw);
      requests.push({ path: decodeURIComponent(request.url ?? ''), body });
      if ((request.url ?? '').includes('throttled')) {
        response.writeHead(429, { 'content-type': 'application/json', 'x-amzn-errortype': 'ThrottlingException' }).end('{"message":"Too many requests"}');
        return;
      }
      if ((request.url ?? '').includes('denied')) {
        response.writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException' }).end('{"message":"no access"}');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
      response.write(frame('messageStart', { role: 'assistant' }));
      for (const text of ['Bedrock', ' streams', ' too.']) response.write(frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text } }));
      response.write(frame('contentBlockStop', { contentBlockIndex: 0 }));
      response.write(frame('messageStop', { stopReason: 'end_turn' }));
      response.end(frame('metadata', { usage: { inputTokens: 3, outputTokens: 3, totalTokens: 6 }, metrics: { latencyMs: 5 } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, requests, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
};

describe('Amazon Bedrock provider (Converse streaming)', () => {
  let bedrock: Awaited<ReturnType<typeof startBedrock>>;
  beforeAll(async () => {
    bedrock = await startBedrock();
    Object.assign(process.env, { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' });
  });
  afterAll(() => new Promise<void>((resolve) => bedrock.server.close(() => resolve())));

  const drain = async (request: Parameters<BedrockProvider['stream']>[0]) => {
    const stream = new BedrockProvider().stream(request);
    const chunks: string[] = [];
    for (;;) {
      const next = await stream.next();
      if (next.done) return { chunks, usage: next.value };
      chunks.push(next.value.text);
    }
  };

  it('streams content deltas and reports usage', async () => {
    // Act
    const { chunks, usage } = await drain({ model: 'bedrock:anthropic.claude-3-5-haiku-20241022-v1:0', prompt: 'hello', maxTokens: 50, signal: new AbortController().signal });
    // Assess
    expect(chunks.join('')).toBe('Bedrock streams too.');
    expect(usage).toEqual({ promptTokens: 3, completionTokens: 3, totalTokens: 6 });
    expect(bedrock.requests.at(-1)).toMatchObject({
      path: '/model/anthropic.claude-3-5-haiku-20241022-v1:0/converse-stream',
      body: { messages: [{ role: 'user', content: [{ text: 'hello' }] }], inferenceConfig: { maxTokens: 50 } },
    });
  });

  it('sends the already streamed text as the assistant\u2019s partial turn on a retry', async () => {
    await drain({ model: 'bedrock:m', prompt: 'hello', maxTokens: 50, resumeAfter: 'Bedrock', signal: new AbortController().signal });
    expect(bedrock.requests.at(-1)?.body.messages.at(-1)).toEqual({ role: 'assistant', content: [{ text: 'Bedrock' }] });
  });

  it('maps throttling to a retryable error and access denied to a final one', async () => {
    const signal = new AbortController().signal;
    const throttled = await drain({ model: 'bedrock:throttled', prompt: 'x', maxTokens: 1, signal }).catch((error: unknown) => error);
    const denied = await drain({ model: 'bedrock:denied', prompt: 'x', maxTokens: 1, signal }).catch((error: unknown) => error);
    expect(throttled).toBeInstanceOf(ModelProviderError);
    expect((throttled as ModelProviderError).retryable).toBe(true);
    expect((denied as ModelProviderError).retryable).toBe(false);
  });
});
