// Domain values: the validators every name, address, port, weight and admin state passes before it is stored or sent.
import { isIPv4, isIPv6 } from 'node:net';
import { type AddressRule, InvalidArgumentError } from '../errors.js';
import { checkAddress } from './address-policy.js';

/** HAProxy's three admin states of a server, as `set server … state` spells them. */
export const ADMIN_STATES = ['ready', 'drain', 'maint'] as const;
export type AdminState = (typeof ADMIN_STATES)[number];

const NAME = /^[A-Za-z0-9._:-]+$/;
const MAX_NAME = 100;
// Literal addresses only: HAProxy would accept `fe80::1%eth0` or hostnames in other places; we never send them.
const ADDRESS_CHARS = /^[0-9A-Fa-f:.]+$/;

/** A backend, server or member name: `[A-Za-z0-9._:-]+`, at most 100 characters. */
export function validName(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new InvalidArgumentError(field, value, 'must be a non-empty string');
  if (value.length > MAX_NAME) throw new InvalidArgumentError(field, value, `longer than ${MAX_NAME} characters`);
  if (!NAME.test(value)) throw new InvalidArgumentError(field, value, 'only A-Z a-z 0-9 . _ : - are allowed');
  return value;
}

/**
 * A literal IPv4 or IPv6 address (no hostname, no port, no zone id) that can be an instance: HAProxy 2.6 silently
 * accepts the unspecified, broadcast and multicast addresses too, and a slot pointed there serves nothing.
 */
export function validAddress(value: unknown): string {
  if (typeof value !== 'string' || !ADDRESS_CHARS.test(value) || !(isIPv4(value) || isIPv6(value))) {
    throw new InvalidArgumentError('address', value, 'must be a literal IPv4 or IPv6 address');
  }
  if (!unicastHost(value)) {
    throw new InvalidArgumentError(
      'address',
      value,
      'must be a unicast host address (not unspecified, broadcast or multicast)',
    );
  }
  return value;
}

// What no slot can ever serve, whatever the config says (the config's own policy is applied where addresses enter).
const NEVER_A_HOST: readonly AddressRule[] = [
  'not-an-address',
  'unspecified',
  'this-network',
  'multicast',
  'broadcast',
  'reserved',
];

function unicastHost(address: string): boolean {
  // Decoded first, so `::ffff:224.0.0.1` is the multicast address it is.
  const verdict = checkAddress(address, { allowLoopback: true });
  return verdict.ok || !NEVER_A_HOST.includes(verdict.rule);
}

/** HAProxy prints IPv6 in canonical form; a record may not be (`2001:DB8:0::1`), and that must not re-address forever. */
export function canonicalAddress(address: string): string {
  return isIPv6(address) ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}

/** A TCP port 1-65535 (HAProxy silently wraps 99999 and accepts 0, so we refuse both here). */
export function validPort(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new InvalidArgumentError('port', value, 'must be an integer from 1 to 65535');
  }
  return value;
}

/**
 * A server's numeric id in its backend (`srv_id`, `show stat`'s `sid`): HAProxy numbers them from 1 and reuses the ids
 * of deleted servers, so an id is only ever a hint checked against the name in the reply.
 */
export function validServerId(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 2_147_483_647) {
    throw new InvalidArgumentError('server id', value, 'must be an integer from 1 to 2147483647');
  }
  return value;
}

/** An absolute weight 0-256 (never a percentage: `50%` is relative to the initial weight). */
export function validWeight(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 256) {
    throw new InvalidArgumentError('weight', value, 'must be an integer from 0 to 256');
  }
  return value;
}

/** One of `ready`, `drain`, `maint` (case-sensitive, as HAProxy expects). */
export function validState(value: unknown): AdminState {
  if (typeof value !== 'string' || !(ADMIN_STATES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError('state', value, `must be one of ${ADMIN_STATES.join(', ')}`);
  }
  return value as AdminState;
}

/** `ip:port` as operators read it (`[::1]:80` for IPv6), `none` when the server has no address. */
export function formatEndpoint(address: string | null | undefined, port: number | null | undefined): string {
  if (address == null) return 'none';
  return `${isIPv6(address) ? `[${address}]` : address}:${port ?? '?'}`;
}
