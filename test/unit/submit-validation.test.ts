import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lambdas/core/errors.ts';
import { validateSubmit } from '../../lambdas/core/submit.ts';

const expectValidationError = (body: unknown, detail?: RegExp): void => {
  let caught: unknown;
  try {
    validateSubmit(body);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  expect((caught as ValidationError).status).toBe(400);
  if (detail) expect((caught as ValidationError).message).toMatch(detail);
};

describe('validateSubmit', () => {
  it('parses a valid completion request', () => {
    // Prepare
    const body = { type: 'completion', input: { prompt: 'Summarise this', maxTokens: 32, model: 'sim-fast' }, sessionId: 'chat-42:a.b_c' };
    // Act
    const { request, input } = validateSubmit(body);
    // Assess
    expect(request).toEqual(body);
    expect(input).toEqual({ prompt: 'Summarise this', maxTokens: 32, model: 'sim-fast' });
  });

  it('accepts a request without sessionId and optional input fields', () => {
    // Prepare / Act
    const { request, input } = validateSubmit({ type: 'completion', input: { prompt: 'hi' } });
    // Assess
    expect(request.sessionId).toBeUndefined();
    expect(input).toEqual({ prompt: 'hi' });
  });

  it('rejects an unknown task type, naming it', () => {
    // Prepare / Act / Assess
    expectValidationError({ type: 'resize-image', input: {} }, /Unknown task type "resize-image"/);
  });

  it.each([
    ['empty prompt', { prompt: '' }],
    ['missing prompt', {}],
    ['prompt of the wrong type', { prompt: 42 }],
    ['maxTokens over the cap', { prompt: 'hi', maxTokens: 100_000 }],
    ['fractional maxTokens', { prompt: 'hi', maxTokens: 1.5 }],
    ['unknown model', { prompt: 'hi', model: 'gpt-nonexistent' }],
    ['an extra input key', { prompt: 'hi', temperature: 2 }],
  ])('rejects invalid input: %s', (_name, input) => {
    // Prepare / Act / Assess
    expectValidationError({ type: 'completion', input }, /^input\./);
  });

  it.each([
    ['an extra envelope key', { type: 'completion', input: { prompt: 'hi' }, priority: 'high' }],
    ['missing type', { input: { prompt: 'hi' } }],
    ['empty type', { type: '', input: { prompt: 'hi' } }],
    ['missing input', { type: 'completion' }],
    ['input as an array', { type: 'completion', input: ['hi'] }],
    ['input as a string', { type: 'completion', input: 'hi' }],
    ['sessionId with a space', { type: 'completion', input: { prompt: 'hi' }, sessionId: 'has space' }],
    ['sessionId too long', { type: 'completion', input: { prompt: 'hi' }, sessionId: 'a'.repeat(129) }],
    ['empty sessionId', { type: 'completion', input: { prompt: 'hi' }, sessionId: '' }],
    ['sessionId not a string', { type: 'completion', input: { prompt: 'hi' }, sessionId: 7 }],
    ['a null body', null],
    ['an array body', [{ type: 'completion', input: { prompt: 'hi' } }]],
    ['a string body', 'completion'],
  ])('rejects %s', (_name, body) => {
    // Prepare / Act / Assess
    expectValidationError(body);
  });

  it('accepts a sessionId of exactly 128 allowed characters', () => {
    // Prepare
    const sessionId = 'A'.repeat(128);
    // Act
    const { request } = validateSubmit({ type: 'completion', input: { prompt: 'hi' }, sessionId });
    // Assess
    expect(request.sessionId).toBe(sessionId);
  });
});
