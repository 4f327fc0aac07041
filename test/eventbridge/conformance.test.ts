import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stripJson5, topLevelMembers } from '../../local/eventbridge/json5.ts';
import {
  InvalidEventPatternError,
  matchesEventPattern,
  parseEventPattern,
  testEventPattern,
} from '../../local/eventbridge/pattern.ts';

/**
 * EventBridge pattern conformance: every case in the shared folder is an event, a pattern and the
 * answer real EventBridge gave to TestEventPattern (recorded by LocalStack).
 */

const CASES_DIR = path.resolve(import.meta.dirname, '../../../shared/conformance/eventbridge-patterns');

type Expected = 'MATCH' | 'NO_MATCH' | 'EXCEPTION';

interface RecordedCase {
  readonly name: string;
  readonly file: string;
  readonly expected: Expected;
  readonly event: unknown;
  readonly eventPattern: unknown;
  readonly errorMessage?: string;
}

interface ConformanceCase {
  readonly name: string;
  readonly expected: Expected;
  readonly patternText: string;
  readonly eventText: string;
  readonly errorMessage?: string;
}

const readText = (file: string): string => readFileSync(path.join(CASES_DIR, file), 'utf8');

const recorded = JSON.parse(readText('cases.json')) as RecordedCase[];
const recordedByFile = new Map(recorded.map((entry) => [entry.file, entry]));
const caseFiles = readdirSync(CASES_DIR).filter((file) => file.endsWith('.json5')).sort();

const expectedFromName = (file: string): Expected => {
  const name = file.replace(/\.json5$/, '');
  if (name.endsWith('_EXC')) return 'EXCEPTION';
  return name.endsWith('_NEG') ? 'NO_MATCH' : 'MATCH';
};

const loadCase = (file: string): ConformanceCase => {
  const members = topLevelMembers(stripJson5(readText(file)));
  const patternText = members.get('EventPattern');
  const eventText = members.get('Event');
  if (patternText === undefined || eventText === undefined) throw new Error(`${file}: no Event or EventPattern`);
  const entry = recordedByFile.get(file);
  return {
    name: file.replace(/\.json5$/, ''),
    expected: expectedFromName(file),
    patternText,
    eventText,
    ...(entry?.errorMessage === undefined ? {} : { errorMessage: entry.errorMessage }),
  };
};

const cases = caseFiles.map(loadCase);

/** Runs TestEventPattern and returns what EventBridge would have answered. */
const answer = (patternText: string, eventText: string): { result: Expected; error?: unknown } => {
  try {
    return { result: testEventPattern(patternText, eventText) ? 'MATCH' : 'NO_MATCH' };
  } catch (error) {
    return { result: 'EXCEPTION', error };
  }
};

describe('EventBridge conformance fixtures', () => {
  it('has all 155 recorded .json5 cases, each also in cases.json with the same answer and data', () => {
    expect(caseFiles).toHaveLength(155);
    expect(recorded).toHaveLength(155);
    for (const file of caseFiles) {
      const entry = recordedByFile.get(file);
      expect(entry, file).toBeDefined();
      expect(entry?.expected, file).toBe(expectedFromName(file));
      const loaded = loadCase(file);
      expect(JSON.parse(loaded.patternText), file).toEqual(entry?.eventPattern);
      expect(JSON.parse(loaded.eventText), file).toEqual(entry?.event);
    }
  });
});

describe('EventBridge TestEventPattern conformance', () => {
  it.each(cases)('$name → $expected', ({ patternText, eventText, expected, errorMessage }) => {
    const { result, error } = answer(patternText, eventText);
    if (expected === 'EXCEPTION') {
      expect(error).toBeInstanceOf(InvalidEventPatternError);
      expect((error as InvalidEventPatternError).name).toBe('InvalidEventPatternException');
      if (errorMessage !== undefined) expect((error as Error).message).toBe(errorMessage);
      return;
    }
    if (error) throw error;
    expect(result).toBe(expected);
  });

  it('complex_multi_key_event: a duplicated key in the raw pattern text keeps its last value → MATCH', () => {
    const patternText = readText('complex_multi_key_event_pattern.json');
    const eventText = readText('complex_multi_key_event.json');
    expect(testEventPattern(patternText, eventText)).toBe(true);
  });

  it('escape characters: "*" and "\\" are plain strings outside wildcard → MATCH', () => {
    const eventText = String.raw`{"id":"1","source":"test-source","detail-type":"test-detail-type","account":"123456789012","region":"us-east-2","time":"2022-07-13T13:48:01Z","detail":{"escape_star":"*","escape_backslash":"\\"}}`;
    const patternText = String.raw`{"detail":{"escape_star":["*"],"escape_backslash":["\\"]}}`;
    expect(testEventPattern(patternText, eventText)).toBe(true);
  });
});

describe('matcher on Offload patterns', () => {
  const submitted = parseEventPattern('{"source":["offload"],"detail-type":["Task Submitted"],"detail":{"class":["interactive"]}}');
  const event = (detail: Record<string, unknown>, overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    version: '0',
    id: 'c1b4f0b0-0000-4000-8000-000000000000',
    'detail-type': 'Task Submitted',
    source: 'offload',
    account: '000000000000',
    time: '2025-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail,
    ...overrides,
  });

  it('matches an interactive task submission', () => {
    expect(matchesEventPattern(submitted, event({ class: 'interactive', taskId: 't-1' }))).toBe(true);
  });

  it('rejects another class, another source, another detail-type, or a missing class', () => {
    expect(matchesEventPattern(submitted, event({ class: 'batch' }))).toBe(false);
    expect(matchesEventPattern(submitted, event({ class: 'interactive' }, { source: 'someone-else' }))).toBe(false);
    expect(matchesEventPattern(submitted, event({ class: 'interactive' }, { 'detail-type': 'Task Completed' }))).toBe(false);
    expect(matchesEventPattern(submitted, event({}))).toBe(false);
  });

  it('accepts the pattern as text too', () => {
    expect(matchesEventPattern('{"detail":{"class":["interactive","batch"]}}', event({ class: 'batch' }))).toBe(true);
  });

  it('routes terminal task states with anything-but, prefix and exists', () => {
    const terminal = parseEventPattern(
      '{"source":["offload"],"detail-type":[{"prefix":"Task "}],"detail":{"status":[{"anything-but":["queued","running"]}],"error":[{"exists":false}]}}',
    );
    expect(matchesEventPattern(terminal, event({ status: 'succeeded' }, { 'detail-type': 'Task Completed' }))).toBe(true);
    expect(matchesEventPattern(terminal, event({ status: 'running' }))).toBe(false);
    expect(matchesEventPattern(terminal, event({ status: 'failed', error: 'boom' }))).toBe(false);
  });

  it('matches numeric ranges and $or alternatives', () => {
    const slow = parseEventPattern(
      '{"source":["offload"],"detail":{"$or":[{"durationMs":[{"numeric":[">=",1000,"<",60000]}]},{"priority":[{"equals-ignore-case":"HIGH"}]}]}}',
    );
    expect(matchesEventPattern(slow, event({ durationMs: 1500 }))).toBe(true);
    expect(matchesEventPattern(slow, event({ durationMs: 60000 }))).toBe(false);
    expect(matchesEventPattern(slow, event({ durationMs: 10, priority: 'high' }))).toBe(true);
  });

  it('requires values from one array element to come from the same element', () => {
    const pattern = parseEventPattern('{"detail":{"tasks":{"class":["interactive"],"state":["failed"]}}}');
    const mixed = event({ tasks: [{ class: 'interactive', state: 'ok' }, { class: 'batch', state: 'failed' }] });
    const same = event({ tasks: [{ class: 'batch', state: 'ok' }, { class: 'interactive', state: 'failed' }] });
    expect(matchesEventPattern(pattern, mixed)).toBe(false);
    expect(matchesEventPattern(pattern, same)).toBe(true);
  });

  it('rejects invalid patterns with AWS messages', () => {
    expect(() => parseEventPattern('{"source":"offload"}')).toThrow(new InvalidEventPatternError('"source" must be an object or an array'));
    expect(() => parseEventPattern('{}')).toThrow('Event pattern is not valid. Reason: Empty objects are not allowed');
    expect(() => parseEventPattern('[]')).toThrow('Event pattern is not valid. Reason: Filter is not an object');
    expect(() => parseEventPattern('{"a":[{"numeric":[">",5,"<",5]}]}')).toThrow('Reason: Bottom must be less than top');
    expect(() => parseEventPattern('{"a":[{"numeric":["<",6e9]}]}')).toThrow('Reason: Value must be between -5.0E9 and 5.0E9, inclusive');
    expect(() => parseEventPattern('{"a":[{"numeric":["=",1.0000001]}]}')).toThrow('Reason: Only values upto 6 decimals are supported');
    expect(() => parseEventPattern('{"$or":[{"a":["x"]}]}')).toThrow('Reason: There must have at least 2 Objects in $or relationship.');
    expect(() => parseEventPattern('{"a":[{"wildcard":"a\\\\b"}]}')).toThrow('Reason: Invalid escape character at pos 2');
    expect(() => parseEventPattern('{"a":["x"]')).toThrow(InvalidEventPatternError);
  });
});
