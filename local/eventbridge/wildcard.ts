import { PatternValueError } from './pattern-errors.ts';

/**
 * Wildcard patterns: `*` matches any run of characters (including none), `\*` is a literal star and
 * `\\` a literal backslash. EventBridge checks them byte by byte on the quoted value (`"..."`), so the
 * positions in its messages count UTF-8 bytes from the opening quote.
 */

/** A wildcard pattern split into literal text and stars. */
export type WildcardPart = { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'star' };

const STAR = 0x2a;
const BACKSLASH = 0x5c;
const encoder = new TextEncoder();

/**
 * Checks a wildcard pattern as EventBridge does and splits it into parts. Throws
 * {@link PatternValueError} for consecutive stars or a backslash that escapes anything else.
 */
export const parseWildcard = (pattern: string): WildcardPart[] => {
  const bytes = encoder.encode(`"${pattern}"`);
  for (let index = 0; index < bytes.length; index++) {
    if (bytes[index] === STAR && bytes[index + 1] === STAR) throw new PatternValueError(`Consecutive wildcard characters at pos ${index}`);
    if (bytes[index] !== BACKSLASH) continue;
    const next = bytes[index + 1];
    if (next !== STAR && next !== BACKSLASH) throw new PatternValueError(`Invalid escape character at pos ${index}`);
    index++;
  }
  return splitParts(pattern);
};

const splitParts = (pattern: string): WildcardPart[] => {
  const parts: WildcardPart[] = [];
  let literal = '';
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index] ?? '';
    if (char === '*') {
      if (literal) parts.push({ kind: 'literal', text: literal });
      parts.push({ kind: 'star' });
      literal = '';
    } else {
      literal += char === '\\' ? (pattern[++index] ?? '') : char;
    }
  }
  if (literal) parts.push({ kind: 'literal', text: literal });
  return parts;
};

const escapeRegExp = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

/** A regular expression that matches exactly the strings the (already parsed) wildcard pattern matches. */
export const wildcardRegExp = (parts: readonly WildcardPart[]): RegExp =>
  new RegExp(`^${parts.map((part) => (part.kind === 'star' ? '[\\s\\S]*' : escapeRegExp(part.text))).join('')}$`, 'u');

// ---------------------------------------------------------------------------------------------
// Complexity, after event-ruler's MachineComplexityEvaluator: the most states that a worst-case
// input can keep alive at once in the byte machine of one field's wildcard patterns.

/** A pattern's bytes, `-1` standing for a star, including the enclosing quotes. */
const wildcardBytes = (parts: readonly WildcardPart[]): number[] => {
  const bytes: number[] = [0x22];
  for (const part of parts) {
    if (part.kind === 'star') bytes.push(-1);
    else bytes.push(...encoder.encode(part.text));
  }
  bytes.push(0x22);
  return bytes;
};

/** A state: before token `index` of pattern `pattern`, or (`loop`) inside the star at `index`. */
interface State {
  readonly pattern: number;
  readonly index: number;
  readonly loop: boolean;
}

const stateKey = (state: State): string => `${state.pattern}:${state.index}:${state.loop ? 'L' : 'P'}`;

const OTHER_BYTE = 256;

const step = (tokens: readonly number[], state: State, byte: number): State[] => {
  const { pattern, index } = state;
  const token = tokens[index];
  if (token === undefined) return []; // the match itself
  if (token !== -1) return byte === token ? [{ pattern, index: index + 1, loop: false }] : [];
  const after = tokens[index + 1];
  const out: State[] = [{ pattern, index, loop: true }];
  if (byte === after) out.push({ pattern, index: index + 2, loop: false });
  return out;
};

const isBeforeStar = (tokens: readonly (readonly number[])[], state: State): boolean =>
  !state.loop && tokens[state.pattern]?.[state.index] === -1;

/** Size of an active set: each live state, plus the star loop next to each state that sits before a star. */
const weigh = (tokens: readonly (readonly number[])[], active: ReadonlyMap<string, State>): number => {
  let size = active.size;
  for (const state of active.values()) {
    if (isBeforeStar(tokens, state) && !active.has(stateKey({ ...state, loop: true }))) size++;
  }
  return size;
};

/**
 * The complexity of one field's wildcard patterns, capped at `limit` (the search stops as soon as
 * it is reached). `patterns` are parsed wildcard patterns.
 */
export const wildcardComplexity = (patterns: readonly (readonly WildcardPart[])[], limit: number, maxSets = 20_000): number => {
  const tokens = patterns.map(wildcardBytes);
  const alphabet = [...new Set(tokens.flat().filter((byte) => byte >= 0)), OTHER_BYTE];
  const start = new Map(tokens.map((_, pattern) => [stateKey({ pattern, index: 0, loop: false }), { pattern, index: 0, loop: false }]));
  const seen = new Set<string>();
  const queue: Map<string, State>[] = [start];
  let worst = 0;
  while (queue.length > 0 && seen.size < maxSets) {
    const active = queue.shift() ?? new Map<string, State>();
    for (const byte of alphabet) {
      const next = new Map<string, State>();
      for (const state of active.values()) {
        for (const target of step(tokens[state.pattern] ?? [], state, byte)) next.set(stateKey(target), target);
      }
      if (next.size === 0) continue;
      worst = Math.max(worst, weigh(tokens, next));
      if (worst >= limit) return limit;
      const key = [...next.keys()].sort().join('|');
      if (!seen.has(key)) {
        seen.add(key);
        queue.push(next);
      }
    }
  }
  return worst;
};
