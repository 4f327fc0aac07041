/**
 * Amazon EventBridge event patterns: validation with AWS's error messages, and matching with AWS's
 * semantics (those of event-ruler, the engine EventBridge runs).
 *
 * ```ts
 * const pattern = parseEventPattern('{"source":["offload"],"detail":{"class":["interactive"]}}');
 * matchesEventPattern(pattern, { source: 'offload', detail: { class: 'interactive' } }); // true
 * ```
 *
 * Supported: exact strings, numbers, booleans and `null`; arrays in events (any element may match);
 * `prefix`, `suffix` (both also with `equals-ignore-case`), `equals-ignore-case`, `wildcard`,
 * `anything-but` (values, lists, `prefix`, `suffix`, `wildcard`, `equals-ignore-case`), `numeric`,
 * `exists`, `cidr`, `exactly`, `$or`, nested objects and dotted keys.
 */
import { JsonSyntaxError } from './json-tokenizer.ts';
import { jsonNodeFromValue, parseJsonDocument, type JsonNode } from './json-tree.ts';
import { compilePattern, type CompiledPattern } from './pattern-compile.ts';
import { InvalidEventPatternError } from './pattern-errors.ts';
import { matchPattern } from './pattern-match.ts';

export { InvalidEventPatternError, PATTERN_ERROR_PREFIX } from './pattern-errors.ts';
export type { CompiledBranch, CompiledField, CompiledPattern } from './pattern-compile.ts';

/**
 * Parses and validates the raw JSON text of an event pattern.
 *
 * The text is read as EventBridge reads it, so a key given twice keeps its last value. Pass the
 * pattern's original text rather than a re-serialised object when it may hold duplicated keys.
 *
 * @throws {InvalidEventPatternError} when EventBridge would reject the pattern; the message is
 *   AWS's (`Event pattern is not valid. Reason: ...`).
 */
export const parseEventPattern = (text: string): CompiledPattern => compilePattern(text);

/**
 * Tells whether an event matches a pattern.
 *
 * @param pattern a compiled pattern, or the pattern's JSON text (compiled on each call).
 * @param event the event as a parsed JSON value (an object; anything else never matches).
 * @throws {InvalidEventPatternError} when `pattern` is text that is not a valid pattern.
 */
export const matchesEventPattern = (pattern: CompiledPattern | string, event: unknown): boolean => {
  const compiled = typeof pattern === 'string' ? compilePattern(pattern) : pattern;
  const node = jsonNodeFromValue(event);
  return node !== undefined && matchPattern(compiled, node);
};

/**
 * `TestEventPattern`: matches the raw JSON text of an event against the raw JSON text of a pattern.
 * Reading the event from text keeps its numbers as written and any duplicated keys.
 *
 * @throws {InvalidEventPatternError} when the pattern is invalid.
 * @throws {SyntaxError} when the event is not valid JSON.
 */
export const testEventPattern = (patternText: string, eventJson: string): boolean => {
  const pattern = compilePattern(patternText);
  return matchPattern(pattern, parseEvent(eventJson));
};

const parseEvent = (eventJson: string): JsonNode => {
  try {
    return parseJsonDocument(eventJson);
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new SyntaxError(`Event is not valid JSON: ${error.message}`, { cause: error });
    throw error;
  }
};

/** True when `error` is an {@link InvalidEventPatternError}. */
export const isInvalidEventPatternError = (error: unknown): error is InvalidEventPatternError => error instanceof InvalidEventPatternError;
