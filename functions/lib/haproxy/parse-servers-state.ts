// Parser for `show servers state` format version 1: space-separated columns found by header name, admin bitmask decoded.
import { isIP } from 'node:net';
import type { AdminState } from '../domain/values.js';
import { ParseError } from '../errors.js';

/** One server line of `show servers state`. */
export interface ServerStateRow {
  readonly backendId: number;
  readonly backend: string;
  readonly serverId: number;
  readonly server: string;
  /** `srv_addr`, null when HAProxy prints `-` (the server has no address, e.g. an unresolved FQDN). */
  readonly address: string | null;
  /** `srv_port`; null together with `address`, since a port without an address is no destination. */
  readonly port: number | null;
  /** `srv_op_state`: 0 stopped, 1 starting, 2 running, 3 stopping. */
  readonly opState: number;
  /** `srv_admin_state`, the raw bitmask. */
  readonly adminBits: number;
  readonly admin: AdminState;
  readonly uweight: number;
  readonly iweight: number;
  /** `srv_check_state` bitmask: 0x01 in progress, 0x02 configured, 0x04 enabled, 0x08 paused. */
  readonly checkState: number;
  readonly fields: Readonly<Record<string, string>>;
}

/** Admin bits meaning maintenance: 0x01 forced (CLI), 0x02 inherited (tracking), 0x20 resolution failure. */
export const ADMIN_MAINT_MASK = 0x23;
/** Admin bits meaning drain: 0x08 forced, 0x10 inherited. */
export const ADMIN_DRAIN_MASK = 0x18;
/** `srv_check_state` bit set whenever a health check is configured, also while paused in MAINT. */
export const CHECK_CONFIGURED = 0x02;

const VERSION = '1';
const REQUIRED = [
  'be_id',
  'be_name',
  'srv_id',
  'srv_name',
  'srv_addr',
  'srv_op_state',
  'srv_admin_state',
  'srv_uweight',
  'srv_iweight',
  'srv_check_state',
  'srv_port',
] as const;

/**
 * Maint if any of 0x23, else drain if any of 0x18, else ready. Never test `bits === 0` for ready: config slots keep
 * 0x04 (CMAINT, "disabled" in the config) after `state ready`, so a ready template slot reads 4.
 */
export function decodeAdmin(bits: number): AdminState {
  if (bits & ADMIN_MAINT_MASK) return 'maint';
  if (bits & ADMIN_DRAIN_MASK) return 'drain';
  return 'ready';
}

/** Parses a `show servers state` reply; throws ParseError on another version, a missing column or a malformed line. */
export function parseServersState(text: string, only?: ReadonlySet<string>): ServerStateRow[] {
  const lines = text.split('\n');
  const version = (lines[0] ?? '').trim();
  if (version !== VERSION) {
    throw new ParseError(`show servers state: expected format version 1, got ${JSON.stringify(version.slice(0, 120))}`);
  }
  const headerLine = lines[1] ?? '';
  if (!headerLine.startsWith('# ')) throw new ParseError('show servers state: the header line is missing');
  const header = headerLine.slice(2).trim().split(' ');
  const missing = REQUIRED.filter((name) => !header.includes(name));
  if (missing.length > 0) throw new ParseError(`show servers state: header lacks column(s) ${missing.join(', ')}`);
  const nameAt = header.indexOf('srv_name');
  return lines
    .slice(2)
    .filter((line) => line.trim() !== '' && (!only || only.has(line.trim().split(' ', nameAt + 1)[nameAt] ?? '')))
    .map((line) => toRow(header, line));
}

function toRow(header: readonly string[], line: string): ServerStateRow {
  const values = line.trim().split(' ');
  if (values.length !== header.length) {
    throw new ParseError(
      `show servers state: ${header.length} columns expected, got ${values.length}: ${line.slice(0, 120)}`,
    );
  }
  const fields: Record<string, string> = {};
  header.forEach((name, i) => {
    fields[name] = values[i] ?? '';
  });
  const f = (name: (typeof REQUIRED)[number]): string => fields[name] ?? '';
  const where = `${f('be_name')}/${f('srv_name')}`;
  const int = (name: (typeof REQUIRED)[number]): number => {
    const raw = f(name);
    if (!/^\d+$/.test(raw))
      throw new ParseError(`show servers state: ${where}: ${name} is not an integer: ${JSON.stringify(raw)}`);
    return Number(raw);
  };
  const rawAddr = f('srv_addr');
  if (rawAddr !== '-' && isIP(rawAddr) === 0) {
    throw new ParseError(`show servers state: ${where}: srv_addr is not an IP: ${JSON.stringify(rawAddr)}`);
  }
  const address = rawAddr === '-' ? null : rawAddr;
  const adminBits = int('srv_admin_state');
  return {
    backendId: int('be_id'),
    backend: f('be_name'),
    serverId: int('srv_id'),
    server: f('srv_name'),
    address,
    port: address === null ? null : int('srv_port'),
    opState: int('srv_op_state'),
    adminBits,
    admin: decodeAdmin(adminBits),
    uweight: int('srv_uweight'),
    iweight: int('srv_iweight'),
    checkState: int('srv_check_state'),
    fields: Object.freeze(fields),
  };
}
