import { describe, expect, it } from 'vitest';
import { isTaskId, newTaskId, ulid } from '../../lambdas/core/ids.ts';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const decodeTime = (id: string): number => [...id.slice(0, 10)].reduce((value, char) => value * 32 + CROCKFORD.indexOf(char), 0);

describe('ulid', () => {
  it('is 26 Crockford base32 characters', () => {
    // Prepare / Act
    const ids = Array.from({ length: 200 }, () => ulid());
    // Assess
    for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it('encodes the millisecond timestamp in its first 10 characters', () => {
    // Prepare
    const now = Date.parse('2026-03-04T05:06:07.089Z');
    // Act
    const id = ulid(now);
    // Assess
    expect(decodeTime(id)).toBe(now);
  });

  it('sorts lexicographically in creation-time order', () => {
    // Prepare
    const times = [1, 31, 32, 1_000, 1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_000, 2 ** 47];
    // Act
    const ids = times.map((time) => ulid(time));
    // Assess
    expect([...ids].sort()).toEqual(ids);
  });

  it('differs between two ids of the same millisecond (random tail)', () => {
    // Prepare
    const now = Date.now();
    // Act
    const ids = new Set(Array.from({ length: 100 }, () => ulid(now)));
    // Assess
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id.slice(0, 10)).toBe(ulid(now).slice(0, 10));
  });
});

describe('isTaskId', () => {
  it('accepts what newTaskId produces', () => {
    // Prepare
    const id = newTaskId();
    // Act / Assess
    expect(id).toMatch(/^tsk_/);
    expect(isTaskId(id)).toBe(true);
  });

  it.each([
    ['no prefix', ulid()],
    ['wrong prefix', `tas_${ulid()}`],
    ['too short', `tsk_${ulid().slice(1)}`],
    ['too long', `tsk_${ulid()}0`],
    ['lowercase', `tsk_${ulid().toLowerCase()}`],
    ['excluded letter I', 'tsk_01ARZ3NDEKTSV4RRFFQ69G5FAI'],
    ['excluded letter U', 'tsk_01ARZ3NDEKTSV4RRFFQ69G5FAU'],
    ['trailing newline', `${newTaskId()}\n`],
    ['path traversal', 'tsk_../../etc/passwd'],
    ['empty', ''],
  ])('rejects %s', (_name, value) => {
    // Prepare / Act / Assess
    expect(isTaskId(value)).toBe(false);
  });

  it.each([undefined, null, 42, { id: 'tsk_x' }, ['tsk_']])('rejects the non-string %j', (value) => {
    // Prepare / Act / Assess
    expect(isTaskId(value)).toBe(false);
  });
});
