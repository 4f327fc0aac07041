import type { ProgressEntry } from './model.ts';
import type { ServerMessage } from './ports.ts';

/**
 * API Gateway's WebSocket frame size quota (32 KB, not adjustable). A batch is kept within one
 * frame, well under the 128 KB message quota, so every client reads it as a single frame.
 */
export const MAX_BATCH_BYTES = 32 * 1024;

/** The messages that carry progress entries. */
export type ProgressMessage = Extract<ServerMessage, { readonly type: 'progress' | 'progressBatch' }>;

/**
 * Packs consecutive progress entries into as few WebSocket messages as fit `maxBytes` each
 * (serialized), in `seq` order: a group of several entries becomes one `progressBatch`, a group of
 * one (an entry too large to share, or simply the only one) stays a plain `progress` message, so
 * live streaming, one entry at a time, looks exactly as it always did.
 *
 * @example
 * ```ts
 * packProgress('tsk_1', [{ seq: 1, data: 'a', at }, { seq: 2, data: 'b', at }]);
 * // [{ type: 'progressBatch', taskId: 'tsk_1', entries: [{ seq: 1, data: 'a' }, { seq: 2, data: 'b' }] }]
 * ```
 */
export const packProgress = (taskId: string, entries: readonly ProgressEntry[], maxBytes: number = MAX_BATCH_BYTES): ProgressMessage[] => {
  // `{"type":"progressBatch","taskId":"…","entries":[` + entries joined by commas + `]}`
  const envelopeBytes = Buffer.byteLength(JSON.stringify({ type: 'progressBatch', taskId, entries: [] }));
  const messages: ProgressMessage[] = [];
  let group: { seq: number; data: unknown }[] = [];
  let groupBytes = envelopeBytes;
  const close = () => {
    if (group.length === 1) messages.push({ type: 'progress', taskId, seq: group[0]!.seq, data: group[0]!.data });
    else if (group.length > 1) messages.push({ type: 'progressBatch', taskId, entries: group });
    group = [];
    groupBytes = envelopeBytes;
  };
  for (const { seq, data } of entries) {
    const entry = { seq, data };
    const bytes = Buffer.byteLength(JSON.stringify(entry));
    if (group.length > 0 && groupBytes + 1 + bytes > maxBytes) close();
    groupBytes += (group.length > 0 ? 1 : 0) + bytes; // a comma before every entry but the first
    group.push(entry);
  }
  close();
  return messages;
};
