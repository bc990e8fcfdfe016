import { describe, expect, it } from 'vitest';
import { forwardedIp, resolveClientIp, resolveTrustedProxies } from '../src/trusted-proxies.js';

const proxies = resolveTrustedProxies(['127.0.0.1/32', '10.0.0.0/8', '::1', 'fd00::/8']);

describe('trustProxy: the client address behind trusted proxies', () => {
  it('takes the rightmost X-Forwarded-For entry that is not a trusted proxy', () => {
    // The client wrote 6.6.6.6 itself; our proxies appended 203.0.113.7 and 10.1.2.3.
    expect(resolveClientIp('127.0.0.1', '6.6.6.6, 203.0.113.7, 10.1.2.3', proxies)).toBe(
      '203.0.113.7',
    );
    expect(resolveClientIp('::ffff:127.0.0.1', '203.0.113.7', proxies)).toBe('203.0.113.7');
    expect(resolveClientIp('::1', ['1.1.1.1, 2001:db8::5', 'fd00::1'], proxies)).toBe(
      '2001:db8::5',
    );
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(resolveClientIp('198.51.100.4', '203.0.113.7', proxies)).toBe('198.51.100.4');
    const none = resolveTrustedProxies(undefined);
    expect(resolveClientIp('127.0.0.1', '203.0.113.7', none)).toBe('127.0.0.1');
    expect(resolveClientIp('127.0.0.1', '203.0.113.7', resolveTrustedProxies(false))).toBe(
      '127.0.0.1',
    );
  });

  it('never records a value that is not an IP: the walk stops at the nearest trusted hop', () => {
    expect(resolveClientIp('127.0.0.1', 'evil<script>', proxies)).toBe('127.0.0.1');
    expect(resolveClientIp('127.0.0.1', '203.0.113.7, unknown', proxies)).toBe('127.0.0.1');
    expect(resolveClientIp('127.0.0.1', '203.0.113.7, not-an-ip, 10.0.0.9', proxies)).toBe(
      '10.0.0.9',
    );
    expect(resolveClientIp('127.0.0.1', '', proxies)).toBe('127.0.0.1');
    expect(resolveClientIp('127.0.0.1', ' , ', proxies)).toBe('127.0.0.1');
    // Every hop trusted: the leftmost trusted one is the best we know.
    expect(resolveClientIp('127.0.0.1', '10.0.0.1, 10.0.0.2', proxies)).toBe('10.0.0.1');
  });

  it('parses the forms proxies write and refuses the rest', () => {
    expect(forwardedIp(' 203.0.113.7 ')).toBe('203.0.113.7');
    expect(forwardedIp('203.0.113.7:4711')).toBe('203.0.113.7');
    expect(forwardedIp('[2001:db8::1]:443')).toBe('2001:db8::1');
    expect(forwardedIp('[2001:db8::1]')).toBe('2001:db8::1');
    expect(forwardedIp('2001:db8::1')).toBe('2001:db8::1');
    expect(forwardedIp('::ffff:203.0.113.7')).toBe('203.0.113.7');
    for (const bad of [
      'unknown',
      '_hidden',
      'example.com',
      '999.1.1.1',
      '[1.2.3.4]',
      '[::1]x',
      '1.2.3.4:x',
      '',
    ]) {
      expect(forwardedIp(bad), bad).toBeUndefined();
    }
  });

  it('refuses true, non-lists and entries that are not addresses or ranges, naming trustProxy', () => {
    for (const bad of [
      true,
      'yes',
      ['localhost'],
      ['10.0.0.0/33'],
      ['::1/129'],
      ['1.2.3.4/x'],
      [7],
    ]) {
      expect(() => resolveTrustedProxies(bad), JSON.stringify(bad)).toThrow(/trustProxy/);
    }
    expect(() => resolveTrustedProxies(true)).toThrow(/list the proxies you run/);
  });
});
