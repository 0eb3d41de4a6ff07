// HAProxy Runtime API command builders: the only way text destined for a stats socket is produced (DESIGN invariant 3).
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { InvalidArgumentError } from '../errors.js';

declare const built: unique symbol;

export const COMMAND_KINDS = [
  'set-addr',
  'set-state',
  'set-weight',
  'enable-health',
  'show-stat',
  'show-servers-state',
  'get-weight',
  'show-info',
] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

/** A validated command. The brand means only the builders below can make one, so no raw string reaches a socket. */
export interface Command {
  readonly kind: CommandKind;
  readonly text: string;
  readonly backend?: string;
  readonly server?: string;
  readonly [built]: true;
}

export const ADMIN_STATES = ['ready', 'drain', 'maint'] as const;
export type AdminState = (typeof ADMIN_STATES)[number];

const NAME = /^[A-Za-z0-9._:-]+$/;
const MAX_NAME = 100;
// Literal addresses only: HAProxy would accept `fe80::1%eth0` or hostnames in other places; we never send them.
const ADDRESS_CHARS = /^[0-9A-Fa-f:.]+$/;

/** A backend or server name: `[A-Za-z0-9._:-]+`, at most 100 characters. */
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

const UNSPECIFIED = new BlockList();
UNSPECIFIED.addAddress('::', 'ipv6');

function unicastHost(address: string): boolean {
  if (isIPv4(address)) {
    const first = Number(address.split('.')[0]);
    // 0.0.0.0/8 "this network", 224.0.0.0/4 multicast, 240.0.0.0/4 reserved (includes 255.255.255.255).
    return first !== 0 && first < 224;
  }
  const lower = address.toLowerCase();
  if (lower.startsWith('ff')) return false;
  return !UNSPECIFIED.check(address, 'ipv6');
}

/** A TCP port 1-65535 (HAProxy silently wraps 99999 and accepts 0, so we refuse both here). */
export function validPort(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new InvalidArgumentError('port', value, 'must be an integer from 1 to 65535');
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

function make(kind: CommandKind, text: string, backend?: string, server?: string): Command {
  return Object.freeze({ kind, text, backend, server }) as Command;
}

function target(backend: unknown, server: unknown): [string, string] {
  return [validName('backend', backend), validName('server', server)];
}

/** `set server BE/SRV addr IP port P` — always with the `port` keyword (without it HAProxy ignores the port). */
export function setAddr(backend: string, server: string, address: string, port: number): Command {
  const [b, s] = target(backend, server);
  return make('set-addr', `set server ${b}/${s} addr ${validAddress(address)} port ${validPort(port)}`, b, s);
}

/** `set server BE/SRV state ready|drain|maint`. */
export function setState(backend: string, server: string, state: AdminState): Command {
  const [b, s] = target(backend, server);
  return make('set-state', `set server ${b}/${s} state ${validState(state)}`, b, s);
}

/** `set server BE/SRV weight W` with an absolute weight. */
export function setWeight(backend: string, server: string, weight: number): Command {
  const [b, s] = target(backend, server);
  return make('set-weight', `set server ${b}/${s} weight ${validWeight(weight)}`, b, s);
}

/** `enable health BE/SRV`. */
export function enableHealth(backend: string, server: string): Command {
  const [b, s] = target(backend, server);
  return make('enable-health', `enable health ${b}/${s}`, b, s);
}

/** `get weight BE/SRV`. */
export function getWeight(backend: string, server: string): Command {
  const [b, s] = target(backend, server);
  return make('get-weight', `get weight ${b}/${s}`, b, s);
}

/** `show stat BE 4 -1`: server rows of one backend (all three positional args, or HAProxy dumps everything). */
export function showStat(backend: string): Command {
  const b = validName('backend', backend);
  return make('show-stat', `show stat ${b} 4 -1`, b);
}

/** `show servers state BE`: admin bitmask, address and port of every server of one backend. */
export function showServersState(backend: string): Command {
  const b = validName('backend', backend);
  return make('show-servers-state', `show servers state ${b}`, b);
}

/** `show info`: process facts (Pid, Uptime_sec) that reveal a reload. */
export function showInfo(): Command {
  return make('show-info', 'show info');
}
