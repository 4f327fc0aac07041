import { countTokens, simulatedTokens } from '../../lambdas/tasks/models/simulated.ts';
import type { ConverseStreamAnswer, ConverseStreamBody, ConverseStreamEvent } from './converse-stream-server.ts';

/** Output budget when the request sets no `inferenceConfig.maxTokens`. */
export const DEFAULT_MAX_TOKENS = 256 as const;

const textOf = (message: NonNullable<ConverseStreamBody['messages']>[number] | undefined): string =>
  (message?.content ?? []).map((block) => block.text ?? '').join('');

/**
 * A ConverseStream answer with the project's simulated model text: the deterministic tokens of
 * {@link simulatedTokens} for the model id and the user's prompt, one `contentBlockDelta` each,
 * framed by messageStart / contentBlockStop / messageStop and a `metadata` event with usage. A
 * trailing assistant message (a retry's partial turn) is continued after, as Bedrock continues it.
 */
export const simulatedConverseStream = (modelId: string, body: ConverseStreamBody): ConverseStreamAnswer => {
  const messages = body.messages ?? [];
  const prompt = messages.filter((message) => message.role === 'user').map(textOf).join('\n');
  if (!prompt) return { kind: 'error', status: 400, errorType: 'ValidationException', message: 'A conversation must start with a user message.' };
  const maxTokens = body.inferenceConfig?.maxTokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) return { kind: 'error', status: 400, errorType: 'ValidationException', message: 'inferenceConfig.maxTokens must be at least 1.' };
  const all = simulatedTokens(modelId, prompt, maxTokens);
  const last = messages.at(-1);
  const partial = last?.role === 'assistant' ? textOf(last) : '';
  let skipped = 0;
  let covered = '';
  while (covered.length < partial.length && skipped < all.length) covered += all[skipped++];
  const tokens = covered === partial ? all.slice(skipped) : all;
  const inputTokens = countTokens(prompt);
  const events: ConverseStreamEvent[] = [
    ['messageStart', { role: 'assistant' }],
    ...tokens.map((text): ConverseStreamEvent => ['contentBlockDelta', { contentBlockIndex: 0, delta: { text } }]),
    ['contentBlockStop', { contentBlockIndex: 0 }],
    ['messageStop', { stopReason: all.length >= maxTokens ? 'max_tokens' : 'end_turn' }],
    ['metadata', { usage: { inputTokens, outputTokens: tokens.length, totalTokens: inputTokens + tokens.length }, metrics: { latencyMs: 0 } }],
  ];
  return { kind: 'stream', events };
};
