import type { FieldReading } from './event-fields.ts';
import { ipLiteralRange } from './ip-address.ts';
import { readMatchExpression } from './match-expression.ts';
import { PatternReader } from './pattern-reader.ts';
import { exactMatcher, numericEqualsMatcher, quote, usesNumbers, type ValueMatcher } from './value-matchers.ts';
import { wildcardComplexity, type WildcardPart } from './wildcard.ts';

/** The tests on one field (dot-joined path) of a branch; the field matches if any test does. */
export interface CompiledField {
  readonly path: string;
  readonly matchers: readonly ValueMatcher[];
}

/** One alternative of a pattern (`$or` multiplies them): every field must match. Sorted by path. */
export interface CompiledBranch {
  readonly fields: readonly CompiledField[];
}

/** A validated event pattern, ready for {@link matchesEventPattern} in `pattern.ts`. */
export interface CompiledPattern {
  /** The pattern's JSON text as given. */
  readonly source: string;
  /** The alternatives; an event matches the pattern if it matches any of them. */
  readonly branches: readonly CompiledBranch[];
  /** How each path's values are read, from all the tests on that path. */
  readonly readings: ReadonlyMap<string, FieldReading>;
}

type Rule = Map<string, readonly ValueMatcher[]>;

const OR = '$or';

/** Field names that may not appear inside `$or` (EventBridge keeps them for operators). */
const RESERVED_IN_OR: ReadonlySet<string> = new Set([
  'exactly', 'equals-ignore-case', 'prefix', 'suffix', 'anything-but', 'exists', 'wildcard', 'numeric', 'cidr',
  '=', '<', '<=', '>', '>=',
  'regex', 'not-wildcard', 'not-equals-ignore-case',
  'date-after', 'date-on-or-after', 'date-before', 'date-on-or-before', 'in-date-range',
  'ip-address-in-range', 'ip-address-not-in-range',
]);

/**
 * Above this, EventBridge rejects a rule as too complex: the most wildcard-pattern states that one
 * input can keep alive at once in a field's byte machine (see `wildcardComplexity`).
 */
const MAX_WILDCARD_COMPLEXITY = 10;
const TOO_COMPLEX = 'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character';

/**
 * Validates and compiles a pattern's raw JSON text, reading it token by token the way EventBridge
 * does, so that the first problem in document order is the one reported. Keys that appear twice
 * keep their last value (a nested object's keys are merged, since each leaf has its own path).
 */
export const compilePattern = (source: string): CompiledPattern => {
  const reader = new PatternReader(source);
  if (reader.nextOrEnd()?.type !== 'START_OBJECT') reader.fail('Filter is not an object');
  const rules: Rule[] = [];
  readObject(reader, rules, [], false);
  reader.nextOrEnd(); // anything after the root object is a syntax error
  checkWildcardComplexity(reader, rules);
  return { source, branches: rules.map(toBranch), readings: fieldReadings(rules) };
};

const readObject = (reader: PatternReader, rules: Rule[], path: readonly string[], insideOr: boolean): void => {
  let empty = true;
  for (let token = reader.next(); token.type !== 'END_OBJECT'; token = reader.next()) {
    empty = false;
    const name = token.text;
    if (name === OR) {
      readOr(reader, rules, path);
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(name)) reader.fail(`${name} is Ruler reserved fieldName which cannot be used inside ${OR}.`);
    const value = reader.next();
    if (value.type === 'START_OBJECT') readObject(reader, rules, [...path, name], insideOr);
    else if (value.type === 'START_ARRAY') writeField(reader, rules, [...path, name].join('.'));
    else reader.fail(`"${name}" must be an object or an array`);
  }
  if (empty) reader.fail('Empty objects are not allowed');
};

/** `$or: [ {...}, {...}, ... ]`: every alternative gets a copy of the fields read so far. */
const readOr = (reader: PatternReader, rules: Rule[], path: readonly string[]): void => {
  const before = rules.map((rule) => new Map(rule));
  rules.length = 0;
  reader.expect('START_ARRAY', `It must be an Array followed with ${OR}.`);
  let alternatives = 0;
  for (let token = reader.next(); token.type !== 'END_ARRAY'; token = reader.next()) {
    alternatives++;
    if (token.type !== 'START_OBJECT') reader.fail(`Only JSON object is allowed in array of ${OR} relationship.`);
    const branchRules = before.length > 0 ? before.map((rule) => new Map(rule)) : [new Map()];
    readObject(reader, branchRules, path, true);
    rules.push(...branchRules);
  }
  if (alternatives < 2) reader.fail(`There must have at least 2 Objects in ${OR} relationship.`);
};

/** A field's array of values and operators; it replaces any earlier value of the same path. */
const writeField = (reader: PatternReader, rules: Rule[], path: string): void => {
  const matchers: ValueMatcher[] = [];
  for (let token = reader.next(); token.type !== 'END_ARRAY'; token = reader.next()) {
    switch (token.type) {
      case 'START_OBJECT':
        matchers.push(readMatchExpression(reader));
        break;
      case 'VALUE_STRING': {
        const range = ipLiteralRange(token.text);
        matchers.push(range ? { type: 'ip-range', range } : exactMatcher(quote(token.text)));
        break;
      }
      case 'VALUE_NUMBER':
        matchers.push(...numberMatchers(token.text));
        break;
      case 'VALUE_TRUE':
      case 'VALUE_FALSE':
      case 'VALUE_NULL':
        matchers.push(exactMatcher(token.text));
        break;
      default:
        reader.fail('Match value must be String, number, true, false, or null');
    }
  }
  if (matchers.length === 0) reader.fail('Empty arrays are not allowed');
  if (rules.length === 0) rules.push(new Map());
  for (const rule of rules) rule.set(path, matchers);
};

/** A number matches its own text, and numerically equal numbers if it is in the comparable range. */
const numberMatchers = (raw: string): ValueMatcher[] => {
  const matchers = [exactMatcher(raw)];
  try {
    matchers.unshift(numericEqualsMatcher(raw));
  } catch {
    // too large or too precise to compare numerically: only its text matches
  }
  return matchers;
};

const wildcardPatternsByPath = (rules: readonly Rule[]): Map<string, Map<string, readonly WildcardPart[]>> => {
  const byPath = new Map<string, Map<string, readonly WildcardPart[]>>();
  for (const rule of rules) {
    for (const [path, matchers] of rule) {
      for (const matcher of matchers) {
        if (matcher.type !== 'wildcard') continue;
        const patterns = byPath.get(path) ?? new Map<string, readonly WildcardPart[]>();
        patterns.set(matcher.regExp.source, matcher.parts);
        byPath.set(path, patterns);
      }
    }
  }
  return byPath;
};

const checkWildcardComplexity = (reader: PatternReader, rules: readonly Rule[]): void => {
  for (const patterns of wildcardPatternsByPath(rules).values()) {
    if (wildcardComplexity([...patterns.values()], MAX_WILDCARD_COMPLEXITY + 1) > MAX_WILDCARD_COMPLEXITY) reader.fail(TOO_COMPLEX);
  }
};

const toBranch = (rule: Rule): CompiledBranch => ({
  fields: [...rule]
    .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
    .map(([path, matchers]) => ({ path, matchers })),
});

const fieldReadings = (rules: readonly Rule[]): Map<string, FieldReading> => {
  const readings = new Map<string, FieldReading>();
  for (const rule of rules) {
    for (const [path, matchers] of rule) {
      const previous = readings.get(path) ?? { numeric: false, ip: false };
      readings.set(path, {
        numeric: previous.numeric || matchers.some(usesNumbers),
        ip: previous.ip || matchers.some((matcher) => matcher.type === 'ip-range'),
      });
    }
  }
  return readings;
};
