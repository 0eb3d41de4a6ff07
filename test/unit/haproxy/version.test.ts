// HAProxy versions: parsing show info's Version, the 2.6 floor, and the features derived from the version.
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../../functions/lib/errors.js';
import {
  atLeast,
  hasAsyncAddr,
  hasInitState,
  isSupported,
  parseVersion,
} from '../../../functions/lib/haproxy/version.js';

describe('parseVersion', () => {
  it.each([
    ['2.6.12-1+deb12u4', 2, 6, 12],
    ['2.8.0-fdd8154ed', 2, 8, 0],
    ['3.0.11-9e587df', 3, 0, 11],
    ['3.2.26-1', 3, 2, 26],
    ['3.4-dev5-1a2b3c', 3, 4, 0],
    ['3.2.0', 3, 2, 0],
    ['2.4.22-0ubuntu0.22.04.3', 2, 4, 22],
  ])('reads %s as %i.%i.%i', (raw, major, minor, patch) => {
    expect(parseVersion(raw)).toEqual({ raw, major, minor, patch });
  });

  it.each(['', 'HAProxy', 'v3.2.0', '3', '3.x.1', '32.0a'])('refuses %j with a ParseError', (raw) => {
    expect(() => parseVersion(raw)).toThrow(ParseError);
  });
});

describe('what a version has', () => {
  const v = (raw: string) => parseVersion(raw);

  it('supports 2.6 and everything newer, nothing older', () => {
    expect(isSupported(v('2.6.0'))).toBe(true);
    expect(isSupported(v('2.6.12-1+deb12u4'))).toBe(true);
    expect(isSupported(v('3.0.11'))).toBe(true);
    expect(isSupported(v('10.0.0'))).toBe(true);
    expect(isSupported(v('2.5.14'))).toBe(false);
    expect(isSupported(v('2.4.22'))).toBe(false);
    expect(isSupported(v('1.8.31'))).toBe(false);
  });

  it('compares major before minor', () => {
    expect(atLeast(v('3.0.0'), 2, 9)).toBe(true);
    expect(atLeast(v('2.9.0'), 3, 0)).toBe(false);
  });

  it('has init-state from 3.1 on and an asynchronous set server addr from 3.0 on', () => {
    expect([v('2.6.12'), v('3.0.11'), v('3.1.0'), v('3.2.26')].map(hasInitState)).toEqual([false, false, true, true]);
    expect([v('2.6.12'), v('2.8.0'), v('3.0.11'), v('3.2.26')].map(hasAsyncAddr)).toEqual([false, false, true, true]);
  });
});
