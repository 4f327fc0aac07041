import { describe, expect, it } from 'vitest';
import { redactInternals, toTaskError } from '../../lambdas/core/execute.ts';
import { ModelProviderError, ProviderFailure, providerFailureOf } from '../../lambdas/tasks/models/provider-error.ts';

describe('provider errors shown to tenants', () => {
  it.each([
    [403, 'AccessDeniedException', ProviderFailure.accessDenied],
    [400, 'ValidationException', ProviderFailure.rejected],
    [429, 'ThrottlingException', ProviderFailure.throttled],
    [400, 'ServiceQuotaExceededException', ProviderFailure.throttled],
    [404, 'ResourceNotFoundException', ProviderFailure.notAvailable],
    [429, 'ModelNotReadyException', ProviderFailure.notAvailable],
    [401, undefined, ProviderFailure.accessDenied],
    [429, undefined, ProviderFailure.throttled],
    [404, undefined, ProviderFailure.notAvailable],
    [503, undefined, ProviderFailure.unavailable],
    [422, undefined, ProviderFailure.rejected],
  ])('map status %s / %s to a fixed message', (status, exceptionName, expected) => {
    // Act
    const error = new ModelProviderError(status, 'raw provider text', exceptionName ? { exceptionName } : {});
    // Assess
    expect(error.message).toBe(expected);
    expect(ProviderFailure[providerFailureOf(status, exceptionName)]).toBe(expected);
  });

  it('keep an OpenAI-compatible server\u2019s own text (a key prefix, an organisation) out of the task error', () => {
    // Prepare
    const raw = '{"error":{"message":"Incorrect API key provided: sk-proj-AbCd****wxyz. You can find your API key at https://platform.openai.com/account/api-keys.","code":"invalid_api_key","org":"org-Secret123"}}';
    // Act
    const taskError = toTaskError(new ModelProviderError(401, raw));
    // Assess
    expect(taskError).toEqual({ code: 'ModelProviderError', message: ProviderFailure.accessDenied });
  });

  it('keep the retry classification: 429 and 5xx retry, other 4xx do not', () => {
    // Act / Assess
    expect(new ModelProviderError(429, '', { exceptionName: 'ThrottlingException' }).retryable).toBe(true);
    expect(new ModelProviderError(503, '').retryable).toBe(true);
    expect(new ModelProviderError(403, '', { exceptionName: 'AccessDeniedException' }).retryable).toBe(false);
  });

  it('redact ARNs, account ids and access key ids from any other error a task fails with', () => {
    // Prepare
    const error = new Error('User: arn:aws:sts::123456789012:assumed-role/WorkerRole/fn is not authorized (account 123456789012, key AKIAIOSFODNN7EXAMPLE)');
    // Act
    const taskError = toTaskError(error);
    // Assess
    expect(taskError.message).not.toMatch(/123456789012|WorkerRole|arn:aws|AKIA/);
    expect(redactInternals('task took 1234 ms')).toBe('task took 1234 ms');
  });
});
