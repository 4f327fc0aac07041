import { BlockList, isIP } from 'node:net';

/** Why an address is refused as a webhook destination. */
export type RefusedKind = 'unspecified' | 'loopback' | 'private' | 'shared (CGNAT)' | 'link-local' | 'unique-local' | 'multicast' | 'broadcast' | 'reserved';

/** A refused address: the kind and the range it falls in. */
export interface RefusedRange {
  readonly kind: RefusedKind;
  /** The range in CIDR notation, prefixed with how an embedding IPv6 range wrapped it (`NAT64 of 127.0.0.0/8`). */
  readonly range: string;
}

type Range = readonly [kind: RefusedKind, cidr: string];

/**
 * IPv4 ranges that are not globally reachable (IANA IPv4 Special-Purpose Address Registry), in
 * the order they are checked (the broadcast address before the reserved block that holds it).
 */
export const REFUSED_IPV4: readonly Range[] = [
  ['unspecified', '0.0.0.0/8'],
  ['private', '10.0.0.0/8'],
  ['shared (CGNAT)', '100.64.0.0/10'],
  ['loopback', '127.0.0.0/8'],
  ['link-local', '169.254.0.0/16'],
  ['private', '172.16.0.0/12'],
  ['reserved', '192.0.0.0/24'],
  ['reserved', '192.0.2.0/24'],
  ['reserved', '192.88.99.0/24'],
  ['private', '192.168.0.0/16'],
  ['reserved', '198.18.0.0/15'],
  ['reserved', '198.51.100.0/24'],
  ['reserved', '203.0.113.0/24'],
  ['multicast', '224.0.0.0/4'],
  ['broadcast', '255.255.255.255/32'],
  ['reserved', '240.0.0.0/4'],
] as const;

/**
 * IPv6 ranges that are not globally reachable (IANA IPv6 Special-Purpose Address Registry, plus
 * deprecated site-local and 6to4). IPv4-mapped (`::ffff:0:0/96`) and NAT64 (`64:ff9b::/96`)
 * addresses are judged by the IPv4 address they carry; IPv4-compatible (`::/96`) ones are refused.
 */
export const REFUSED_IPV6: readonly Range[] = [
  ['unspecified', '::/128'],
  ['loopback', '::1/128'],
  ['reserved', '::/96'],
  ['reserved', '64:ff9b:1::/48'],
  ['reserved', '100::/64'],
  ['reserved', '2001::/23'],
  ['reserved', '2001:db8::/32'],
  ['reserved', '2002::/16'],
  ['reserved', '3fff::/20'],
  ['reserved', '5f00::/16'],
  ['unique-local', 'fc00::/7'],
  ['link-local', 'fe80::/10'],
  ['reserved', 'fec0::/10'],
  ['multicast', 'ff00::/8'],
] as const;

const compile = (ranges: readonly Range[], family: 'ipv4' | 'ipv6') =>
  ranges.map(([kind, cidr]) => {
    const [network, prefix] = cidr.split('/') as [string, string];
    const list = new BlockList();
    list.addSubnet(network, Number(prefix), family);
    return { kind, cidr, list };
  });

const IPV4 = compile(REFUSED_IPV4, 'ipv4');
const IPV6 = compile(REFUSED_IPV6, 'ipv6');

/** The eight 16-bit groups of an IPv6 address (a trailing dotted quad included). */
const groupsOf = (address: string): number[] => {
  let text = address.toLowerCase();
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const first = head ? head.split(':') : [];
  const last = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array.from({ length: 8 - first.length - last.length }, () => '0');
  return [...first, ...fill, ...last].map((group) => Number.parseInt(group, 16));
};

/** The IPv4 address an IPv4-mapped or NAT64 (well-known prefix) IPv6 address carries, and which it is. */
const embeddedIPv4 = (address: string): { via: string; ipv4: string } | undefined => {
  const groups = groupsOf(address);
  const tail = `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) return { via: 'IPv4-mapped', ipv4: tail };
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((group) => group === 0)) return { via: 'NAT64', ipv4: tail };
  return undefined;
};

/** An address without URL brackets or an IPv6 zone (`fe80::1%eth0`). */
const plain = (address: string): string => address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');

/**
 * Why an IP address may not receive webhooks, or `undefined` if it is globally reachable.
 * Anything that is not an IP address is refused as `reserved`.
 *
 * @example
 * ```ts
 * refusedRange('169.254.169.254'); // { kind: 'link-local', range: '169.254.0.0/16' }
 * refusedRange('::ffff:7f00:1');   // { kind: 'loopback', range: 'IPv4-mapped 127.0.0.0/8' }
 * refusedRange('93.184.216.34');   // undefined
 * ```
 */
export const refusedRange = (address: string): RefusedRange | undefined => {
  const ip = plain(address);
  const family = isIP(ip);
  if (family === 4) {
    const hit = IPV4.find((range) => range.list.check(ip, 'ipv4'));
    return hit ? { kind: hit.kind, range: hit.cidr } : undefined;
  }
  if (family !== 6) return { kind: 'reserved', range: 'not an IP address' };
  const embedded = embeddedIPv4(ip);
  if (embedded) {
    const inner = refusedRange(embedded.ipv4);
    return inner ? { kind: inner.kind, range: `${embedded.via} ${inner.range}` } : undefined;
  }
  const hit = IPV6.find((range) => range.list.check(ip, 'ipv6'));
  return hit ? { kind: hit.kind, range: hit.cidr } : undefined;
};

/**
 * Whether an address is loopback as such: `127.0.0.0/8` or `::1`, never an IPv4-mapped, NAT64 or
 * other wrapped form (the local runtime's escape hatch allows exactly these).
 */
export const isLoopbackAddress = (address: string): boolean => {
  const ip = plain(address);
  const family = isIP(ip);
  if (family === 4) return ip.split('.')[0] === '127';
  return family === 6 && groupsOf(ip).every((group, index) => group === (index === 7 ? 1 : 0));
};
