// Parser for `show servers state` format version 1: space-separated columns found by header name, admin bitmask decoded.
import { isIP } from 'node:net';
import type { AdminState } from '../domain/values.js';
import { ParseError } from '../errors.js';
import { lineEnd, linesWithField } from './find-lines.js';

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
  // Some servers' rows: their lines are found by a scan instead of cutting a 2,000-line reply into lines.
  const lines = only ? headLines(text) : text.split('\n');
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
  // Field index → position in REQUIRED (-1: not needed). A name that appears twice reads its last value, as the
  // `fields` map has it.
  const wanted = new Int32Array(header.length).fill(-1);
  REQUIRED.forEach((name, k) => {
    wanted[header.lastIndexOf(name)] = k;
  });
  const rows: ServerStateRow[] = [];
  if (only) {
    for (const line of linesWithField(text, only, ' ', nameAt, 2)) rows.push(toRow(header, wanted, line));
    return rows;
  }
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '') continue;
    rows.push(toRow(header, wanted, line));
  }
  return rows;
}

/** The version and header lines (the first two) without splitting the rest. */
function headLines(text: string): string[] {
  const first = lineEnd(text, 0);
  return [text.slice(0, first), text.slice(first + 1, lineEnd(text, first + 1))];
}

type Required = (typeof REQUIRED)[number];
const POSITION = Object.fromEntries(REQUIRED.map((name, k) => [name, k])) as Record<Required, number>;

/**
 * One row from its line, scanned once: only the REQUIRED columns are cut out (11 of 25; a fleet-scale pass reads
 * 100,000 lines, and splitting every field was most of its garbage), the rest on first use of `fields`.
 */
function toRow(header: readonly string[], wanted: Int32Array, line: string): ServerStateRow {
  const trimmed = line.trim();
  const required: string[] = new Array(REQUIRED.length).fill('');
  let field = 0;
  let start = 0;
  for (;;) {
    const end = trimmed.indexOf(' ', start);
    const k = field < wanted.length ? (wanted[field] as number) : -1;
    if (k >= 0) required[k] = trimmed.slice(start, end < 0 ? trimmed.length : end);
    field++;
    if (end < 0) break;
    start = end + 1;
  }
  if (field !== header.length) {
    throw new ParseError(`show servers state: ${header.length} columns expected, got ${field}: ${line.slice(0, 120)}`);
  }
  const f = (name: Required): string => required[POSITION[name]] ?? '';
  const where = `${f('be_name')}/${f('srv_name')}`;
  const int = (name: Required): number => {
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
  return new ParsedServerStateRow(header, trimmed, {
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
  });
}

/**
 * A row whose `fields` map is built on first use (only diagnostics read it): a frozen map of 25 columns per row was
 * most of this parser's cost at fleet scale. A class, because a getter in an object literal costs µs per object.
 */
class ParsedServerStateRow implements ServerStateRow {
  readonly backendId: number;
  readonly backend: string;
  readonly serverId: number;
  readonly server: string;
  readonly address: string | null;
  readonly port: number | null;
  readonly opState: number;
  readonly adminBits: number;
  readonly admin: AdminState;
  readonly uweight: number;
  readonly iweight: number;
  readonly checkState: number;
  readonly #header: readonly string[];
  #line: string;
  #fields?: Readonly<Record<string, string>>;

  constructor(header: readonly string[], line: string, row: Omit<ServerStateRow, 'fields'>) {
    this.backendId = row.backendId;
    this.backend = row.backend;
    this.serverId = row.serverId;
    this.server = row.server;
    this.address = row.address;
    this.port = row.port;
    this.opState = row.opState;
    this.adminBits = row.adminBits;
    this.admin = row.admin;
    this.uweight = row.uweight;
    this.iweight = row.iweight;
    this.checkState = row.checkState;
    this.#header = header;
    this.#line = line;
  }

  get fields(): Readonly<Record<string, string>> {
    if (this.#fields) return this.#fields;
    const values = this.#line.split(' ');
    const fields: Record<string, string> = {};
    this.#header.forEach((name, i) => {
      fields[name] = values[i] ?? '';
    });
    this.#fields = Object.freeze(fields);
    this.#line = '';
    return this.#fields;
  }
}
