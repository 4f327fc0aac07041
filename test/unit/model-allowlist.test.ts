import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../lambdas/core/errors.ts';
import { validateSubmit } from '../../lambdas/core/submit.ts';
import { completion } from '../../lambdas/tasks/completion.ts';
import { allowedModels, ModelNotAllowedError } from '../../lambdas/tasks/models/allowlist.ts';
import { silentLogger } from '../support/recording-publisher.ts';

const submit = (model: string): unknown => {
  try {
    return validateSubmit({ type: 'completion', input: { prompt: 'hi', model } });
  } catch (error) {
    return error;
  }
};
const run = (model: string) =>
  completion.run({ prompt: 'hello', maxTokens: 3, model }, { taskId: 'tsk_test', tenantId: 'ten_test', attempt: 1, signal: new AbortController().signal, logger: silentLogger, previous: [], progress: async () => undefined });

describe('model allowlist (ALLOWED_MODELS)', () => {
  beforeAll(() => {
    // An OpenAI-compatible provider is enabled (never contacted here): it could serve any openai:<model>.
    vi.stubEnv('OPENAI_BASE_URL', 'http://127.0.0.1:9/v1');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.stubEnv('OPENAI_BASE_URL', 'http://127.0.0.1:9/v1');
  });

  it('defaults to the default model and the simulated models', () => {
    // Act / Assess
    expect([...allowedModels('sim-1')].sort()).toEqual(['sim-1', 'sim-fail', 'sim-fast']);
    expect(allowedModels('openai:gpt-4o-mini').has('openai:gpt-4o-mini')).toBe(true);
  });

  it('refuses at submit, with 400, a model a provider serves but the stack does not allow', () => {
    // Prepare
    vi.stubEnv('ALLOWED_MODELS', 'sim-1, openai:gpt-4o-mini');
    // Act
    const refused = submit('openai:gpt-4o');
    const refusedSimulated = submit('sim-fast');
    const accepted = submit('openai:gpt-4o-mini');
    // Assess
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).status).toBe(400);
    expect((refused as ValidationError).message).toMatch(/model not allowed/);
    expect(refusedSimulated).toBeInstanceOf(ValidationError);
    expect(accepted).not.toBeInstanceOf(Error);
  });

  it('refuses without the list too: any openai:<model> is not open to every tenant by default', () => {
    // Act
    const refused = submit('openai:gpt-4o');
    // Assess
    expect(refused).toBeInstanceOf(ValidationError);
    expect(submit('sim-fast')).not.toBeInstanceOf(Error);
  });

  it('refuses at execution too (defence in depth), without retrying', async () => {
    // Prepare: the task was admitted under another list.
    vi.stubEnv('ALLOWED_MODELS', 'sim-1');
    // Act
    const failed = await run('sim-fast').catch((error: unknown) => error);
    const ran = await run('sim-1');
    // Assess
    expect(failed).toBeInstanceOf(ModelNotAllowedError);
    expect((failed as ModelNotAllowedError).retryable).toBe(false);
    expect(ran.model).toBe('sim-1');
  });
});
