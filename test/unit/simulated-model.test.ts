import { describe, expect, it } from 'vitest';
import type { ModelChunk, ModelUsage } from '../../lambdas/tasks/models/model.ts';
import { SimulatedModelFailure, SimulatedModelProvider, simulatedTokens } from '../../lambdas/tasks/models/simulated.ts';

const collect = async (stream: AsyncGenerator<ModelChunk, ModelUsage, void>): Promise<{ chunks: string[]; usage: ModelUsage }> => {
  const chunks: string[] = [];
  for (;;) {
    const next = await stream.next();
    if (next.done) return { chunks, usage: next.value };
    chunks.push(next.value.text);
  }
};

describe('simulatedTokens', () => {
  it('gives the same tokens for the same model, prompt and budget', () => {
    // Prepare
    const args = ['sim-1', 'Explain queues in one paragraph.', 64] as const;
    // Act
    const first = simulatedTokens(...args);
    const second = simulatedTokens(...args);
    // Assess
    expect(second).toEqual(first);
  });

  it('gives different tokens for a different prompt, and for a different model', () => {
    // Prepare
    const base = simulatedTokens('sim-1', 'prompt one', 64).join('');
    // Act
    const otherPrompt = simulatedTokens('sim-1', 'prompt two', 64).join('');
    const otherModel = simulatedTokens('sim-fast', 'prompt one', 64).join('');
    // Assess
    expect(otherPrompt).not.toBe(base);
    expect(otherModel).not.toBe(base);
  });

  it.each([1, 2, 7, 50, 256, 4096])('produces exactly maxTokens (%i) tokens', (maxTokens) => {
    // Prepare / Act
    const tokens = simulatedTokens('sim-1', `budget ${maxTokens}`, maxTokens);
    // Assess
    expect(tokens).toHaveLength(maxTokens);
    expect(tokens.every((token) => token.length > 0)).toBe(true);
  });
});

describe('SimulatedModelProvider', () => {
  const provider = new SimulatedModelProvider();

  it('serves only the declared simulated models', () => {
    // Prepare / Act / Assess
    expect(provider.supports('sim-1')).toBe(true);
    expect(provider.supports('sim-fast')).toBe(true);
    expect(provider.supports('sim-fail')).toBe(true);
    expect(provider.supports('gpt-4o')).toBe(false);
    expect(provider.supports('toString')).toBe(false);
  });

  it('streams chunks whose concatenation is the deterministic text, then usage', async () => {
    // Prepare
    const request = { model: 'sim-fast', prompt: 'Tell me about backpressure', maxTokens: 24, signal: new AbortController().signal };
    // Act
    const { chunks, usage } = await collect(provider.stream(request));
    // Assess
    expect(chunks.join('')).toBe(simulatedTokens('sim-fast', request.prompt, 24).join(''));
    expect(chunks).toHaveLength(24);
    expect(usage.completionTokens).toBe(24);
    expect(usage.promptTokens).toBe(4);
    expect(usage.totalTokens).toBe(usage.promptTokens + usage.completionTokens);
  });

  it('sim-fail streams the first half, then fails for good, at the same token when resumed', async () => {
    // Prepare
    const request = { model: 'sim-fail', prompt: 'Fail on purpose', maxTokens: 20, signal: new AbortController().signal };
    const all = simulatedTokens('sim-fail', request.prompt, 20);
    const chunks: string[] = [];
    // Act
    const failure = await (async () => {
      for await (const chunk of provider.stream(request)) chunks.push(chunk.text);
    })().catch((error: unknown) => error);
    const resumed = await collect(provider.stream({ ...request, resumeAfter: all.slice(0, 4).join('') })).catch((error: unknown) => error);
    // Assess
    expect(failure).toBeInstanceOf(SimulatedModelFailure);
    expect((failure as SimulatedModelFailure).retryable).toBe(false);
    expect(chunks).toEqual(all.slice(0, 10));
    expect(resumed).toBeInstanceOf(SimulatedModelFailure);
  });

  it('stops promptly when the signal aborts mid-stream', async () => {
    // Prepare: sim-1 at ~40 tokens/s would take many seconds for 4096 tokens
    const controller = new AbortController();
    const stream = provider.stream({ model: 'sim-1', prompt: 'long answer', maxTokens: 4096, signal: controller.signal });
    const first = await stream.next();
    // Act
    controller.abort(new Error('cancelled'));
    const next = stream.next();
    // Assess
    expect(first.done).toBe(false);
    await expect(next).rejects.toThrow();
  });

  it('yields nothing when the signal is already aborted', async () => {
    // Prepare
    const controller = new AbortController();
    controller.abort();
    // Act
    const next = provider.stream({ model: 'sim-fast', prompt: 'x', maxTokens: 5, signal: controller.signal }).next();
    // Assess
    await expect(next).rejects.toThrow();
  });
});
