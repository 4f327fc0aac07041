import { PatternValueError } from './pattern-errors.ts';

/**
 * EventBridge's numeric domain: numbers from -5.0e9 to +5.0e9 inclusive, to six decimal places.
 * A number in that domain is written as a 14-digit upper-case hex string of
 * `(value + 5e9) * 1e6`, so comparing two such strings compares the numbers.
 */

const MICROS_PER_UNIT = 1_000_000;
const MAX_DECIMALS = 6;
const FIVE_BILLION = 5e9;
const OFFSET_MICROS = 5_000_000_000_000_000n;
const HEX_LENGTH = 14;
const JSON_NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** The comparable form of -5.0e9, the bottom of every `<`/`<=` range. */
export const MIN_COMPARABLE = toHex(-OFFSET_MICROS);
/** The comparable form of +5.0e9, the top of every `>`/`>=` range. */
export const MAX_COMPARABLE = toHex(OFFSET_MICROS);

function toHex(micros: bigint): string {
  return (micros + OFFSET_MICROS).toString(16).toUpperCase().padStart(HEX_LENGTH, '0');
}

/**
 * The comparable form of a number written in a pattern. Throws {@link PatternValueError} with AWS's
 * reason when it has more than six decimals or lies outside ±5.0e9.
 */
export const patternComparable = (raw: string): string => {
  const match = JSON_NUMBER.exec(raw);
  if (!match) throw new PatternValueError(`Value of numeric must be a number: ${raw}`);
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  let digits = (whole + fraction).replace(/^0+(?=\d)/, '');
  let scale = fraction.length - Number(exponent);
  while (digits.length > 1 && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    scale--;
  }
  if (/^0+$/.test(digits)) return toHex(0n);
  if (scale > MAX_DECIMALS) throw new PatternValueError('Only values upto 6 decimals are supported');
  if (digits.length - scale > 11) throw outOfRange();
  const micros = BigInt(sign + digits) * 10n ** BigInt(MAX_DECIMALS - scale);
  if (micros > OFFSET_MICROS || micros < -OFFSET_MICROS) throw outOfRange();
  return toHex(micros);
};

const outOfRange = (): PatternValueError =>
  new PatternValueError(`Value must be between ${formatJavaDouble(-FIVE_BILLION)} and ${formatJavaDouble(FIVE_BILLION)}, inclusive`);

/** Java's `Double.toString` for ±5e9, which AWS prints in its range message. */
const formatJavaDouble = (value: number): string => `${value < 0 ? '-' : ''}5.0E9`;

/**
 * The comparable form of a number found in an event, or `undefined` when it lies outside ±5.0e9
 * (EventBridge then only compares its text). Extra decimals are rounded to the nearest millionth.
 */
export const eventComparable = (raw: string): string | undefined => {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < -FIVE_BILLION || value > FIVE_BILLION) return undefined;
  return toHex(BigInt(Math.round(value * MICROS_PER_UNIT)));
};

/** True when `text` looks like a comparable number (14 hex digits). */
export const isComparableForm = (text: string): boolean => text.length === HEX_LENGTH && /^[0-9A-F]+$/.test(text);
