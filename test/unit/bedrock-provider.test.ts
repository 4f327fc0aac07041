import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConverseStreamServer, type ConverseStreamAnswer, type ConverseStreamBody } from '../../local/bedrock/converse-stream-server.ts';
import { BedrockProvider } from '../../lambdas/tasks/models/bedrock.ts';
import { ModelProviderError } from '../../lambdas/tasks/models/openai-compatible.ts';
import { ProviderFailure } from '../../lambdas/tasks/models/provider-error.ts';
import { toTaskError } from '../../lambdas/core/execute.ts';

/** What Bedrock answers a role without model access: it names the account, the role and the session. */
const ROLE_LEAK =
  'User: arn:aws:sts::123456789012:assumed-role/Offload-InteractiveWorkerRole-1A2B3C/Offload-Worker is not authorized to perform: bedrock:InvokeModelWithResponseStream on resource: arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0 because no identity-based policy allows the bedrock:InvokeModelWithResponseStream action';

/** A local stand-in for Bedrock's ConverseStream (`POST /model/{id}/converse-stream`, AWS event stream, over HTTP/2). */
const startBedrock = async () => {
  const requests: { path: string; body: ConverseStreamBody }[] = [];
  const server = new ConverseStreamServer(({ path, body }): ConverseStreamAnswer => {
    requests.push({ path, body });
    if (path.includes('throttled')) return { kind: 'error', status: 429, errorType: 'ThrottlingException', message: 'Too many requests' };
    if (path.includes('role-leak')) return { kind: 'error', status: 403, errorType: 'AccessDeniedException', message: ROLE_LEAK };
    if (path.includes('denied')) return { kind: 'error', status: 403, errorType: 'AccessDeniedException', message: 'no access' };
    return {
      kind: 'stream',
      events: [
        ['messageStart', { role: 'assistant' }],
        ...['Bedrock', ' streams', ' too.'].map((text) => ['contentBlockDelta', { contentBlockIndex: 0, delta: { text } }] as const),
        ['contentBlockStop', { contentBlockIndex: 0 }],
        ['messageStop', { stopReason: 'end_turn' }],
        ['metadata', { usage: { inputTokens: 3, outputTokens: 3, totalTokens: 6 }, metrics: { latencyMs: 5 } }],
      ],
    };
  });
  return { server, requests, endpoint: await server.start() };
};

describe('Amazon Bedrock provider (Converse streaming)', () => {
  let bedrock: Awaited<ReturnType<typeof startBedrock>>;
  beforeAll(async () => {
    bedrock = await startBedrock();
    Object.assign(process.env, { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' });
  });
  afterAll(() => bedrock.server.stop());

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
    expect(bedrock.requests.at(-1)?.body.messages?.at(-1)).toEqual({ role: 'assistant', content: [{ text: 'Bedrock' }] });
  });

  it('maps throttling to a retryable error and access denied to a final one', async () => {
    const signal = new AbortController().signal;
    const throttled = await drain({ model: 'bedrock:throttled', prompt: 'x', maxTokens: 1, signal }).catch((error: unknown) => error);
    const denied = await drain({ model: 'bedrock:denied', prompt: 'x', maxTokens: 1, signal }).catch((error: unknown) => error);
    expect(throttled).toBeInstanceOf(ModelProviderError);
    expect((throttled as ModelProviderError).retryable).toBe(true);
    expect((denied as ModelProviderError).retryable).toBe(false);
  });

  it('never puts the account id, role or provider text of an AccessDeniedException in the task error', async () => {
    // Act
    const denied = (await drain({ model: 'bedrock:role-leak', prompt: 'x', maxTokens: 1, signal: new AbortController().signal }).catch((error: unknown) => error)) as ModelProviderError;
    const taskError = toTaskError(denied);
    // Assess
    expect(denied).toBeInstanceOf(ModelProviderError);
    expect(taskError.message).toBe(ProviderFailure.accessDenied);
    for (const secret of ['123456789012', 'InteractiveWorkerRole', 'arn:aws', 'sts', 'bedrock:Invoke', 'AccessDeniedException']) expect(JSON.stringify(taskError)).not.toContain(secret);
    expect(denied.internalDetail).toContain('123456789012');
    expect(denied.internalDetail).toContain('AccessDeniedException');
  });
});
