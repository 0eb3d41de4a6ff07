// Addresses HAProxy would take but that can never be an instance: refused before any command is built.
import { describe, expect, it } from 'vitest';
import { setAddr } from '../../../functions/lib/domain/commands.js';
import { validAddress } from '../../../functions/lib/domain/values.js';
import { InvalidArgumentError } from '../../../functions/lib/errors.js';

describe('validAddress', () => {
  it.each([
    '0.0.0.0',
    '0.1.2.3',
    '255.255.255.255',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '::',
    '0:0:0:0:0:0:0:0',
    'ff02::1',
    'FF05::2',
    // The same addresses behind an IPv4-mapped or NAT64 spelling.
    '::ffff:224.0.0.1',
    '::ffff:255.255.255.255',
    '::ffff:0.0.0.0',
    '64:ff9b::e000:1',
  ])('refuses %s, which no instance can have', (address) => {
    expect(() => validAddress(address)).toThrow(InvalidArgumentError);
    expect(() => setAddr('web', 'web1', address, 8080)).toThrow(/unicast host address/);
  });

  it.each(['127.0.0.1', '127.255.255.254', '1.2.3.4', '223.255.255.255', '::1', '2001:db8::7', 'fe80::1'])(
    'accepts the host address %s',
    (address) => {
      expect(validAddress(address)).toBe(address);
    },
  );
});
