import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../../lambdas/core/errors.ts';
import { etagOf, jsonBody, matchesEtag, MAX_BODY_BYTES } from '../../lambdas/handlers/http/http.ts';
import { httpEvent } from '../support/http-events.ts';

const post = (body: string | undefined, headers: Record<string, string> = { 'content-type': 'application/json' }, isBase64Encoded = false) =>
  httpEvent({ method: 'POST', path: '/v1/tasks', headers, ...(body !== undefined ? { body } : {}), isBase64Encoded });

const thrownBy = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('matchesEtag', () => {
  const etag = '"abc123"';

  it.each([
    ['the same strong tag', '"abc123"'],
    ['the weak form of the tag', 'W/"abc123"'],
    ['the wildcard', '*'],
    ['the wildcard with spaces', '  *  '],
    ['a list containing the tag', '"zzz", "abc123", "yyy"'],
    ['a list without spaces containing the weak tag', '"zzz",W/"abc123"'],
  ])('matches %s', (_name, header) => {
    // Prepare / Act / Assess
    expect(matchesEtag(header, etag)).toBe(true);
  });

  it('compares weakly in both directions (weak stored tag, strong header)', () => {
    // Prepare / Act / Assess
    expect(matchesEtag('"abc123"', 'W/"abc123"')).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['another tag', '"abc124"'],
    ['the tag without quotes', 'abc123'],
    ['a list of other tags', '"a", "b"'],
    ['a prefix of the tag', '"abc12"'],
  ])('does not match %s', (_name, header) => {
    // Prepare / Act / Assess
    expect(matchesEtag(header, etag)).toBe(false);
  });
});

describe('etagOf', () => {
  it('is a quoted strong tag that changes with the body', () => {
    // Prepare / Act
    const a = etagOf('{"status":"queued"}');
    const b = etagOf('{"status":"running"}');
    // Assess
    expect(a).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(a).toBe(etagOf('{"status":"queued"}'));
    expect(a).not.toBe(b);
  });
});

describe('jsonBody', () => {
  it('parses a JSON body', () => {
    // Prepare
    const event = post('{"type":"completion","input":{"prompt":"hi"}}');
    // Act
    const body = jsonBody(event);
    // Assess
    expect(body).toEqual({ type: 'completion', input: { prompt: 'hi' } });
  });

  it.each(['application/json; charset=utf-8', 'Application/JSON', 'application/vnd.offload+json'])('accepts content type %j', (type) => {
    // Prepare
    const event = post('{"a":1}', { 'content-type': type });
    // Act / Assess
    expect(jsonBody(event)).toEqual({ a: 1 });
  });

  it('decodes a base64 body', () => {
    // Prepare
    const event = post(Buffer.from('{"prompt":"héllo ✓"}', 'utf8').toString('base64'), undefined, true);
    // Act
    const body = jsonBody(event);
    // Assess
    expect(body).toEqual({ prompt: 'héllo ✓' });
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['form data', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['a missing content type', {}],
    ['a json-ish but different type', { 'content-type': 'application/jsonp' }],
  ])('answers 415 for %s', (_name, headers) => {
    // Prepare
    const event = post('{"a":1}', headers);
    // Act
    const error = thrownBy(() => jsonBody(event));
    // Assess
    expect(error).toBeInstanceOf(UnsupportedMediaTypeError);
    expect((error as UnsupportedMediaTypeError).status).toBe(415);
  });

  it('answers 413 for a body over MAX_BODY_BYTES, counting bytes not characters', () => {
    // Prepare: each "é" is 2 bytes in UTF-8
    const text = JSON.stringify({ prompt: 'é'.repeat(MAX_BODY_BYTES / 2) });
    // Act
    const error = thrownBy(() => jsonBody(post(text)));
    // Assess
    expect(text.length).toBeLessThan(MAX_BODY_BYTES);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as PayloadTooLargeError).status).toBe(413);
  });

  it('answers 413 for a base64 body whose decoded size is over the limit', () => {
    // Prepare
    const text = JSON.stringify({ prompt: 'x'.repeat(MAX_BODY_BYTES) });
    // Act
    const error = thrownBy(() => jsonBody(post(Buffer.from(text).toString('base64'), undefined, true)));
    // Assess
    expect(error).toBeInstanceOf(PayloadTooLargeError);
  });

  it('accepts a body of exactly MAX_BODY_BYTES', () => {
    // Prepare
    const filler = 'x'.repeat(MAX_BODY_BYTES - JSON.stringify({ p: '' }).length);
    const text = JSON.stringify({ p: filler });
    // Act
    const body = jsonBody(post(text));
    // Assess
    expect(Buffer.byteLength(text)).toBe(MAX_BODY_BYTES);
    expect(body).toEqual({ p: filler });
  });

  it.each([
    ['an empty body', ''],
    ['a blank body', '  \n '],
    ['a missing body', undefined],
    ['truncated JSON', '{"type":"completion"'],
    ['a trailing comma', '{"a":1,}'],
    ['single quotes', "{'a':1}"],
  ])('answers 400 for %s', (_name, body) => {
    // Prepare
    const event = post(body);
    // Act
    const error = thrownBy(() => jsonBody(event));
    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).status).toBe(400);
  });
});
