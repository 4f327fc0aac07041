import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lambdas/core/errors.ts';
import { isWellFormedText, parseJsonText } from '../../lambdas/core/json-text.ts';

describe('parseJsonText: the perimeter JSON parser', () => {
  it('parses ordinary JSON, including paired surrogates (emoji) and escaped characters', () => {
    // Act
    const value = parseJsonText('{"prompt":"hi \\ud83d\\ude00 😀 \\u00e9","n":[1,{"constructor":"a name"}]}', 'The body');
    // Assess
    expect(value).toEqual({ prompt: 'hi 😀 😀 é', n: [1, { constructor: 'a name' }] });
  });

  it.each([
    ['a lone high surrogate in a value', '{"prompt":"a\\ud800b"}', 'not valid Unicode'],
    ['a lone low surrogate deep inside', '{"a":[{"b":"\\udfff"}]}', 'not valid Unicode'],
    ['a lone surrogate in a key', '{"\\ud800":1}', 'not valid Unicode'],
    ['a "__proto__" key', '{"input":{"__proto__":{"admin":true}}}', '"__proto__"'],
    ['a "__proto__" key holding null', '{"__proto__":null}', '"__proto__"'],
    ['a "constructor" key holding a prototype', '{"constructor":{"prototype":{"x":1}}}', '"constructor"'],
    ['broken JSON', '{"a":', 'not valid JSON'],
  ])('refuses %s with a ValidationError naming the problem', (_name, text, detail) => {
    // Act
    const attempt = () => parseJsonText(text, 'The body');
    // Assess
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(detail);
  });

  it('reports deeply nested input as a validation error, never anything else', () => {
    // Prepare
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    // Act
    const outcome = (() => {
      try {
        return parseJsonText(deep, 'The body');
      } catch (error) {
        return error;
      }
    })();
    // Assess: either parsed (an array) or refused as a ValidationError.
    expect(Array.isArray(outcome) || outcome instanceof ValidationError).toBe(true);
  });

  it('tells well-formed text from text with a lone surrogate', () => {
    // Act / Assess
    expect([isWellFormedText('plain'), isWellFormedText('😀'), isWellFormedText('\ud83d'), isWellFormedText('x\ude00')]).toEqual([true, true, false, false]);
  });
});
