import { describe, expect, it } from 'vitest';
import { maskFields, tenantMaskKey } from '../../lambdas/core/masking.ts';

describe('masking', () => {
  const record = { input: { prompt: 'secret', n: 1 }, result: { text: 'answer' }, taskId: 't' };
  it('keyed-hashes the named paths and nothing else, without touching the original', () => {
    const masked = maskFields(record, ['input.prompt', 'result.text', 'missing.path'], 'hash', 'k');
    expect(masked.input.prompt).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(masked.result.text).toMatch(/^hmac-sha256:/);
    expect(masked.input.n).toBe(1);
    expect(masked.taskId).toBe('t');
    expect(record.input.prompt).toBe('secret');
  });
  it('drops in drop mode', () => {
    expect(maskFields(record, ['input.prompt'], 'drop', 'k').input).toEqual({ n: 1 });
  });
  it('derives different keys per tenant, so hashes cannot be joined across tenants', () => {
    const a = maskFields(record, ['input.prompt'], 'hash', tenantMaskKey('master', 'ten_a'));
    const b = maskFields(record, ['input.prompt'], 'hash', tenantMaskKey('master', 'ten_b'));
    const a2 = maskFields(record, ['input.prompt'], 'hash', tenantMaskKey('master', 'ten_a'));
    expect(a.input.prompt).not.toBe(b.input.prompt);
    expect(a.input.prompt).toBe(a2.input.prompt);
  });
});
