import { MAX_COMPARABLE, MIN_COMPARABLE, patternComparable } from './comparable-number.ts';
import { cidrRange } from './ip-address.ts';
import { PatternValueError } from './pattern-errors.ts';
import type { PatternReader } from './pattern-reader.ts';
import type { JsonToken } from './json-tokenizer.ts';
import {
  anythingButMatcher,
  anythingButOperatorMatcher,
  equalsIgnoreCaseMatcher,
  exactMatcher,
  numericEqualsMatcher,
  prefixMatcher,
  quote,
  suffixMatcher,
  wildcardMatcher,
  type ValueMatcher,
} from './value-matchers.ts';
import { parseWildcard, type WildcardPart } from './wildcard.ts';

/**
 * Reads one operator object of a pattern (`{"prefix": "a"}`, `{"numeric": [">", 0]}`, ...), the
 * opening brace already read, checking it in the same order and with the same reasons as
 * EventBridge.
 */
export const readMatchExpression = (reader: PatternReader): ValueMatcher => {
  const name = reader.expect('FIELD_NAME', 'Match expression name not found').text;
  switch (name) {
    case 'exactly':
      return readStringOperator(reader, 'exact match pattern must be a string', (text) => exactMatcher(quote(text)));
    case 'prefix':
      return readAffix(reader, 'prefix');
    case 'suffix':
      return readAffix(reader, 'suffix');
    case 'equals-ignore-case':
      return readStringOperator(reader, 'equals-ignore-case match pattern must be a string', equalsIgnoreCaseMatcher);
    case 'wildcard':
      return readStringOperator(reader, 'wildcard match pattern must be a string', (text) => wildcardMatcher(reader.guard(() => parseWildcard(text))));
    case 'cidr':
      return readStringOperator(reader, 'prefix match pattern must be a string', (text) => ({ type: 'ip-range', range: reader.guard(() => cidrRange(text)) }));
    case 'exists':
      return readExists(reader);
    case 'numeric':
      return readNumeric(reader);
    case 'anything-but':
      return readAnythingBut(reader);
    default:
      return reader.fail(`Unrecognized match type ${name}`);
  }
};

const ONE_KEY = 'Only one key allowed in match expression';
const TOO_MANY_NUMERIC = 'Too many elements in numeric expression';

const expectObjectEnd = (reader: PatternReader, reason: string): void => {
  if (reader.next().type !== 'END_OBJECT') reader.fail(reason);
};

/** `{"<operator>": "<string>"}`. */
const readStringOperator = (reader: PatternReader, typeReason: string, build: (text: string) => ValueMatcher): ValueMatcher => {
  const text = reader.expect('VALUE_STRING', typeReason).text;
  const matcher = build(text);
  expectObjectEnd(reader, ONE_KEY);
  return matcher;
};

/** `prefix` / `suffix`, either a string or `{"equals-ignore-case": "<string>"}`. */
const readAffix = (reader: PatternReader, kind: 'prefix' | 'suffix'): ValueMatcher => {
  const token = reader.next();
  const build = kind === 'prefix' ? prefixMatcher : suffixMatcher;
  if (token.type === 'START_OBJECT') return readAffixIgnoreCase(reader, kind, build);
  if (token.type !== 'VALUE_STRING') reader.fail(`${kind} match pattern must be a string`);
  const matcher = build(token.text);
  expectObjectEnd(reader, ONE_KEY);
  return matcher;
};

const readAffixIgnoreCase = (
  reader: PatternReader,
  kind: 'prefix' | 'suffix',
  build: (text: string, ignoreCase: boolean) => ValueMatcher,
): ValueMatcher => {
  const Kind = kind === 'prefix' ? 'Prefix' : 'Suffix';
  const operator = reader.expect('FIELD_NAME', `${Kind} expression name not found`).text;
  if (operator !== 'equals-ignore-case') reader.fail(`Unsupported ${kind} pattern: ${operator}`);
  const text = reader.expect('VALUE_STRING', 'equals-ignore-case match pattern must be a string').text;
  const matcher = build(text, true);
  expectObjectEnd(reader, ONE_KEY);
  expectObjectEnd(reader, ONE_KEY);
  return matcher;
};

const readExists = (reader: PatternReader): ValueMatcher => {
  const token = reader.next();
  if (token.type !== 'VALUE_TRUE' && token.type !== 'VALUE_FALSE') reader.fail('exists match pattern must be either true or false.');
  expectObjectEnd(reader, ONE_KEY);
  return { type: token.type === 'VALUE_TRUE' ? 'exists' : 'absent' };
};

// ----------------------------------------------------------------------------------------------
// numeric

const readNumeric = (reader: PatternReader): ValueMatcher => {
  reader.expect('START_ARRAY', 'Value of numeric must be an array.');
  const matcher = readNumericTerms(reader);
  expectObjectEnd(reader, TOO_MANY_NUMERIC);
  return matcher;
};

const expectNumber = (reader: PatternReader, token: JsonToken, operator: string): string => {
  if (token.type !== 'VALUE_NUMBER') reader.fail(`Value of ${operator} must be numeric`);
  return token.text;
};

const expectArrayEnd = (reader: PatternReader, reason: string): void => {
  if (reader.next().type !== 'END_ARRAY') reader.fail(reason);
};

const range = (bottom: string, openBottom: boolean, top: string, openTop: boolean): ValueMatcher => ({
  type: 'numeric-range',
  bottom,
  openBottom,
  top,
  openTop,
});

/** The terms of `numeric`: `[op, n]` or `[">"|">=", n, "<"|"<=", m]`. */
const readNumericTerms = (reader: PatternReader): ValueMatcher => {
  const first = reader.next();
  if (first.type !== 'VALUE_STRING') reader.fail(`Invalid member in numeric match: ${first.text}`);
  const operator = first.text;
  const value = reader.next();
  switch (operator) {
    case '=': {
      const number = expectNumber(reader, value, 'equals');
      expectArrayEnd(reader, TOO_MANY_NUMERIC);
      return reader.guard(() => numericEqualsMatcher(number));
    }
    case '>':
    case '>=': {
      const bottom = expectNumber(reader, value, operator);
      const next = reader.next();
      if (next.type === 'END_ARRAY') return reader.guard(() => range(patternComparable(bottom), operator === '>', MAX_COMPARABLE, false));
      return readUpperBound(reader, next, bottom, operator === '>');
    }
    case '<':
    case '<=': {
      const top = expectNumber(reader, value, operator);
      expectArrayEnd(reader, TOO_MANY_NUMERIC);
      return reader.guard(() => range(MIN_COMPARABLE, false, patternComparable(top), operator === '<'));
    }
    default:
      return reader.fail(`Unrecognized numeric range operator: ${operator}`);
  }
};

const readUpperBound = (reader: PatternReader, token: JsonToken, bottom: string, openBottom: boolean): ValueMatcher => {
  if (token.type !== 'VALUE_STRING') reader.fail(`Bad value in numeric range: ${token.text}`);
  const operator = token.text;
  if (operator !== '<' && operator !== '<=') reader.fail(`Bad numeric range operator: ${operator}`);
  const top = expectNumber(reader, reader.next(), operator);
  expectArrayEnd(reader, 'Too many terms in numeric range expression');
  return reader.guard(() => {
    const low = patternComparable(bottom);
    const high = patternComparable(top);
    if (low >= high) throw new PatternValueError('Bottom must be less than top');
    return range(low, openBottom, high, operator === '<');
  });
};

// ----------------------------------------------------------------------------------------------
// anything-but

type AnythingButOperator = 'equals-ignore-case' | 'prefix' | 'suffix' | 'wildcard';

const ANYTHING_BUT_OPERATORS: ReadonlySet<string> = new Set<AnythingButOperator>(['equals-ignore-case', 'prefix', 'suffix', 'wildcard']);

const readAnythingBut = (reader: PatternReader): ValueMatcher => {
  let token = reader.next();
  let operator: AnythingButOperator | undefined;
  if (token.type === 'START_OBJECT') {
    const name = reader.expect('FIELD_NAME', 'Anything-But expression name not found').text;
    if (!ANYTHING_BUT_OPERATORS.has(name)) reader.fail(`Unsupported anything-but pattern: ${name}`);
    operator = name as AnythingButOperator;
    token = reader.next();
  }
  if (token.type !== 'START_ARRAY' && token.type !== 'VALUE_STRING' && token.type !== 'VALUE_NUMBER') {
    reader.fail('Value of anything-but must be an array or single string/number value.');
  }
  const matcher = operator ? readAnythingButOperator(reader, token, operator) : readAnythingButValues(reader, token);
  expectObjectEnd(reader, TOO_MANY_NUMERIC);
  if (operator) expectObjectEnd(reader, TOO_MANY_NUMERIC);
  return matcher;
};

/** `anything-but` a string, a number, or a list of only strings or only numbers. */
const readAnythingButValues = (reader: PatternReader, token: JsonToken): ValueMatcher => {
  if (token.type === 'VALUE_STRING') return anythingButMatcher(new Set([quote(token.text)]), false);
  if (token.type === 'VALUE_NUMBER') return anythingButMatcher(new Set([reader.guard(() => patternComparable(token.text))]), true);
  const tokens = new Set<string>();
  let strings = false;
  let numbers = false;
  for (let item = reader.next(); item.type !== 'END_ARRAY'; item = reader.next()) {
    if (item.type === 'VALUE_STRING') {
      tokens.add(quote(item.text));
      strings = true;
    } else if (item.type === 'VALUE_NUMBER') {
      const text = item.text;
      tokens.add(reader.guard(() => patternComparable(text)));
      numbers = true;
    } else {
      reader.fail('Inside anything but list, start|null|boolean is not supported.');
    }
  }
  if (strings === numbers) reader.fail('Inside anything but list, either all values are number or string, mixed type is not supported');
  return anythingButMatcher(tokens, numbers);
};

const operatorTypeReason = (operator: AnythingButOperator): string => {
  if (operator === 'equals-ignore-case') return 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.';
  return operator === 'wildcard' ? 'wildcard match pattern must be a string' : 'prefix/suffix match pattern must be a string';
};

/** One value of `anything-but: {<operator>: ...}`. */
const operatorValue = (reader: PatternReader, token: JsonToken, operator: AnythingButOperator): string => {
  if (token.type !== 'VALUE_STRING') reader.fail(operatorTypeReason(operator));
  if ((operator === 'prefix' || operator === 'suffix') && token.text === '') reader.fail('Null prefix/suffix not allowed');
  return token.text;
};

/** `anything-but: {<operator>: <string> | [<string>, ...]}`. */
const readAnythingButOperator = (reader: PatternReader, token: JsonToken, operator: AnythingButOperator): ValueMatcher => {
  const values: string[] = [];
  if (token.type === 'START_ARRAY') {
    for (let item = reader.next(); item.type !== 'END_ARRAY'; item = reader.next()) values.push(operatorValue(reader, item, operator));
  } else {
    values.push(operatorValue(reader, token, operator));
  }
  const unique = [...new Set(values)];
  const wildcards: WildcardPart[][] = operator === 'wildcard' ? unique.map((value) => reader.guard(() => parseWildcard(value))) : [];
  return anythingButOperatorMatcher(operator, unique, wildcards);
};
