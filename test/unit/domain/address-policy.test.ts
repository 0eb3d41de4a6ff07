// Address policy: every alternate spelling of an address gets the verdict of what it is; each refusal names its rule;
// allowedCidrs is plain CIDR membership (checked against a BigInt reference with fast-check).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AddressPolicy,
  addressPolicyOf,
  checkAddress,
  ipv4Bytes,
  ipv6Bytes,
  parseCidr,
  refusalOf,
} from '../../../functions/lib/domain/address-policy.js';

const DEFAULT: AddressPolicy = { allowLoopback: false };
const LOOPBACK_OK: AddressPolicy = { allowLoopback: true };
const ruleOf = (address: string, policy: AddressPolicy = DEFAULT) => {
  const v = checkAddress(address, policy);
  return v.ok ? 'ok' : v.rule;
};

describe('checkAddress: the default policy', () => {
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'this-network'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'metadata'],
    ['169.254.169.253', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::127.0.0.1', 'ipv4-compatible'],
    ['fd00:ec2::254', 'metadata'],
    ['FD00:EC2:0:0:0:0:0:254', 'metadata'],
    ['fd00:ec2::253', 'metadata'],
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fec0::1', 'reserved'],
    ['ff02::1', 'multicast'],
  ])('refuses %s by rule %s', (address, rule) => {
    expect(ruleOf(address)).toBe(rule);
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:7F00:0001', 'loopback'],
    ['0:0:0:0:0:ffff:127.0.0.1', 'loopback'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['::ffff:224.0.0.1', 'multicast'],
    ['::ffff:255.255.255.255', 'broadcast'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:a9fe:101', 'link-local'],
  ])('decodes the embedded IPv4 of %s and refuses it by rule %s', (address, rule) => {
    expect(ruleOf(address)).toBe(rule);
  });

  it.each(['127.1', '0x7f.0.0.1', '0177.0.0.1', '127.000.0.1', 'fe80::1%eth0', '[::1]', 'localhost', '', ' 10.0.0.1'])(
    'refuses %j as not-an-address (no other spelling of an IPv4 is taken)',
    (address) => {
      expect(ruleOf(address)).toBe('not-an-address');
    },
  );

  it.each(['10.0.3.7', '172.16.0.1', '192.168.1.1', '100.64.0.1', '8.8.8.8', '2001:db8::1', 'fd12:3456::1', '2600::1'])(
    'allows the unicast address %s',
    (address) => {
      expect(checkAddress(address, DEFAULT)).toEqual({ ok: true });
    },
  );

  it('allows a mapped private address and says which IPv4 it is', () => {
    expect(checkAddress('::ffff:10.0.3.7', DEFAULT)).toEqual({ ok: true, embeddedIpv4: '10.0.3.7' });
  });

  it('names the rule and the decoded address in its reason', () => {
    const v = checkAddress('::ffff:127.0.0.1', DEFAULT);
    expect(v).toEqual({
      ok: false,
      rule: 'loopback',
      reason: expect.stringContaining('IPv4-mapped form of 127.0.0.1'),
    });
    expect(!v.ok && v.reason).toMatch(/allowLoopback: true/);
  });
});

describe('checkAddress: allowLoopback and allowedCidrs', () => {
  it('allows loopback in every form when allowLoopback is set, and nothing else that is refused', () => {
    for (const a of ['127.0.0.1', '127.0.0.33', '::1', '::ffff:127.0.0.1']) expect(ruleOf(a, LOOPBACK_OK)).toBe('ok');
    for (const a of ['169.254.169.254', 'fe80::1', '0.0.0.0', '224.0.0.1'])
      expect(ruleOf(a, LOOPBACK_OK)).not.toBe('ok');
  });

  it('allows only addresses inside allowedCidrs, in any of their spellings', () => {
    const policy = { allowLoopback: false, allowedCidrs: ['10.0.0.0/16', '2001:db8:1::/48'] };
    expect(ruleOf('10.0.255.1', policy)).toBe('ok');
    expect(ruleOf('::ffff:10.0.1.1', policy)).toBe('ok');
    expect(ruleOf('2001:db8:1:2::3', policy)).toBe('ok');
    expect(ruleOf('10.1.0.1', policy)).toBe('not-allowed');
    expect(ruleOf('2001:db8:2::1', policy)).toBe('not-allowed');
    // The hard rules come first: a CIDR cannot let the metadata service in.
    expect(ruleOf('169.254.169.254', { allowLoopback: false, allowedCidrs: ['169.254.0.0/16'] })).toBe('metadata');
  });

  it('needs loopback inside allowedCidrs too when both are set', () => {
    expect(ruleOf('127.0.0.1', { allowLoopback: true, allowedCidrs: ['10.0.0.0/8'] })).toBe('not-allowed');
    expect(ruleOf('127.0.0.1', { allowLoopback: true, allowedCidrs: ['127.0.0.0/8'] })).toBe('ok');
  });

  it('takes the backend allowLoopback over the document one, and the document one by default', () => {
    expect(addressPolicyOf({ allowLoopback: true }, {})).toEqual({ allowLoopback: true });
    expect(addressPolicyOf({ allowLoopback: true }, { allowLoopback: false })).toEqual({ allowLoopback: false });
    expect(addressPolicyOf({}, { allowedCidrs: ['10.0.0.0/8'] })).toEqual({
      allowLoopback: false,
      allowedCidrs: ['10.0.0.0/8'],
    });
  });
});

describe('parseCidr', () => {
  it.each(['10.0.0.0/8', '0.0.0.0/0', '10.0.0.1/32', '10.0.0.1', '::/0', '2001:db8::/32', '::ffff:10.0.0.0/104'])(
    'accepts %s',
    (text) => {
      expect(() => parseCidr(text)).not.toThrow();
    },
  );

  it.each([
    ['10.0.0.1/8', /host bits/],
    ['10.0.0.0/33', /0-32/],
    ['2001:db8::/129', /0-128/],
    ['10.0.0.0/', /0-32/],
    ['10.0.0.0/08x', /0-32/],
    ['10.0.0/8', /literal/],
    ['web/8', /literal/],
  ])('refuses %s', (text, message) => {
    expect(() => parseCidr(text)).toThrow(message);
  });
});

describe('refusalOf', () => {
  it('is one sentence naming the member, backend, address and rule', () => {
    const v = checkAddress('169.254.169.254', DEFAULT);
    if (v.ok) throw new Error('expected a refusal');
    const r = refusalOf({ index: 0, path: ['member', 'address'], backend: 'web', member: 'm-1' }, '169.254.169.254', v);
    expect(r).toMatchObject({ rule: 'metadata', address: '169.254.169.254', backend: 'web', member: 'm-1' });
    expect(r.message).toBe(
      'member m-1 of backend web: address 169.254.169.254 refused by rule metadata: the instance metadata service',
    );
  });
});

// ——— properties ———

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
const dottedOf = (o: readonly number[]) => o.join('.');
const hex = (o: readonly number[], i: number) => (((o[i] ?? 0) << 8) | (o[i + 1] ?? 0)).toString(16);
const v6Bytes = fc.uint8Array({ minLength: 16, maxLength: 16 });
const v6Text = (b: Uint8Array) =>
  new URL(`http://[${Array.from({ length: 8 }, (_, i) => hex([...b], i * 2)).join(':')}]/`).hostname.slice(1, -1);
const bigOf = (bytes: Uint8Array) => bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
const policies = fc.constantFrom<AddressPolicy>(DEFAULT, LOOPBACK_OK);

/** Every way this project's peers could spell one IPv4 as IPv6 that still lands on it. */
function alternateForms(o: readonly number[]): string[] {
  const d = dottedOf(o);
  const words = `${hex(o, 0)}:${hex(o, 2)}`;
  return [
    `::ffff:${d}`,
    `::FFFF:${d}`,
    `::ffff:${words}`,
    `::ffff:${words.toUpperCase()}`,
    `0:0:0:0:0:ffff:${d}`,
    `0000:0000:0000:0000:0000:ffff:${words}`,
    `::ffff:0:${d}`,
    `64:ff9b::${d}`,
    `64:ff9b::${words}`,
  ];
}

describe('properties', () => {
  it('every mapped, translated or NAT64 form of an IPv4 gets the verdict of the IPv4 itself', () => {
    fc.assert(
      fc.property(v4, policies, (o, policy) => {
        const expected = ruleOf(dottedOf(o), policy);
        for (const form of alternateForms(o)) expect([form, ruleOf(form, policy)]).toEqual([form, expected]);
      }),
      { numRuns: 2000 },
    );
  });

  it('loopback, in any form, is allowed exactly when allowLoopback is set', () => {
    fc.assert(
      fc.property(fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)), fc.boolean(), (rest, allow) => {
        const o = [127, ...rest];
        for (const form of [dottedOf(o), ...alternateForms(o)]) {
          expect(ruleOf(form, { allowLoopback: allow })).toBe(allow ? 'ok' : 'loopback');
        }
      }),
    );
  });

  it('random IPv6 in ff00::/8 is multicast and in fe80::/10 link-local, whatever the policy', () => {
    fc.assert(
      fc.property(v6Bytes, policies, (b, policy) => {
        const multicast = Uint8Array.from(b);
        multicast[0] = 0xff;
        expect(ruleOf(v6Text(multicast), policy)).toBe('multicast');
        const linkLocal = Uint8Array.from(b);
        linkLocal[0] = 0xfe;
        linkLocal[1] = 0x80 | ((linkLocal[1] ?? 0) & 0x3f);
        expect(ruleOf(v6Text(linkLocal), policy)).toBe('link-local');
      }),
    );
  });

  it('parses every IPv6 spelling Node prints back to the same 16 bytes, and every IPv4 to its 4', () => {
    fc.assert(
      fc.property(v6Bytes, v4, (b, o) => {
        expect([...(ipv6Bytes(v6Text(b)) ?? [])]).toEqual([...b]);
        expect([...(ipv6Bytes(v6Text(b).toUpperCase()) ?? [])]).toEqual([...b]);
        expect([...(ipv4Bytes(dottedOf(o)) ?? [])]).toEqual(o);
      }),
    );
  });

  it('allowedCidrs is CIDR membership: the same answer as a BigInt reference, for IPv4 and IPv6', () => {
    const family = fc.oneof(
      v4.map((o) => ({ bytes: Uint8Array.from(o), text: dottedOf(o) })),
      v6Bytes.map((b) => ({ bytes: b, text: v6Text(b) })),
    );
    fc.assert(
      fc.property(family, family, fc.nat(128), (address, net, n) => {
        fc.pre(address.bytes.length === net.bytes.length);
        const width = address.bytes.length * 8;
        const bits = n % (width + 1);
        const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
        const networkBig = bigOf(net.bytes) & mask;
        const network = Uint8Array.from({ length: net.bytes.length }, (_, i) =>
          Number((networkBig >> BigInt((net.bytes.length - 1 - i) * 8)) & 0xffn),
        );
        const networkText = width === 32 ? dottedOf([...network]) : v6Text(network);
        const cidr = `${networkText}/${bits}`;
        // Only addresses that pass the fixed rules reach the CIDR check.
        fc.pre(ruleOf(address.text, LOOPBACK_OK) === 'ok');
        const inside = (bigOf(address.bytes) & mask) === networkBig;
        const policy = { allowLoopback: true, allowedCidrs: [cidr] };
        expect(ruleOf(address.text, policy)).toBe(inside ? 'ok' : 'not-allowed');
        // The network's own first address is always inside.
        if (ruleOf(networkText, LOOPBACK_OK) === 'ok') expect(ruleOf(networkText, policy)).toBe('ok');
      }),
      { numRuns: 2000 },
    );
  });
});
