import { isComparableForm, patternComparable } from './comparable-number.ts';
import { ipRangeContains, type IpRange } from './ip-address.ts';
import { wildcardRegExp, type WildcardPart } from './wildcard.ts';

/**
 * The value tests an event pattern can put on one field. Each one looks at the field's value in
 * EventBridge's own "token" form: a string is quoted (`"text"`), numbers, `true`, `false` and `null`
 * are their JSON text, and on fields that use numeric or IP tests a number or IP address is first
 * rewritten to its comparable hex form (see {@link eventToken} in `event-fields.ts`).
 *
 * Working on quoted tokens is what makes `prefix`, `suffix`, `wildcard` and `equals-ignore-case` match
 * strings only, and makes every `anything-but` match numbers, booleans and `null` unless told otherwise.
 */
export type ValueMatcher =
  | { readonly type: 'exact'; readonly token: string }
  | { readonly type: 'numeric-equals'; readonly comparable: string }
  | { readonly type: 'numeric-range'; readonly bottom: string; readonly openBottom: boolean; readonly top: string; readonly openTop: boolean }
  | { readonly type: 'ip-range'; readonly range: IpRange }
  | { readonly type: 'prefix'; readonly token: string }
  | { readonly type: 'suffix'; readonly token: string }
  | { readonly type: 'ignore-case'; readonly regExp: RegExp }
  | { readonly type: 'wildcard'; readonly parts: readonly WildcardPart[]; readonly regExp: RegExp }
  | { readonly type: 'exists' }
  | { readonly type: 'absent' }
  | { readonly type: 'anything-but'; readonly tokens: ReadonlySet<string>; readonly numeric: boolean }
  | { readonly type: 'anything-but-ignore-case'; readonly regExps: readonly RegExp[] }
  | { readonly type: 'anything-but-prefix'; readonly tokens: readonly string[] }
  | { readonly type: 'anything-but-suffix'; readonly tokens: readonly string[] }
  | { readonly type: 'anything-but-wildcard'; readonly regExps: readonly RegExp[] };

/** The quoted token of a pattern or event string. */
export const quote = (text: string): string => `"${text}"`;

const escapeRegExp = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

/** One code point and its upper- and lower-case forms, as a regular-expression alternative. */
const caseVariants = (char: string): string => {
  const variants = [...new Set([char, char.toLowerCase(), char.toUpperCase()])].map(escapeRegExp);
  return variants.length === 1 ? (variants[0] ?? '') : `(?:${variants.join('|')})`;
};

/** A case-insensitive test for `token`, anchored at the start, the end, or both. */
const ignoreCaseRegExp = (token: string, anchor: 'whole' | 'start' | 'end'): RegExp => {
  const body = [...token].map(caseVariants).join('');
  return new RegExp(`${anchor === 'end' ? '' : '^'}${body}${anchor === 'start' ? '' : '$'}`, 'u');
};

/** `exact`, a plain value in a pattern array: a string or the text of a number, `true`, `false`, `null`. */
export const exactMatcher = (token: string): ValueMatcher => ({ type: 'exact', token });

/** The numeric-equality test EventBridge adds beside a number's exact text (or via `numeric: ["=", n]`). */
export const numericEqualsMatcher = (raw: string): ValueMatcher => ({ type: 'numeric-equals', comparable: patternComparable(raw) });

/** `prefix`, optionally `equals-ignore-case`. */
export const prefixMatcher = (prefix: string, ignoreCase = false): ValueMatcher =>
  ignoreCase ? { type: 'ignore-case', regExp: ignoreCaseRegExp(`"${prefix}`, 'start') } : { type: 'prefix', token: `"${prefix}` };

/** `suffix`, optionally `equals-ignore-case`. */
export const suffixMatcher = (suffix: string, ignoreCase = false): ValueMatcher =>
  ignoreCase ? { type: 'ignore-case', regExp: ignoreCaseRegExp(`${suffix}"`, 'end') } : { type: 'suffix', token: `${suffix}"` };

/** `equals-ignore-case`. */
export const equalsIgnoreCaseMatcher = (text: string): ValueMatcher => ({ type: 'ignore-case', regExp: ignoreCaseRegExp(quote(text), 'whole') });

/** `wildcard` (the parts come from `parseWildcard`, which validated the pattern). */
export const wildcardMatcher = (parts: readonly WildcardPart[]): ValueMatcher => ({ type: 'wildcard', parts, regExp: wildcardRegExp(parts) });

/** `anything-but` with a set of string values or comparable numbers. */
export const anythingButMatcher = (tokens: ReadonlySet<string>, numeric: boolean): ValueMatcher => ({ type: 'anything-but', tokens, numeric });

/** The `anything-but` forms that take an operator: `equals-ignore-case`, `prefix`, `suffix` or `wildcard`. */
export const anythingButOperatorMatcher = (
  operator: 'equals-ignore-case' | 'prefix' | 'suffix' | 'wildcard',
  values: readonly string[],
  wildcardParts: readonly (readonly WildcardPart[])[] = [],
): ValueMatcher => {
  switch (operator) {
    case 'equals-ignore-case':
      return { type: 'anything-but-ignore-case', regExps: values.map((value) => ignoreCaseRegExp(quote(value), 'whole')) };
    case 'prefix':
      return { type: 'anything-but-prefix', tokens: values.map((value) => `"${value}`) };
    case 'suffix':
      return { type: 'anything-but-suffix', tokens: values.map((value) => `${value}"`) };
    case 'wildcard':
      return { type: 'anything-but-wildcard', regExps: wildcardParts.map(wildcardRegExp) };
  }
};

const unquote = (token: string): string | undefined => (token.length >= 2 && token.startsWith('"') && token.endsWith('"') ? token.slice(1, -1) : undefined);

const inNumericRange = (matcher: Extract<ValueMatcher, { type: 'numeric-range' }>, token: string): boolean =>
  isComparableForm(token) &&
  (matcher.openBottom ? token > matcher.bottom : token >= matcher.bottom) &&
  (matcher.openTop ? token < matcher.top : token <= matcher.top);

const wildcardAccepts = (regExp: RegExp, token: string): boolean => {
  const text = unquote(token);
  return text !== undefined && regExp.test(text);
};

/** True when `matcher` accepts the event value whose token is `token`. (`absent` never accepts a value.) */
export const acceptsToken = (matcher: ValueMatcher, token: string): boolean => {
  switch (matcher.type) {
    case 'exact':
      return token === matcher.token;
    case 'numeric-equals':
      return token === matcher.comparable;
    case 'numeric-range':
      return inNumericRange(matcher, token);
    case 'ip-range':
      return ipRangeContains(matcher.range, token);
    case 'prefix':
      return token.startsWith(matcher.token);
    case 'suffix':
      return token.endsWith(matcher.token);
    case 'ignore-case':
      return matcher.regExp.test(token);
    case 'wildcard':
      return wildcardAccepts(matcher.regExp, token);
    case 'exists':
      return true;
    case 'absent':
      return false;
    case 'anything-but':
      return !matcher.tokens.has(token);
    case 'anything-but-ignore-case':
      return !matcher.regExps.some((regExp) => regExp.test(token));
    case 'anything-but-prefix':
      return !matcher.tokens.some((prefix) => token.startsWith(prefix));
    case 'anything-but-suffix':
      return !matcher.tokens.some((suffix) => token.endsWith(suffix));
    case 'anything-but-wildcard':
      return !matcher.regExps.some((regExp) => wildcardAccepts(regExp, token));
  }
};

/** True for tests that make EventBridge compare a field's numbers in comparable form. */
export const usesNumbers = (matcher: ValueMatcher): boolean =>
  matcher.type === 'numeric-equals' || matcher.type === 'numeric-range' || (matcher.type === 'anything-but' && matcher.numeric);
