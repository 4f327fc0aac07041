import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { LambdaInvocationError, LambdaThrottledError } from '../../local/lambda/errors.ts';
import type { LocalFunction } from '../../local/lambda/lambda-service.ts';
import { localFunction, maxOverlap, Scratch } from './support.ts';

/** One fixture handler that does what the event asks, so each behaviour is one invoke away. */
const BEHAVIOURS = `
let invocations = 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const handler = async (event, context) => {
  invocations++;
  switch (event.action) {
    case 'echo': return { event, invocations };
    case 'nothing': return undefined;
    case 'context': {
      const first = context.getRemainingTimeInMillis();
      await sleep(60);
      const second = context.getRemainingTimeInMillis();
      const { getRemainingTimeInMillis, done, fail, succeed, ...plain } = context;
      return { ...plain, first, second };
    }
    case 'env': {
      const seen = { FOO: process.env.FOO, PARENT: process.env.FIDELITY_PARENT_ONLY, MUTATED: process.env.MUTATED };
      process.env.MUTATED = 'by ' + process.env.FOO;
      return seen;
    }
    case 'throw': { const error = new RangeError('thrown on purpose'); throw error; }
    case 'reject': return Promise.reject(Object.assign(new Error('rejected on purpose'), { name: 'CustomRejection' }));
    case 'hang': return new Promise(() => { setInterval(() => undefined, 1000); });
    case 'exit': process.exit(1);
    case 'timer-throw': setTimeout(() => { throw new Error('uncaught in a timer'); }, 10); await sleep(500); return 'unreachable';
    case 'timer-reject': setTimeout(() => { Promise.reject(new Error('unhandled in a timer')); }, 10); await sleep(500); return 'unreachable';
    case 'slow': {
      const start = Date.now();
      await sleep(event.ms);
      return [start, Date.now()];
    }
    default: throw new Error('unknown action ' + event.action);
  }
};
`;

const failureOf = async (promise: Promise<unknown>): Promise<LambdaInvocationError> => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(LambdaInvocationError);
  return error as LambdaInvocationError;
};

describe('LocalFunction: Lambda execution environment fidelity', () => {
  const scratch = new Scratch();
  const functions: LocalFunction[] = [];
  let behaviours: string;
  const make = (...args: Parameters<typeof localFunction>) => {
    const fn = localFunction(...args);
    functions.push(fn);
    return fn;
  };

  beforeAll(() => {
    behaviours = scratch.asset('behaviours', BEHAVIOURS);
  });
  afterAll(async () => {
    await Promise.all(functions.map((fn) => fn.shutdown()));
    scratch.cleanup();
  });

  it('returns the handler result as JSON, and null for undefined', async () => {
    // Prepare
    const fn = make(behaviours);
    // Act
    const result = await fn.invoke({ action: 'echo', nested: { list: [1, 'two'], date: new Date(0) } });
    const nothing = await fn.invoke({ action: 'nothing' });
    // Assess
    expect(result).toEqual({ event: { action: 'echo', nested: { list: [1, 'two'], date: '1970-01-01T00:00:00.000Z' } }, invocations: 1 });
    expect(nothing).toBeNull();
  });

  it('passes a Lambda-shaped context whose remaining time counts down from the timeout', async () => {
    // Prepare
    const fn = make(behaviours, { functionName: 'ctx-fn', memorySize: 256, timeoutSeconds: 1 });
    // Act
    const first = (await fn.invoke({ action: 'context' })) as Record<string, any>;
    const second = (await fn.invoke({ action: 'context' })) as Record<string, any>;
    // Assess
    expect(first).toMatchObject({
      functionName: 'ctx-fn',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ctx-fn',
      memoryLimitInMB: '256',
      logGroupName: '/aws/lambda/ctx-fn',
      awsRequestId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      callbackWaitsForEmptyEventLoop: true,
    });
    expect(second.awsRequestId).not.toBe(first.awsRequestId);
    expect(first.first).toBeGreaterThan(800);
    expect(first.first).toBeLessThanOrEqual(1000);
    expect(first.first - first.second).toBeGreaterThanOrEqual(50);
  });

  it('gives each function its own environment variables, isolated from the runtime and from each other', async () => {
    // Prepare
    process.env.FIDELITY_PARENT_ONLY = 'leaked';
    const alpha = make(behaviours, { functionName: 'alpha', environment: { FOO: 'alpha' } });
    const beta = make(behaviours, { functionName: 'beta', environment: { FOO: 'beta' } });
    try {
      // Act
      const a1 = await alpha.invoke({ action: 'env' });
      const b1 = await beta.invoke({ action: 'env' });
      const a2 = await alpha.invoke({ action: 'env' });
      // Assess
      expect(a1).toEqual({ FOO: 'alpha' });
      expect(b1).toEqual({ FOO: 'beta' });
      expect(a2).toEqual({ FOO: 'alpha', MUTATED: 'by alpha' }); // a warm environment keeps its own process.env
    } finally {
      delete process.env.FIDELITY_PARENT_ONLY;
    }
  });

  describe('callback-style handlers (event, context, callback)', () => {
    const CALLBACK = `export const handler = (event, context, callback) => {
      if (event.fail) setTimeout(() => callback(Object.assign(new Error('callback failure'), { name: 'CallbackError' })), 5);
      else setTimeout(() => callback(null, { via: 'callback', got: event.value }), 5);
    };`;

    it('are refused at init with Runtime.CallbackHandlerDeprecated, as the nodejs24.x runtime the stack uses does', async () => {
      // Prepare
      const fn = make(scratch.asset('callback-24', CALLBACK));
      // Act
      const error = await failureOf(fn.invoke({ value: 1 }));
      // Assess
      expect(error.errorType).toBe('Runtime.CallbackHandlerDeprecated');
      expect(error.message).toContain('removed support for callback-based function handlers');
    });

    it('resolve and reject through the callback on runtimes that still support them (nodejs22.x)', async () => {
      // Prepare
      const fn = make(scratch.asset('callback-22', CALLBACK), { environment: { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x' } });
      // Act
      const result = await fn.invoke({ value: 7 });
      const error = await failureOf(fn.invoke({ fail: true }));
      // Assess
      expect(result).toEqual({ via: 'callback', got: 7 });
      expect(error.errorType).toBe('CallbackError');
      expect(fn.stats.coldStarts).toBe(1);
    });
  });

  it('reuses a warm environment: module state survives between invocations and the cold start is counted once', async () => {
    // Prepare
    const fn = make(behaviours);
    // Act
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) counts.push(((await fn.invoke({ action: 'echo' })) as { invocations: number }).invocations);
    // Assess
    expect(counts).toEqual([1, 2, 3]);
    expect(fn.stats).toMatchObject({ invocations: 3, coldStarts: 1, errors: 0 });
  });

  it('reports a thrown error with its type, message and stack, and keeps the environment warm', async () => {
    // Prepare
    const fn = make(behaviours);
    // Act
    const error = await failureOf(fn.invoke({ action: 'throw' }));
    const next = (await fn.invoke({ action: 'echo' })) as { invocations: number };
    // Assess
    expect(error.errorType).toBe('RangeError');
    expect(error.message).toContain('thrown on purpose');
    expect(error.trace.join('\n')).toContain('index.mjs');
    expect(next.invocations).toBe(2);
    expect(fn.stats).toMatchObject({ errors: 1, coldStarts: 1 });
  });

  it('reports a rejected promise with the rejection type and serves the next invocation', async () => {
    // Prepare
    const fn = make(behaviours);
    // Act
    const error = await failureOf(fn.invoke({ action: 'reject' }));
    const next = await fn.invoke({ action: 'echo' });
    // Assess
    expect(error.errorType).toBe('CustomRejection');
    expect(error.message).toContain('rejected on purpose');
    expect(next).toMatchObject({ invocations: 2 });
  });

  it('times out a handler that never resolves with Sandbox.Timedout after the configured seconds, then cold-starts', async () => {
    // Prepare
    const fn = make(behaviours, { timeoutSeconds: 1 });
    await fn.invoke({ action: 'echo' });
    const started = Date.now();
    // Act
    const error = await failureOf(fn.invoke({ action: 'hang' }));
    const elapsed = Date.now() - started;
    const next = (await fn.invoke({ action: 'echo' })) as { invocations: number };
    // Assess
    expect(error.errorType).toBe('Sandbox.Timedout');
    expect(error.message).toContain('Task timed out after 1.00 seconds');
    expect(elapsed).toBeGreaterThanOrEqual(990);
    expect(elapsed).toBeLessThan(2_500);
    expect(next.invocations).toBe(1); // a fresh environment: module state is gone
    expect(fn.stats).toMatchObject({ timeouts: 1, coldStarts: 2, errors: 1 });
  });

  it.each([
    ['calls process.exit(1)', 'exit', 'Runtime.ExitError'],
    ['throws from a timer (uncaught exception)', 'timer-throw', 'Runtime.UnhandledError'],
    ['rejects a promise nobody handles (unhandled rejection)', 'timer-reject', 'Runtime.UnhandledError'],
  ])('isolates a handler that %s: the invocation fails, the function serves the next one', async (_name, action, errorType) => {
    // Prepare
    const fn = make(behaviours);
    // Act
    const error = await failureOf(fn.invoke({ action }));
    const next = (await fn.invoke({ action: 'echo' })) as { invocations: number };
    // Assess
    expect(error.errorType).toBe(errorType);
    expect(next.invocations).toBe(1);
    expect(fn.stats.coldStarts).toBe(2);
    expect(fn.stats.errors).toBe(1);
  });

  it('never runs more invocations at once than the reserved concurrency; the rest wait for a free environment', async () => {
    // Prepare
    const fn = make(behaviours, { reservedConcurrency: 2 });
    // Act
    const intervals = (await Promise.all(Array.from({ length: 4 }, () => fn.invoke({ action: 'slow', ms: 250 })))) as [number, number][];
    // Assess
    expect(maxOverlap(intervals)).toBe(2);
    expect(fn.stats.coldStarts).toBe(2);
  });

  it('accounts the CPU its environments spend in init and in invocations (their own threads only)', async () => {
    // Prepare: an invocation that burns ~60 ms of CPU, and one that sleeps 200 ms
    const fn = make(scratch.asset('cpu', `export const handler = async (event) => {
  if (event.sleep) { await new Promise((resolve) => setTimeout(resolve, event.sleep)); return 'slept'; }
  const until = performance.now() + 60; let spins = 0; while (performance.now() < until) spins++; return spins > 0;
};`));
    // Act
    await fn.invoke({});
    const afterBurn = fn.stats.invokeCpuMsTotal;
    await fn.invoke({ sleep: 200 });
    // Assess
    expect(fn.stats.initCpuMsTotal).toBeGreaterThan(0);
    expect(afterBurn).toBeGreaterThanOrEqual(40);
    expect(fn.stats.invokeCpuMsTotal - afterBurn).toBeLessThan(40);
  });

  describe('when every environment is busy', () => {
    // init takes 600 ms; an invocation sleeps event.ms
    const SLOW_INIT = `await new Promise((resolve) => setTimeout(resolve, 600));
export const handler = async (event) => { const start = Date.now(); await new Promise((resolve) => setTimeout(resolve, event.ms)); return [start, Date.now()]; };`;

    it('serves a queued invocation with the first environment to come free when that beats a cold start', async () => {
      // Prepare: one warm environment, busy for 30 ms
      const fn = make(scratch.asset('slow-init-short', SLOW_INIT));
      await fn.invoke({ ms: 0 });
      const busy = fn.invoke({ ms: 30 });
      // Act
      const queuedAt = Date.now();
      const [queuedStart] = (await fn.invoke({ ms: 0 })) as [number, number];
      await busy;
      // Assess: it ran right after the busy one, not after a 600 ms init, and none was created
      expect(queuedStart - queuedAt).toBeLessThan(400);
      expect(fn.stats.coldStarts).toBe(1);
    });

    it('creates an environment once the queue would wait longer than an init; it joins the pool warm', async () => {
      // Prepare: one warm environment, busy for 3 s
      const fn = make(scratch.asset('slow-init-long', SLOW_INIT), { timeoutSeconds: 10 });
      await fn.invoke({ ms: 0 });
      const busy = fn.invoke({ ms: 3_000 });
      // Act
      const queuedAt = Date.now();
      const [queuedStart] = (await fn.invoke({ ms: 0 })) as [number, number];
      // Assess: served by a new environment (wait ~ the running one's age passing the init time, then the init)
      expect(queuedStart - queuedAt).toBeLessThan(2_500);
      expect(fn.stats.coldStarts).toBe(2);
      await busy;
      const pair = (await Promise.all([fn.invoke({ ms: 100 }), fn.invoke({ ms: 100 })])) as [number, number][];
      expect(maxOverlap(pair)).toBe(2);
      expect(fn.stats.coldStarts).toBe(2);
    });
  });

  it('absorbs a burst of short invocations on at most two environments per core', async () => {
    // Prepare: 20 ms invocations, a concurrency limit far above the cap
    const fn = make(scratch.asset('short', `export const handler = async () => { await new Promise((resolve) => setTimeout(resolve, 20)); return 'ok'; };`), { reservedConcurrency: 50 });
    await fn.invoke({});
    // Act: 120 at once
    const results = await Promise.all(Array.from({ length: 120 }, () => fn.invoke({})));
    // Assess: all served, and no more environments than the cores can keep busy
    expect(results.every((result) => result === 'ok')).toBe(true);
    expect(fn.stats.coldStarts).toBeGreaterThan(1);
    expect(fn.stats.coldStarts).toBeLessThanOrEqual(2 * availableParallelism());
  });

  it('ends an environment still in its init at shutdown: the invocation waiting for it fails at once', async () => {
    // Prepare: an init of 5 s
    const fn = localFunction(scratch.asset('endless-init', `await new Promise((resolve) => setTimeout(resolve, 5_000)); export const handler = async () => 'late';`), { timeoutSeconds: 10 });
    const pending = fn.invoke({}).then(
      () => 'served',
      (error: Error) => error.name,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Act
    const stoppedAt = Date.now();
    await fn.shutdown();
    const outcome = await pending;
    // Assess
    expect(outcome).toBe('LambdaInvocationError');
    expect(Date.now() - stoppedAt).toBeLessThan(2_000);
  });

  it('throttles (TooManyRequestsException) an invocation that waits past maxWaitMs for a free environment', async () => {
    // Prepare
    const fn = make(behaviours, { reservedConcurrency: 1 }, 100);
    const busy = fn.invoke({ action: 'slow', ms: 500 });
    // Act
    const throttled = await fn.invoke({ action: 'echo' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    // Assess
    expect(throttled).toBeInstanceOf(LambdaThrottledError);
    expect((throttled as Error).name).toBe('TooManyRequestsException');
    expect(fn.stats.throttles).toBe(1);
    await busy;
  });

  it('replaceCode: the next invocation cold-starts on the new code; an invocation in flight finishes on the old', async () => {
    // Prepare
    const v1 = scratch.asset('v1', `export const handler = async (event) => { await new Promise((r) => setTimeout(r, event.ms ?? 0)); return 'v1'; };`);
    const v2 = scratch.asset('v2', `export const handler = async () => 'v2';`);
    const fn = make(v1);
    expect(await fn.invoke({})).toBe('v1');
    const inFlight = fn.invoke({ ms: 200 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Act
    fn.replaceCode(v2);
    const after = await fn.invoke({});
    // Assess
    expect(after).toBe('v2');
    expect(await inFlight).toBe('v1');
    expect(await fn.invoke({})).toBe('v2');
  });

  describe('init failures', () => {
    it('reports a module that throws at import as an init error, on every invocation', async () => {
      // Prepare
      const fn = make(scratch.asset('init-throws', `throw new TypeError('bad init'); export const handler = async () => 'never';`));
      // Act
      const first = await failureOf(fn.invoke({}));
      const second = await failureOf(fn.invoke({}));
      // Assess
      expect(first.errorType).toBe('Runtime.TypeError');
      expect(first.message).toContain('bad init');
      expect(second.errorType).toBe('Runtime.TypeError');
    });

    it('reports a missing handler export as an init error', async () => {
      // Prepare
      const fn = make(scratch.asset('no-export', `export const other = async () => 'x';`));
      // Act
      const error = await failureOf(fn.invoke({}));
      // Assess
      expect(error.message).toContain('does not export a function named handler');
    });

    it('fails (does not hang) when the module exits during init', async () => {
      // Prepare
      const fn = make(scratch.asset('init-exits', `process.exit(3); export const handler = async () => 'never';`));
      // Act
      const error = await failureOf(fn.invoke({}));
      // Assess
      expect(error.errorType).toBe('Runtime.ExitError');
      expect(error.message).toContain('3');
    }, 5_000);
  });
});
