// Domain, pure: which addresses a backend's slots may be pointed at. Alternate forms (IPv4-mapped, NAT64, SIIT) are
// decoded first, so `::ffff:127.0.0.1` is loopback and `64:ff9b::a9fe:a9fe` is the instance metadata service.
import { isIPv6 } from 'node:net';
import type { AddressRefusal, AddressRule } from '../errors.js';

/** What a backend accepts: loopback only when allowed, and (when given) only addresses inside `allowedCidrs`. */
export interface AddressPolicy {
  readonly allowLoopback: boolean;
  readonly allowedCidrs?: readonly string[];
}

/** The verdict on one address: its decoded IPv4 when it embeds one, or the rule that refuses it and why. */
export type AddressVerdict =
  | { readonly ok: true; readonly embeddedIpv4?: string }
  | { readonly ok: false; readonly rule: AddressRule; readonly reason: string };

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
// Dotted decimal only: `127.1`, `0x7f.0.0.1` and `0177.0.0.1` are other spellings of loopback that we never accept.
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);
// No zone id (`fe80::1%eth0`), no brackets, no port.
const IPV6_CHARS = /^[0-9A-Fa-f:.]+$/;

/** The 4 bytes of a dotted-decimal IPv4 address, or undefined. */
export function ipv4Bytes(text: string): Uint8Array | undefined {
  if (!IPV4.test(text)) return undefined;
  return Uint8Array.from(text.split('.').map(Number));
}

/** The 16 bytes of a literal IPv6 address (an IPv4 tail allowed, as in `::ffff:10.0.0.1`), or undefined. */
export function ipv6Bytes(text: string): Uint8Array | undefined {
  if (!IPV6_CHARS.test(text) || !isIPv6(text)) return undefined;
  let hex = text;
  const tail = text.slice(text.lastIndexOf(':') + 1);
  if (tail.includes('.')) {
    const v4 = ipv4Bytes(tail);
    if (!v4) return undefined;
    const word = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    hex = `${text.slice(0, text.length - tail.length)}${word(v4[0] ?? 0, v4[1] ?? 0)}:${word(v4[2] ?? 0, v4[3] ?? 0)}`;
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const [left = '', right] = hex.split('::');
  const head = groups(left);
  const rest = right === undefined ? [] : groups(right);
  const words = right === undefined ? head : [...head, ...Array(8 - head.length - rest.length).fill(0), ...rest];
  if (words.length !== 8) return undefined;
  return Uint8Array.from(words.flatMap((w) => [w >> 8, w & 0xff]));
}

type Prefix = { readonly bytes: Uint8Array; readonly bits: number };

function within(address: Uint8Array, prefix: Prefix): boolean {
  if (address.length !== prefix.bytes.length) return false;
  for (let bit = 0; bit < prefix.bits; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if (((address[byte] ?? 0) & mask) !== ((prefix.bytes[byte] ?? 0) & mask)) return false;
  }
  return true;
}

/** A CIDR block `a.b.c.d/n` or `x::/n`; throws a one-sentence Error when it is not one (host bits must be zero). */
export function parseCidr(text: string): Prefix {
  const slash = text.indexOf('/');
  const base = slash === -1 ? text : text.slice(0, slash);
  const bytes = ipv4Bytes(base) ?? ipv6Bytes(base);
  if (!bytes) throw new Error(`${JSON.stringify(text)} is not a CIDR block: expected a literal IPv4 or IPv6 address`);
  const max = bytes.length * 8;
  const length = slash === -1 ? String(max) : text.slice(slash + 1);
  const bits = Number(length);
  if (!/^[0-9]{1,3}$/.test(length) || bits > max) {
    throw new Error(`${JSON.stringify(text)} is not a CIDR block: the prefix length must be 0-${max}`);
  }
  const prefix = { bytes, bits };
  const network = Uint8Array.from(bytes, (b, i) => {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    return b & (0xff << (8 - keep));
  });
  if (!within(network, { bytes, bits: max })) {
    throw new Error(`${JSON.stringify(text)} has host bits set after /${bits}: write the network address`);
  }
  return prefix;
}

const cidr = (text: string) => parseCidr(text);
// IPv6 prefixes whose last 32 bits are an IPv4 address the traffic ends up at.
const EMBEDDING = [
  { prefix: cidr('::ffff:0:0/96'), form: 'IPv4-mapped' },
  { prefix: cidr('::ffff:0:0:0/96'), form: 'IPv4-translated' },
  { prefix: cidr('64:ff9b::/96'), form: 'NAT64' },
] as const;

// First match decides, so the most specific rule names the refusal (metadata before link-local).
const IPV4_RULES: readonly { prefix: Prefix; rule: AddressRule; reason: string }[] = [
  { prefix: cidr('0.0.0.0/32'), rule: 'unspecified', reason: 'the unspecified address is not a host' },
  { prefix: cidr('0.0.0.0/8'), rule: 'this-network', reason: '0.0.0.0/8 means "this network", not a host' },
  { prefix: cidr('127.0.0.0/8'), rule: 'loopback', reason: 'loopback (127.0.0.0/8) is the HAProxy host itself' },
  { prefix: cidr('169.254.169.254/32'), rule: 'metadata', reason: 'the instance metadata service' },
  { prefix: cidr('169.254.169.253/32'), rule: 'metadata', reason: 'the VPC DNS resolver' },
  { prefix: cidr('169.254.169.123/32'), rule: 'metadata', reason: 'the Amazon Time Sync service' },
  { prefix: cidr('169.254.0.0/16'), rule: 'link-local', reason: 'link-local (169.254.0.0/16) is not routed' },
  { prefix: cidr('224.0.0.0/4'), rule: 'multicast', reason: 'multicast (224.0.0.0/4) is not one host' },
  { prefix: cidr('255.255.255.255/32'), rule: 'broadcast', reason: 'the broadcast address is not one host' },
  { prefix: cidr('240.0.0.0/4'), rule: 'reserved', reason: '240.0.0.0/4 is reserved' },
];

const IPV6_RULES: readonly { prefix: Prefix; rule: AddressRule; reason: string }[] = [
  { prefix: cidr('::/128'), rule: 'unspecified', reason: 'the unspecified address is not a host' },
  { prefix: cidr('::1/128'), rule: 'loopback', reason: 'loopback (::1) is the HAProxy host itself' },
  { prefix: cidr('::/96'), rule: 'ipv4-compatible', reason: 'the deprecated IPv4-compatible form (::/96)' },
  { prefix: cidr('fd00:ec2::254/128'), rule: 'metadata', reason: 'the instance metadata service' },
  { prefix: cidr('fd00:ec2::253/128'), rule: 'metadata', reason: 'the VPC DNS resolver' },
  { prefix: cidr('fd00:ec2::123/128'), rule: 'metadata', reason: 'the Amazon Time Sync service' },
  { prefix: cidr('fe80::/10'), rule: 'link-local', reason: 'link-local (fe80::/10) is not routed' },
  { prefix: cidr('fec0::/10'), rule: 'reserved', reason: 'site-local (fec0::/10) is deprecated' },
  { prefix: cidr('ff00::/8'), rule: 'multicast', reason: 'multicast (ff00::/8) is not one host' },
];

function embedded(bytes: Uint8Array): { v4: Uint8Array; form: string } | undefined {
  if (bytes.length !== 16) return undefined;
  const hit = EMBEDDING.find((e) => within(bytes, e.prefix));
  return hit ? { v4: bytes.slice(12), form: hit.form } : undefined;
}

const dotted = (v4: Uint8Array) => [...v4].join('.');
const mapped = (v4: Uint8Array) => Uint8Array.from([...new Array(10).fill(0), 0xff, 0xff, ...v4]);

/**
 * Decides whether a slot may be pointed at `address` under `policy`. Refused always: unspecified, "this network",
 * link-local, AWS instance services (metadata, DNS, time), multicast, broadcast, reserved and the deprecated
 * IPv4-compatible form; loopback unless `allowLoopback`; anything outside `allowedCidrs` when that list is given.
 * Everything else (any unicast private or public address) is allowed. An embedded IPv4 is judged as itself.
 */
export function checkAddress(address: string, policy: AddressPolicy): AddressVerdict {
  const literal = ipv4Bytes(address) ?? ipv6Bytes(address);
  if (!literal) return { ok: false, rule: 'not-an-address', reason: 'not a literal IPv4 or IPv6 address' };
  const inner = embedded(literal);
  const v4 = literal.length === 4 ? literal : inner?.v4;
  const as = inner ? ` (the ${inner.form} form of ${dotted(inner.v4)})` : '';
  const rules = v4 ? IPV4_RULES : IPV6_RULES;
  const hit = rules.find((r) => within(v4 ?? literal, r.prefix));
  if (hit && !(hit.rule === 'loopback' && policy.allowLoopback)) {
    const hint = hit.rule === 'loopback' ? '; allowed only where the config sets allowLoopback: true' : '';
    return { ok: false, rule: hit.rule, reason: `${hit.reason}${as}${hint}` };
  }
  if (policy.allowedCidrs !== undefined) {
    const forms = [literal, ...(v4 ? [v4, mapped(v4)] : [])];
    const allowed = policy.allowedCidrs.some((c) => forms.some((f) => within(f, parseCidr(c))));
    if (!allowed) {
      return {
        ok: false,
        rule: 'not-allowed',
        reason: `not inside allowedCidrs ${policy.allowedCidrs.join(', ')}${as}`,
      };
    }
  }
  return inner ? { ok: true, embeddedIpv4: dotted(inner.v4) } : { ok: true };
}

/** A backend's policy: its own `allowLoopback` if set, else the document's; its `allowedCidrs` if any. */
export function addressPolicyOf(
  document: { readonly allowLoopback?: boolean },
  backend: { readonly allowLoopback?: boolean; readonly allowedCidrs?: readonly string[] },
): AddressPolicy {
  return {
    allowLoopback: backend.allowLoopback ?? document.allowLoopback ?? false,
    ...(backend.allowedCidrs ? { allowedCidrs: backend.allowedCidrs } : {}),
  };
}

/** Where a refused address came from, for the refusal's one sentence. */
export interface AddressOrigin {
  readonly index?: number;
  readonly path: readonly (string | number)[];
  readonly backend: string;
  readonly member: string;
}

/** The refusal of one address: `member m-1 of backend web: address ::ffff:127.0.0.1 refused by rule loopback: …`. */
export function refusalOf(
  origin: AddressOrigin,
  address: string,
  verdict: Extract<AddressVerdict, { ok: false }>,
): AddressRefusal {
  return {
    ...origin,
    address,
    rule: verdict.rule,
    message: `member ${origin.member} of backend ${origin.backend}: address ${address} refused by rule ${verdict.rule}: ${verdict.reason}`,
  };
}
