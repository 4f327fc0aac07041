import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ModelChunk, ModelProvider, ModelRequest, ModelUsage } from './model.ts';

/** Timing profile of a simulated model. */
export interface SimulatedTiming {
  /** Time before the first token, in ms. */
  readonly firstTokenMs: number;
  /** Median gap between tokens, in ms. */
  readonly medianTokenMs: number;
  /** Chance that a gap is a longer "thinking" pause (5–10× the median). */
  readonly pauseChance: number;
  /**
   * Share of the output after which the model fails for good (a {@link SimulatedModelFailure},
   * not retryable), to exercise failure paths locally. @default never
   */
  readonly failAfterShare?: number;
}

/**
 * Declared simulated models. `sim-1` is the default: roughly the cadence of a hosted chat model
 * (~40 tokens/s with jitter and occasional pauses). `sim-fast` keeps the same shape 10× faster,
 * for tests and benchmarks that need many tasks. `sim-fail` streams like `sim-fast`, then fails
 * halfway for good: a task that ends `failed` (and in its class's DLQ), on demand.
 */
export const SIMULATED_MODELS = {
  'sim-1': { firstTokenMs: 120, medianTokenMs: 25, pauseChance: 0.03 },
  'sim-fast': { firstTokenMs: 10, medianTokenMs: 2, pauseChance: 0.03 },
  'sim-fail': { firstTokenMs: 10, medianTokenMs: 2, pauseChance: 0.03, failAfterShare: 0.5 },
} as const satisfies Record<string, SimulatedTiming>;

/** The simulated model a `completion` runs on when neither the request nor the stack names one. */
export const DEFAULT_SIMULATED_MODEL = 'sim-1' as const satisfies keyof typeof SIMULATED_MODELS;

/** A simulated model failed on purpose (`sim-fail`). Not retryable. */
export class SimulatedModelFailure extends Error {
  public readonly retryable = false;
  public constructor(model: string) {
    super(`The simulated model ${model} fails halfway by design.`);
    this.name = 'SimulatedModelFailure';
  }
}

const WORDS = [
  'the', 'queue', 'scales', 'with', 'demand', 'while', 'every', 'request', 'returns', 'fast', 'work',
  'moves', 'to', 'background', 'workers', 'that', 'stream', 'progress', 'back', 'as', 'it', 'happens',
  'a', 'task', 'is', 'durable', 'once', 'acknowledged', 'and', 'each', 'event', 'carries', 'one',
  'fact', 'so', 'retries', 'stay', 'safe', 'clients', 'reconnect', 'resume', 'from', 'their', 'last',
  'sequence', 'without', 'gaps', 'or', 'duplicates', 'latency', 'stays', 'low', 'under', 'load',
  'because', 'nothing', 'slow', 'runs', 'on', 'the', 'request', 'path', 'system', 'model', 'answer',
] as const;

/** A small deterministic PRNG (mulberry32) seeded from the prompt. */
const prng = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** Rough token count of a prompt: words and punctuation. */
export const countTokens = (text: string): number => (text.match(/\w+|[^\s\w]/g) ?? []).length;

/**
 * The deterministic text a simulated model produces for a prompt: the same model, prompt and
 * token budget always give the same tokens.
 */
export const simulatedTokens = (model: string, prompt: string, maxTokens: number): string[] => {
  const digest = createHash('sha256').update(model).update('\0').update(prompt).digest();
  const random = prng(digest.readUInt32BE(0));
  const tokens: string[] = [];
  let sentence = 0;
  for (let i = 0; i < maxTokens; i++) {
    const word = WORDS[Math.floor(random() * WORDS.length)] ?? 'work';
    const first = sentence === 0;
    tokens.push((i === 0 ? '' : ' ') + (first ? word[0]?.toUpperCase() + word.slice(1) : word));
    sentence++;
    if (sentence > 6 && random() < 0.18 && i < maxTokens - 1) {
      tokens.push('.');
      sentence = 0;
      i++;
    }
  }
  if (tokens.length > maxTokens) tokens.length = maxTokens;
  return tokens;
};

/** How many leading tokens `resumeAfter` covers; it must be a token-aligned prefix of the output. */
const resumedTokenCount = (tokens: readonly string[], resumeAfter: string): number => {
  let text = '';
  let count = 0;
  while (text.length < resumeAfter.length && count < tokens.length) text += tokens[count++];
  if (text !== resumeAfter) throw new ResumeMismatchError();
  return count;
};

/** The text to resume after is not what this model produces for the prompt. Not retryable. */
export class ResumeMismatchError extends Error {
  public readonly retryable = false;
  public constructor() {
    super('Cannot resume: the earlier output is not a prefix of this model\'s output.');
    this.name = 'ResumeMismatchError';
  }
}

/**
 * A model provider that needs no network: deterministic text derived from the prompt, emitted with
 * realistic variable per-token timing (log-normal gaps plus occasional pauses).
 *
 * @example
 * ```ts
 * const provider = new SimulatedModelProvider();
 * for await (const chunk of provider.stream({ model: 'sim-1', prompt: 'hi', maxTokens: 5, signal })) {
 *   process.stdout.write(chunk.text);
 * }
 * ```
 */
export class SimulatedModelProvider implements ModelProvider {
  public supports(model: string): boolean {
    return Object.hasOwn(SIMULATED_MODELS, model);
  }

  public async *stream(request: ModelRequest): AsyncGenerator<ModelChunk, ModelUsage, void> {
    const timing: SimulatedTiming = SIMULATED_MODELS[request.model as keyof typeof SIMULATED_MODELS] ?? SIMULATED_MODELS['sim-1'];
    const all = simulatedTokens(request.model, request.prompt, request.maxTokens);
    const resumed = resumedTokenCount(all, request.resumeAfter ?? '');
    const tokens = all.slice(resumed);
    const failAt = timing.failAfterShare === undefined ? Infinity : Math.floor(all.length * timing.failAfterShare);
    // Timing jitter is random per run; only the text is deterministic.
    const jitter = prng((Date.now() ^ Math.floor(Math.random() * 2 ** 31)) >>> 0);
    await sleep(timing.firstTokenMs, undefined, { signal: request.signal });
    for (const [index, token] of tokens.entries()) {
      if (resumed + index >= failAt) throw new SimulatedModelFailure(request.model);
      if (index > 0) {
        const gaussian = Math.sqrt(-2 * Math.log(jitter() || 1e-9)) * Math.cos(2 * Math.PI * jitter());
        let gap = timing.medianTokenMs * Math.exp(0.5 * gaussian);
        if (jitter() < timing.pauseChance) gap *= 5 + 5 * jitter();
        await sleep(gap, undefined, { signal: request.signal });
      }
      yield { text: token };
    }
    const promptTokens = countTokens(request.prompt);
    return { promptTokens, completionTokens: all.length, totalTokens: promptTokens + all.length };
  }
}
