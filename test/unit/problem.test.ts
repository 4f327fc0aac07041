import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  NotFoundError,
  OffloadError,
  PayloadTooLargeError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../lambdas/core/errors.ts';
import { PROBLEM_TYPE_BASE, toProblem } from '../../lambdas/core/problem.ts';

describe('toProblem', () => {
  it.each([
    [new ValidationError('input.prompt: too short'), 400, 'validation-error'],
    [new UnauthorizedError(), 401, 'unauthorized'],
    [new NotFoundError(), 404, 'not-found'],
    [new ConflictError('lease held'), 409, 'conflict'],
    [new PayloadTooLargeError(1024), 413, 'payload-too-large'],
    [new UnsupportedMediaTypeError(), 415, 'unsupported-media-type'],
    [new OffloadError(429, 'too-many-requests', 'Too many requests', 'Slow down.', { headers: { 'Retry-After': '3' } }), 429, 'too-many-requests'],
  ])('exposes the detail of a %s below 500', (error, status, code) => {
    // Prepare / Act
    const { problem } = toProblem(error);
    // Assess
    expect(problem).toEqual({ type: PROBLEM_TYPE_BASE + code, title: error.title, status, detail: error.message });
  });

  it('carries the error headers (WWW-Authenticate, Retry-After)', () => {
    // Prepare
    const throttled = new OffloadError(429, 'too-many-requests', 'Too many requests', 'Slow down.', { headers: { 'Retry-After': '3' } });
    // Act
    const unauthorized = toProblem(new UnauthorizedError()).headers;
    const retry = toProblem(throttled).headers;
    // Assess
    expect(unauthorized['WWW-Authenticate']).toMatch(/^Bearer/);
    expect(retry).toEqual({ 'Retry-After': '3' });
  });

  it('adds the instance when given', () => {
    // Prepare / Act
    const { problem } = toProblem(new NotFoundError(), '/v1/tasks/tsk_x');
    // Assess
    expect(problem.instance).toBe('/v1/tasks/tsk_x');
  });

  it.each([
    ['a plain Error', new Error('connect ECONNREFUSED 10.0.0.7:8000 secret=hunter2')],
    ['an OffloadError of status 500', new OffloadError(500, 'boom', 'Boom', 'db password is hunter2')],
    ['an OffloadError of status 503', new OffloadError(503, 'unavailable', 'Unavailable', 'hunter2 is down')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'hunter2')")],
    ['a thrown string', 'hunter2'],
    ['undefined', undefined],
  ])('answers an opaque 500 for %s', (_name, error) => {
    // Prepare / Act
    const { problem, headers } = toProblem(error, '/v1/tasks');
    // Assess
    expect(problem.status).toBe(500);
    expect(problem.type).toBe(PROBLEM_TYPE_BASE + 'internal-error');
    expect(JSON.stringify(problem)).not.toContain('hunter2');
    expect(JSON.stringify(problem)).not.toMatch(/at .*\.ts:\d+/);
    expect(headers).toEqual({});
  });

  it('does not leak headers of a 5xx OffloadError', () => {
    // Prepare
    const error = new OffloadError(502, 'bad-gateway', 'Bad gateway', 'upstream', { headers: { 'X-Internal-Host': 'db-7' } });
    // Act
    const { headers } = toProblem(error);
    // Assess
    expect(headers).toEqual({});
  });
});
