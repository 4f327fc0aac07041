import { describe, expect, it } from 'vitest';
import { isLoopbackAddress, refusedRange } from '../../lambdas/core/address-policy.ts';
import { ValidationError } from '../../lambdas/core/errors.ts';
import { validateWebhookUrl } from '../../lambdas/core/webhooks.ts';

const refusal = (url: string, allowLoopback = false): string | undefined => {
  try {
    validateWebhookUrl(url, allowLoopback);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).message;
  }
};

describe('webhook destinations: addresses that are not globally reachable are refused', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.255', 'shared (CGNAT)'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['64:ff9b::c0a8:1', 'private'],
    ['::127.0.0.1', 'reserved'],
    ['::a9fe:a9fe', 'reserved'],
    ['2002:7f00:1::', 'reserved'],
  ])('%s is refused as %s', (address, kind) => {
    // Act
    const refused = refusedRange(address);
    // Assess
    expect(refused?.kind).toBe(kind);
  });

  it.each(['8.8.8.8', '93.184.216.34', '100.63.255.255', '100.128.0.1', '172.15.255.255', '172.32.0.1', '192.169.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])(
    '%s is globally reachable',
    (address) => {
      // Act
      const refused = refusedRange(address);
      // Assess
      expect(refused).toBeUndefined();
    },
  );

  it('treats only 127.0.0.0/8 and ::1 as loopback for the local escape hatch, never wrapped forms', () => {
    // Act
    const verdicts = ['127.0.0.1', '127.9.9.9', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '64:ff9b::7f00:1', '::7f00:1', '10.0.0.1', 'localhost'].map(isLoopbackAddress);
    // Assess
    expect(verdicts).toEqual([true, true, true, true, false, false, false, false, false]);
  });
});

describe('webhook registration URLs (validateWebhookUrl)', () => {
  it.each([
    ['https://0x7f.1/hook', '127.0.0.1'],
    ['https://2130706433/hook', '127.0.0.1'],
    ['https://017700000001/hook', '127.0.0.1'],
    ['https://127.1/hook', '127.0.0.1'],
    ['https://0x7f000001/hook', '127.0.0.1'],
    ['https://127.0.0.1./hook', '127.0.0.1'],
    ['https://%31%32%37.0.0.1/hook', '127.0.0.1'],
    ['https://0/hook', '0.0.0.0'],
    ['https://2852039166/latest/meta-data/', '169.254.169.254'],
    ['https://0xa9.0xfe.0xa9.0xfe/', '169.254.169.254'],
    ['https://0251.0376.0251.0376/', '169.254.169.254'],
    ['https://169.254.43518/', '169.254.169.254'],
    ['https://167772161/', '10.0.0.1'],
    ['https://[::ffff:127.0.0.1]/hook', '::ffff:7f00:1'],
    ['https://[::ffff:169.254.169.254]/hook', '::ffff:a9fe:a9fe'],
    ['https://[64:ff9b::169.254.169.254]/hook', '64:ff9b::a9fe:a9fe'],
    ['https://[::127.0.0.1]/hook', '::7f00:1'],
    ['https://[::1]/hook', '::1'],
    ['https://[::]/hook', '::'],
    ['https://[fe80::1]/hook', 'fe80::1'],
    ['https://[fd00::1]/hook', 'fd00::1'],
    ['https://[ff02::1]/hook', 'ff02::1'],
    ['https://100.64.0.1/hook', '100.64.0.1'],
    ['https://224.0.0.1/hook', '224.0.0.1'],
    ['https://255.255.255.255/hook', '255.255.255.255'],
  ])('refuses %s (WHATWG URL parsing gives %s)', (url, host) => {
    // Act
    const message = refusal(url);
    // Assess
    expect(new URL(url).hostname.replace(/^\[(.*)\]$/, '$1')).toBe(host);
    expect(message).toMatch(new RegExp(`^url must name a public host: ${host.replace(/[.]/g, '\\.')} is a`));
  });

  it.each(['https://localhost/hook', 'https://LOCALHOST./hook', 'https://api.localhost/hook', 'https://intranet/hook', 'http://hooks.example.com/hook', 'ftp://hooks.example.com/hook', 'https://user:pw@hooks.example.com/'])(
    'refuses %s',
    (url) => {
      // Act
      const message = refusal(url);
      // Assess
      expect(message).toBeDefined();
    },
  );

  it.each(['https://hooks.example.com/offload', 'https://93.184.216.34/hook', 'https://[2606:4700:4700::1111]/hook', 'https://[::ffff:8.8.8.8]/hook'])('accepts %s', (url) => {
    // Act
    const message = refusal(url);
    // Assess
    expect(message).toBeUndefined();
  });

  it('with the local escape hatch, accepts loopback (also over http) and nothing else that is not public', () => {
    // Act
    const accepted = ['http://127.0.0.1:9/hook', 'http://127.1:9/hook', 'https://[::1]:9/hook', 'http://localhost:9/hook'].map((url) => refusal(url, true));
    const refused = ['http://[::ffff:127.0.0.1]:9/hook', 'https://[::ffff:127.0.0.1]/hook', 'https://10.0.0.1/hook', 'https://169.254.169.254/', 'https://[fe80::1]/', 'http://hooks.example.com/hook'].map((url) =>
      refusal(url, true),
    );
    // Assess
    expect(accepted).toEqual([undefined, undefined, undefined, undefined]);
    expect(refused.every((message) => message !== undefined)).toBe(true);
  });
});
