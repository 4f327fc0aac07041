import * as z from 'zod/mini';
import { defineTask } from './definition.ts';
import type { ModelProvider, ModelUsage } from './models/model.ts';
import { isModelAllowed, ModelNotAllowedError } from './models/allowlist.ts';
import { modelProviders } from './models/providers.ts';
import { DEFAULT_SIMULATED_MODEL } from './models/simulated.ts';

/** The model used when a request names none and the stack configures no other (`defaultModel`). */
export const DEFAULT_MODEL = DEFAULT_SIMULATED_MODEL;

/** The model a request that names none runs on: the stack's `defaultModel` (env `DEFAULT_MODEL`), else {@link DEFAULT_MODEL}. */
export const defaultModel = (): string => process.env.DEFAULT_MODEL || DEFAULT_MODEL;

const providerFor = (model: string): ModelProvider | undefined => modelProviders().find((provider) => provider.supports(model));

/** Input of a `completion` task. */
export const CompletionInput = z.strictObject({
  prompt: z.string().check(z.minLength(1), z.maxLength(32_000), z.describe('The prompt. Masked (keyed-hashed) in analytics.')),
  maxTokens: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(4_096), z.describe('Upper bound on generated tokens. Default 256.'))),
  model: z.optional(
    z.string().check(
      z.minLength(1),
      z.maxLength(100),
      z.refine((model) => providerFor(model) !== undefined, { error: 'unknown model' }),
      z.refine((model) => providerFor(model) === undefined || isModelAllowed(model, defaultModel()), { error: 'model not allowed on this stack' }),
      z.describe(
        `Model to run. Default: the stack's configured default model, "${DEFAULT_MODEL}" (simulated, ~40 tokens/s) unless configured; "sim-fast" (simulated, 10x faster); "sim-fail" (simulated, fails halfway, for failure paths); ` +
          '"openai:<model>" and "bedrock:<model id>" when the stack enables those providers. ' +
          'Only models in the stack\'s allowedModels (default: the default model and the simulated models) are accepted; any other value answers 400.',
      ),
    ),
  ),
});
export type CompletionInput = z.infer<typeof CompletionInput>;

/** One progress entry of a `completion` task: the text generated since the previous entry. */
export interface CompletionProgress {
  readonly text: string;
}

/** Result of a `completion` task. */
export interface CompletionResult {
  readonly text: string;
  readonly model: string;
  readonly usage: ModelUsage;
}

/**
 * `completion`: streams a model's text as progress entries `{ text }` and returns the whole text.
 * The concatenation of all progress texts equals `result.text`.
 */
export const completion = defineTask<CompletionInput, CompletionProgress, CompletionResult>({
  type: 'completion',
  class: 'interactive',
  input: CompletionInput,
  timeoutSeconds: 120,
  retry: { maxAttempts: 3 },
  ordering: 'session',
  sensitiveFields: ['input.prompt', 'result.text'],
  mergeProgress: (pending, next) => ({ text: pending.text + next.text }),
  run: async (input, ctx) => {
    const model = input.model ?? defaultModel();
    // Defence in depth: a task admitted before the allowlist changed (or written around the API) still may not run.
    if (!isModelAllowed(model, defaultModel())) throw new ModelNotAllowedError(model);
    const provider = providerFor(model);
    if (!provider) throw new UnknownModelError(model);
    // A retried attempt continues after the text earlier attempts already streamed.
    let text = ctx.previous.map((entry) => entry.text).join('');
    const stream = provider.stream({
      model,
      prompt: input.prompt,
      maxTokens: input.maxTokens ?? 256,
      signal: ctx.signal,
      ...(text ? { resumeAfter: text } : {}),
    });
    for (;;) {
      const next = await stream.next();
      if (next.done) return { text, model, usage: next.value };
      text += next.value.text;
      await ctx.progress({ text: next.value.text });
    }
  },
});

/** The requested model is served by no configured provider. Not retried. */
export class UnknownModelError extends Error {
  public readonly retryable = false;
  public constructor(model: string) {
    super(`No provider serves model "${model}".`);
    this.name = 'UnknownModelError';
  }
}
