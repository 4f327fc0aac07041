import { ValidationError } from './errors.ts';

/** A UTF-16 surrogate that is not half of a pair: text no UTF-8 store or client can represent. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Whether a string is well-formed Unicode (no lone surrogate). */
export const isWellFormedText = (text: string): boolean => !LONE_SURROGATE.test(text);

/**
 * Parses a JSON request body or message, refusing (with a {@link ValidationError}) anything that
 * is not JSON and two kinds of valid JSON no request of this API ever needs:
 * - a string or key with a lone surrogate (`"\ud800"`): valid JSON, not valid Unicode, and DynamoDB,
 *   logs and clients would each mangle it differently;
 * - a `"__proto__"` key, or a `"constructor"` key holding a `"prototype"`: prototype-pollution
 *   probes, which also slip past schema checks (a `__proto__` key is not seen as an unknown key).
 *
 * @example
 * ```ts
 * parseJsonText('{"prompt":"hi"}', 'The body'); // { prompt: 'hi' }
 * parseJsonText('{"prompt":"\\ud800"}', 'The body'); // throws ValidationError
 * ```
 */
export const parseJsonText = (text: string, what: string): unknown => {
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (LONE_SURROGATE.test(key) || (typeof value === 'string' && LONE_SURROGATE.test(value))) {
        throw new ValidationError(`${what} contains a string that is not valid Unicode (a lone surrogate).`);
      }
      if (key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype'))) {
        throw new ValidationError(`${what} must not contain a "${key}" key.`);
      }
      return value;
    });
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError(`${what} is not valid JSON.`, { cause: error });
  }
};
