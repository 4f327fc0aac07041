import type { ServerMessage } from '../../lambdas/core/ports.ts';

/** Seqs of the entries a message sequence carries, whether one per `progress` or several per `progressBatch`. */
export const progressSeqs = (messages: readonly ServerMessage[]): number[] =>
  messages.flatMap((message) => (message.type === 'progress' ? [message.seq] : message.type === 'progressBatch' ? message.entries.map((entry) => entry.seq) : []));

/**
 * Every breach of the SPEC's wire rule in the messages one connection received after subscribing
 * with `after`: an entry sent before a lower one (above `after`) had been sent, or a terminal
 * status sent before every entry up to `finalSeq` had been. Resends are allowed.
 */
export const wireRuleViolations = (messages: readonly ServerMessage[], after: number, finalSeq: number): string[] => {
  const violations: string[] = [];
  const sent = new Set<number>();
  let contiguous = after; // every entry in after+1..contiguous has been sent
  for (const [index, message] of messages.entries()) {
    for (const seq of progressSeqs([message])) {
      if (seq > contiguous + 1) violations.push(`message ${index}: seq ${seq} before seq ${contiguous + 1}`);
      sent.add(seq);
      while (sent.has(contiguous + 1)) contiguous++;
    }
    if (message.type === 'status' && contiguous < finalSeq) violations.push(`message ${index}: status before seq ${contiguous + 1}`);
  }
  return violations;
};

/** What a client that drops `seq <= highest seen` (as the SDK does) keeps, in order. */
export const deduplicated = (messages: readonly ServerMessage[]): number[] => {
  let highest = Number.NEGATIVE_INFINITY;
  const kept: number[] = [];
  for (const seq of progressSeqs(messages)) {
    if (seq <= highest) continue;
    highest = seq;
    kept.push(seq);
  }
  return kept;
};
