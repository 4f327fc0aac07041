import { PatternValueError } from './pattern-errors.ts';

/**
 * IP addresses the way EventBridge reads them: a text that looks like an IPv4 or IPv6 literal is
 * turned into its upper-case hex bytes (8 digits for IPv4, 32 for IPv6; an IPv4-mapped IPv6
 * address counts as IPv4), and a CIDR block becomes an inclusive range of such hex strings.
 */

const IPV4_SHAPE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6_SHAPE = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;
const MAX_INT32 = 2 ** 31 - 1;

/** An inclusive range of IP addresses as hex strings of equal length. */
export interface IpRange {
  readonly bottom: string;
  readonly top: string;
}

const looksLikeIp = (text: string): boolean => IPV4_SHAPE.test(text) || IPV6_SHAPE.test(text);

const parseIpv4 = (text: string): number[] | undefined => {
  const parts = text.split('.');
  const bytes = parts.map((part) => (part.length > 1 && part.startsWith('0') ? Number.NaN : Number(part)));
  return bytes.every((byte) => Number.isInteger(byte) && byte <= 255) ? bytes : undefined;
};

const parseIpv6Groups = (text: string): number[] | undefined => {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')));
  if (groups.some((list) => list.some((group) => !/^[0-9a-fA-F]{1,4}$/.test(group)))) return undefined;
  const [head = [], tail = []] = groups;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const zeros = halves.length === 2 ? Array<string>(missing).fill('0') : [];
  return [...head, ...zeros, ...tail].map((group) => Number.parseInt(group, 16));
};

const parseIpv6 = (text: string): number[] | undefined => {
  const groups = parseIpv6Groups(text);
  if (!groups) return undefined;
  const bytes = groups.flatMap((group) => [group >> 8, group & 0xff]);
  const ipv4Mapped = bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return ipv4Mapped ? bytes.slice(12) : bytes;
};

/** The address bytes, or a {@link PatternValueError} with AWS's reason. */
const ipBytes = (text: string): number[] => {
  if (!looksLikeIp(text)) throw new PatternValueError(`Nonstandard IP address: ${text}`);
  const bytes = IPV4_SHAPE.test(text) ? parseIpv4(text) : parseIpv6(text);
  if (!bytes) throw new PatternValueError(`Invalid IP address: ${text}`);
  return bytes;
};

const toHex = (bytes: readonly number[]): string => bytes.map((byte) => byte.toString(16).toUpperCase().padStart(2, '0')).join('');

/** The hex form of an IP address literal, or `undefined` if `text` is not one. */
export const ipToHexIfPossible = (text: string): string | undefined => {
  if (!looksLikeIp(text)) return undefined;
  try {
    return toHex(ipBytes(text));
  } catch {
    return undefined;
  }
};

/** A one-address range for a pattern string that is an IP literal (EventBridge matches it as an address). */
export const ipLiteralRange = (text: string): IpRange | undefined => {
  const hex = ipToHexIfPossible(text);
  return hex === undefined ? undefined : { bottom: hex, top: hex };
};

/** Java's `String.split("/")`: trailing empty strings are dropped. */
const splitOnSlash = (text: string): string[] => {
  const parts = text.split('/');
  while (parts.length > 0 && parts.at(-1) === '') parts.pop();
  return parts;
};

const parseMaskBits = (text: string): number => {
  const bits = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(bits) || Math.abs(bits) > MAX_INT32) throw new PatternValueError('Malformed CIDR, mask bits must be an integer');
  if (bits < 0) throw new PatternValueError('Malformed CIDR, mask bits must not be negative');
  return bits;
};

/**
 * The range a `cidr` pattern covers. As in EventBridge, the bottom is the address as written (host
 * bits are not cleared) and the top is that address with every host bit set. Throws
 * {@link PatternValueError} with AWS's reason for a malformed block.
 */
export const cidrRange = (cidr: string): IpRange => {
  const parts = splitOnSlash(cidr);
  if (parts.length !== 2) throw new PatternValueError("Malformed CIDR, one '/' required");
  const [address = '', maskText = ''] = parts;
  const maskBits = parseMaskBits(maskText);
  const bytes = ipBytes(address);
  if (bytes.length === 4 && maskBits > 31) throw new PatternValueError('IPv4 mask bits must be < 32');
  if (bytes.length === 16 && maskBits > 127) throw new PatternValueError('IPv6 mask bits must be < 128');
  let hostBits = bytes.length * 8 - maskBits;
  const top = [...bytes];
  for (let index = top.length - 1; index >= 0 && hostBits > 0; index--, hostBits -= 8) {
    top[index] = (top[index] ?? 0) | (hostBits >= 8 ? 0xff : (1 << hostBits) - 1);
  }
  return { bottom: toHex(bytes), top: toHex(top) };
};

/** True when `hex` (an event value turned into hex) falls inside `range`. */
export const ipRangeContains = (range: IpRange, hex: string): boolean =>
  hex.length === range.bottom.length && /^[0-9A-F]+$/.test(hex) && hex >= range.bottom && hex <= range.top;
