import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FAULT_KINDS, FaultConfigError, FaultInjector, type FaultKind } from '../../local/faults.ts';

/**
 * Fault-injection configuration as the local runtime reads it (`FaultInjector.fromEnvironment`):
 * off unless configured, from `OFFLOAD_FAULTS` (JSON) or `OFFLOAD_FAULTS_FILE`, invalid
 * configurations refused with a `FaultConfigError` naming the problem, and configured
 * probabilities firing at their rate, reproducibly from the seed.
 */

/** How many of `n` rolls of `kind` fire. */
const fired = (faults: FaultInjector, kind: FaultKind, n: number): number => {
  let count = 0;
  for (let i = 0; i < n; i++) if (faults.roll(kind)) count++;
  return count;
};
/** The outcomes of `n` rolls, as a string of 0s and 1s. */
const sequence = (faults: FaultInjector, kind: FaultKind, n: number): string => Array.from({ length: n }, () => (faults.roll(kind) ? '1' : '0')).join('');
/** The error `fromEnvironment` throws for an environment (undefined when it throws none). */
const errorFor = (env: NodeJS.ProcessEnv): unknown => {
  try {
    FaultInjector.fromEnvironment(env);
    return undefined;
  } catch (error) {
    return error;
  }
};

describe('fault configuration', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'faults-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = (text: string) => {
    const file = path.join(dir, 'faults.json');
    writeFileSync(file, text);
    return file;
  };

  describe('off by default', () => {
    it('returns no injector when neither variable is set', () => {
      // Prepare
      const env = { PATH: '/usr/bin', OFFLOAD_OTHER: '{"probabilities":{"workerKill":1}}' };
      // Act
      const faults = FaultInjector.fromEnvironment(env);
      // Assess
      expect(faults).toBeUndefined();
    });

    it('returns no injector for an empty OFFLOAD_FAULTS_FILE', () => {
      // Act
      const faults = FaultInjector.fromEnvironment({ OFFLOAD_FAULTS_FILE: '' });
      // Assess
      expect(faults).toBeUndefined();
    });

    it('reads process.env when given no environment', () => {
      // Prepare
      const saved = { json: process.env.OFFLOAD_FAULTS, file: process.env.OFFLOAD_FAULTS_FILE };
      delete process.env.OFFLOAD_FAULTS;
      delete process.env.OFFLOAD_FAULTS_FILE;
      try {
        // Act
        const off = FaultInjector.fromEnvironment();
        process.env.OFFLOAD_FAULTS = '{"probabilities":{"sqsFail":0.5}}';
        const on = FaultInjector.fromEnvironment();
        // Assess
        expect(off).toBeUndefined();
        expect(on?.config.probabilities).toEqual({ sqsFail: 0.5 });
      } finally {
        for (const [name, value] of [['OFFLOAD_FAULTS', saved.json], ['OFFLOAD_FAULTS_FILE', saved.file]] as const) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
    });
  });

  describe('reading a configuration', () => {
    it('from OFFLOAD_FAULTS JSON, with the defaults filled in', () => {
      // Prepare
      const env = { OFFLOAD_FAULTS: JSON.stringify({ probabilities: { dynamodbThrottle: 0.02, workerKill: 0.05 } }) };
      // Act
      const faults = FaultInjector.fromEnvironment(env);
      // Assess
      expect(faults).toBeInstanceOf(FaultInjector);
      expect(faults!.config).toEqual({ probabilities: { dynamodbThrottle: 0.02, workerKill: 0.05 }, seed: 1, maxKillDelayMs: 2_000 });
      expect(faults!.enabled).toBe(true);
      expect(faults!.injected).toEqual(Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])));
    });

    it('from the file OFFLOAD_FAULTS_FILE names, with its seed and kill delay', () => {
      // Prepare
      const file = configFile(JSON.stringify({ probabilities: { connections410: 0.1, webSocketDrop: 1 }, seed: 42, maxKillDelayMs: 500 }, null, 2));
      // Act
      const faults = FaultInjector.fromEnvironment({ OFFLOAD_FAULTS_FILE: file });
      // Assess
      expect(faults!.config).toEqual({ probabilities: { connections410: 0.1, webSocketDrop: 1 }, seed: 42, maxKillDelayMs: 500 });
    });

    it('prefers OFFLOAD_FAULTS over OFFLOAD_FAULTS_FILE when both are set', () => {
      // Prepare
      const file = configFile(JSON.stringify({ probabilities: { sqsFail: 1 } }));
      // Act
      const faults = FaultInjector.fromEnvironment({ OFFLOAD_FAULTS: '{"probabilities":{"sqsThrottle":0.3}}', OFFLOAD_FAULTS_FILE: file });
      // Assess
      expect(faults!.config.probabilities).toEqual({ sqsThrottle: 0.3 });
    });

    it('accepts the bounds 0 and 1 and every known kind', () => {
      // Prepare
      const probabilities = Object.fromEntries(FAULT_KINDS.map((kind, index) => [kind, index % 2 ? 1 : 0]));
      // Act
      const faults = FaultInjector.fromEnvironment({ OFFLOAD_FAULTS: JSON.stringify({ probabilities }) });
      // Assess
      expect(faults!.config.probabilities).toEqual(probabilities);
    });
  });

  describe('refusing an invalid configuration with a FaultConfigError naming the problem', () => {
    it.each([
      ['JSON that does not parse', { OFFLOAD_FAULTS: '{"probabilities": {workerKill: 0.1}}' }, /^Invalid fault configuration: OFFLOAD_FAULTS is not valid JSON: /],
      ['an empty OFFLOAD_FAULTS', { OFFLOAD_FAULTS: '' }, /^Invalid fault configuration: OFFLOAD_FAULTS is not valid JSON: /],
      ['JSON that is not an object', { OFFLOAD_FAULTS: '[0.1]' }, /^Invalid fault configuration: the configuration must be a JSON object$/],
      ['null', { OFFLOAD_FAULTS: 'null' }, /^Invalid fault configuration: the configuration must be a JSON object$/],
      ['no probabilities', { OFFLOAD_FAULTS: '{"seed":3}' }, /^Invalid fault configuration: probabilities must be an object of fault kind to probability$/],
      ['probabilities that are not an object', { OFFLOAD_FAULTS: '{"probabilities":0.5}' }, /^Invalid fault configuration: probabilities must be an object of fault kind to probability$/],
      ['an unknown fault kind', { OFFLOAD_FAULTS: '{"probabilities":{"workerKill":0.1,"diskFull":0.2}}' }, /^Invalid fault configuration: unknown fault kind diskFull$/],
      ['a probability above 1', { OFFLOAD_FAULTS: '{"probabilities":{"sqsFail":1.5}}' }, /^Invalid fault configuration: sqsFail must be a probability in \[0, 1\]$/],
      ['a negative probability', { OFFLOAD_FAULTS: '{"probabilities":{"putEventsThrottle":-0.01}}' }, /^Invalid fault configuration: putEventsThrottle must be a probability in \[0, 1\]$/],
      ['a probability given as a string', { OFFLOAD_FAULTS: '{"probabilities":{"dynamodbFail":"0.5"}}' }, /^Invalid fault configuration: dynamodbFail must be a probability in \[0, 1\]$/],
      ['a percentage instead of a probability', { OFFLOAD_FAULTS: '{"probabilities":{"workerKill":5}}' }, /^Invalid fault configuration: workerKill must be a probability in \[0, 1\]$/],
      ['an unknown option', { OFFLOAD_FAULTS: '{"probabilities":{},"seeed":3}' }, /^Invalid fault configuration: unknown option seeed$/],
      ['a fractional seed', { OFFLOAD_FAULTS: '{"probabilities":{},"seed":1.5}' }, /^Invalid fault configuration: seed must be an integer$/],
      ['a seed given as a string', { OFFLOAD_FAULTS: '{"probabilities":{},"seed":"7"}' }, /^Invalid fault configuration: seed must be an integer$/],
      ['a negative kill delay', { OFFLOAD_FAULTS: '{"probabilities":{},"maxKillDelayMs":-1}' }, /^Invalid fault configuration: maxKillDelayMs must be a non-negative number of milliseconds$/],
      ['a kill delay given as a string', { OFFLOAD_FAULTS: '{"probabilities":{},"maxKillDelayMs":"2s"}' }, /^Invalid fault configuration: maxKillDelayMs must be a non-negative number of milliseconds$/],
    ])('%s', (_name, env, message) => {
      // Act
      const error = errorFor(env);
      // Assess
      expect(error).toBeInstanceOf(FaultConfigError);
      expect((error as FaultConfigError).name).toBe('FaultConfigError');
      expect((error as FaultConfigError).message).toMatch(message);
    });

    it('the same checks apply to a file, whose parse errors name the file', () => {
      // Prepare
      const broken = configFile('{"probabilities": ');
      // Act
      const parse = errorFor({ OFFLOAD_FAULTS_FILE: broken });
      writeFileSync(broken, '{"probabilities":{"connections429":2}}');
      const range = errorFor({ OFFLOAD_FAULTS_FILE: broken });
      // Assess
      expect(parse).toBeInstanceOf(FaultConfigError);
      expect((parse as Error).message).toMatch(new RegExp(`^Invalid fault configuration: OFFLOAD_FAULTS_FILE \\(${broken.replaceAll('\\', '\\\\')}\\) is not valid JSON: `));
      expect(range).toBeInstanceOf(FaultConfigError);
      expect((range as Error).message).toBe('Invalid fault configuration: connections429 must be a probability in [0, 1]');
    });

    it('a file that cannot be read is a FaultConfigError naming the file', () => {
      // Prepare
      const missing = path.join(dir, 'no-such-faults.json');
      // Act
      const error = errorFor({ OFFLOAD_FAULTS_FILE: missing });
      // Assess
      expect(error).toBeInstanceOf(FaultConfigError);
      expect((error as Error).message).toContain(`OFFLOAD_FAULTS_FILE (${missing}) cannot be read`);
      expect((error as Error).message).toContain('ENOENT');
    });
  });

  describe('firing at the configured rate', () => {
    const N = 20_000;
    /** Four standard deviations of a binomial count: a correct rate essentially never falls outside. */
    const tolerance = (p: number) => 4 * Math.sqrt(N * p * (1 - p));

    it.each([
      [0.05, undefined],
      [0.1, 42],
      [0.5, -7],
      [0.9, 123_456_789],
    ])('a probability of %s (seed %s) fires at about that rate, and counts what fired', (probability, seed) => {
      // Prepare
      const faults = FaultInjector.fromEnvironment({ OFFLOAD_FAULTS: JSON.stringify({ probabilities: { dynamodbThrottle: probability }, ...(seed === undefined ? {} : { seed }) }) })!;
      // Act
      const count = fired(faults, 'dynamodbThrottle', N);
      // Assess
      expect(Math.abs(count - N * probability)).toBeLessThan(tolerance(probability));
      expect(faults.injected.dynamodbThrottle).toBe(count);
      expect(Object.values(faults.injected).reduce((sum, value) => sum + value, 0)).toBe(count);
    });

    it('probability 0, an unconfigured kind, and a disabled injector never fire; probability 1 always does', () => {
      // Prepare
      const faults = FaultInjector.fromEnvironment({ OFFLOAD_FAULTS: '{"probabilities":{"sqsFail":0,"sqsThrottle":1}}' })!;
      // Act
      const zero = fired(faults, 'sqsFail', 1_000);
      const unconfigured = fired(faults, 'workerKill', 1_000);
      const one = fired(faults, 'sqsThrottle', 1_000);
      faults.enabled = false;
      const disabled = fired(faults, 'sqsThrottle', 1_000);
      // Assess
      expect([zero, unconfigured, one, disabled]).toEqual([0, 0, 1_000, 0]);
      expect(faults.injected).toMatchObject({ sqsFail: 0, workerKill: 0, sqsThrottle: 1_000 });
    });

    it('the seed makes a run reproducible: the same seed (from env or file) gives the same sequence, another seed another', () => {
      // Prepare
      const config = { probabilities: { workerKill: 0.2 }, seed: 99 };
      const fromEnv = FaultInjector.fromEnvironment({ OFFLOAD_FAULTS: JSON.stringify(config) })!;
      const fromFile = FaultInjector.fromEnvironment({ OFFLOAD_FAULTS_FILE: configFile(JSON.stringify(config)) })!;
      const otherSeed = FaultInjector.fromEnvironment({ OFFLOAD_FAULTS: JSON.stringify({ ...config, seed: 100 }) })!;
      const defaultSeed = FaultInjector.fromEnvironment({ OFFLOAD_FAULTS: JSON.stringify({ probabilities: config.probabilities }) })!;
      const seedOne = FaultInjector.fromEnvironment({ OFFLOAD_FAULTS: JSON.stringify({ ...config, seed: 1 }) })!;
      // Act
      const [a, b, c, d, e] = [fromEnv, fromFile, otherSeed, defaultSeed, seedOne].map((faults) => sequence(faults, 'workerKill', 500));
      // Assess
      expect(a).toBe(b);
      expect(c).not.toBe(a);
      expect(d).toBe(e); // the default seed is 1
      expect(a).toContain('1');
    });

    it('kill delays fall in [0, maxKillDelayMs) and spread over the range', () => {
      // Prepare
      const faults = FaultInjector.fromEnvironment({ OFFLOAD_FAULTS: '{"probabilities":{"workerKill":1},"maxKillDelayMs":1000,"seed":5}' })!;
      // Act
      const delays = Array.from({ length: 2_000 }, () => faults.killDelayMs());
      // Assess
      expect(delays.every((delay) => Number.isInteger(delay) && delay >= 0 && delay < 1_000)).toBe(true);
      expect(Math.min(...delays)).toBeLessThan(50);
      expect(Math.max(...delays)).toBeGreaterThan(950);
    });
  });
});
