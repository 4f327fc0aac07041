import { afterEach, describe, expect, it } from 'vitest';
import { completion, DEFAULT_MODEL } from '../../lambdas/tasks/completion.ts';
import { silentLogger } from '../support/recording-publisher.ts';

const run = (input: { prompt: string; maxTokens: number; model?: string }) =>
  completion.run(input, { taskId: 'tsk_test', tenantId: 'ten_test', attempt: 1, signal: new AbortController().signal, logger: silentLogger, previous: [], progress: async () => undefined });

describe('completion: the default model', () => {
  afterEach(() => {
    delete process.env.DEFAULT_MODEL;
  });

  it('runs on the simulated default when the stack configures none', async () => {
    // Act
    const result = await run({ prompt: 'hello', maxTokens: 3 });
    // Assess
    expect(result.model).toBe(DEFAULT_MODEL);
  });

  it('runs on the stack\u2019s configured default (DEFAULT_MODEL) when the request names none', async () => {
    // Prepare
    process.env.DEFAULT_MODEL = 'sim-fast';
    // Act
    const unnamed = await run({ prompt: 'hello', maxTokens: 3 });
    const named = await run({ prompt: 'hello', maxTokens: 3, model: 'sim-1' });
    // Assess
    expect(unnamed.model).toBe('sim-fast');
    expect(named.model).toBe('sim-1');
  });
});
