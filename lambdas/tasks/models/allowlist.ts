import { SIMULATED_MODELS } from './simulated.ts';

/** Environment variable carrying the stack's `allowedModels`, comma-separated. */
export const ALLOWED_MODELS_ENV = 'ALLOWED_MODELS' as const;

/**
 * The models tenants may run: the stack's `allowedModels` (env `ALLOWED_MODELS`, comma-separated),
 * else the given default model plus the simulated models. A model outside this list is refused at
 * submit (`400`) and again at execution, even when a configured provider (OpenAI-compatible,
 * Bedrock) could serve it: enabling a provider never lets a tenant pick any of its models.
 *
 * @param defaultModel the model a request naming none runs on
 */
export const allowedModels = (defaultModel: string): ReadonlySet<string> => {
  const configured = (process.env[ALLOWED_MODELS_ENV] ?? '')
    .split(',')
    .map((model) => model.trim())
    .filter((model) => model !== '');
  return new Set(configured.length ? configured : [defaultModel, ...Object.keys(SIMULATED_MODELS)]);
};

/** Whether `model` is in {@link allowedModels}. */
export const isModelAllowed = (model: string, defaultModel: string): boolean => allowedModels(defaultModel).has(model);

/** The requested model is not in the stack's `allowedModels`. Not retried. */
export class ModelNotAllowedError extends Error {
  public readonly retryable = false;
  public constructor(model: string) {
    super(`Model "${model}" is not allowed on this stack (allowedModels).`);
    this.name = 'ModelNotAllowedError';
  }
}
