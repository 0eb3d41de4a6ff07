// Parser for `show stat` CSV: quoted fields handled by a real CSV parser, columns found by header name, never by index.
import { isIP } from 'node:net';
import { parse } from 'csv-parse/sync';
import { ParseError } from '../errors.js';

/** One `show stat` row: a frontend (type 0), backend aggregate (type 1) or server (type 2). */
export interface StatRow {
  readonly backend: string;
  readonly server: string;
  /** 0 = FRONTEND, 1 = BACKEND aggregate, 2 = server. */
  readonly type: number;
  /** Raw status with its suffix (`UP 1/3`, `MAINT (resolution)`, `no check`). */
  readonly status: string;
  /** `UP`, `DOWN`, `DRAIN`, `MAINT`, `NOLB`, `OPEN`, or `no check` (the one status that is two words). */
  readonly statusWord: string;
  /** `scur`: current sessions. */
  readonly sessions: number;
  /** `uweight`: the weight `set server … weight` set (the `weight` column is stale in MAINT). */
  readonly uweight: number;
  /** `check_status` without the `* ` HAProxy prepends while a check is running (`* L7OK` → `L7OK`); raw in `fields`. */
  readonly checkStatus: string;
  /**
   * True when the check columns are filled (`check_rise`). On HAProxy 2.6.12 they go empty while a server is in
   * MAINT or its health check is disabled, so this is "checks are running", not "a check is configured": the
   * merge in observe.ts takes `hasCheck` from `show servers state` (`srv_check_state & 0x02`) instead.
   */
  readonly hasCheck: boolean;
  /** IP literal from `addr` (IPv6 without the brackets HAProxy prints), null when the server has no address. */
  readonly address: string | null;
  readonly port: number | null;
  /** Every named column, raw (the trailing unnamed column is dropped). */
  readonly fields: Readonly<Record<string, string>>;
}

const REQUIRED = [
  'pxname',
  'svname',
  'type',
  'status',
  'scur',
  'uweight',
  'check_status',
  'check_rise',
  'addr',
] as const;
const HEADER_PREFIX = '# ';
const SERVER_TYPE = 2;
// stats.c writes `* ` before check_status while CHK_ST_INPROGRESS is set; a health gate must not see `* L7OK` ≠ `L7OK`.
const IN_PROGRESS = /^\* /;

/**
 * Parses a `show stat` reply (with or without the final blank line) into its rows: all of them, or with `only` just
 * the rows of those server names (a one-slot sync reads one row, not the whole backend). Throws ParseError.
 */
export function parseShowStat(text: string, only?: ReadonlySet<string>): StatRow[] {
  if (!text.startsWith(HEADER_PREFIX)) {
    throw new ParseError(`show stat: expected a '# pxname,…' header, got ${JSON.stringify(firstLine(text))}`);
  }
  let records: string[][];
  try {
    records = splitRecords(text.slice(HEADER_PREFIX.length), only);
  } catch (cause) {
    throw new ParseError(`show stat: malformed CSV: ${(cause as Error).message}`, { cause });
  }
  const [header = [], ...rows] = records;
  const missing = REQUIRED.filter((name) => !header.includes(name));
  if (missing.length > 0) throw new ParseError(`show stat: header lacks column(s) ${missing.join(', ')}`);
  const column = Object.fromEntries(REQUIRED.map((name) => [name, header.indexOf(name)])) as Columns;
  return rows.map((values) => toRow(header, column, values));
}

/**
 * CSV records of the reply. A reply without a double quote has no quoted field, so splitting lines on commas is exact
 * RFC 4180 and ~20x cheaper than the full parser (a reconcile reads hundreds of rows per host). A reply with a quote
 * anywhere (a check reply text such as `"Busy, ""really"" busy"`) goes through csv-parse whole. Either way every
 * record must have as many fields as the header, or a shifted column would be read under the wrong name.
 */
function splitRecords(body: string, only?: ReadonlySet<string>): string[][] {
  const records = body.includes('"')
    ? (parse(body, { skip_empty_lines: true }) as string[][]).filter((r, i) => i === 0 || !only || only.has(r[1] ?? ''))
    : body
        .split('\n')
        .filter((line, i) => line !== '' && (i === 0 || !only || only.has(svname(line))))
        .map((line) => line.split(','));
  const width = records[0]?.length ?? 0;
  const bad = records.findIndex((r) => r.length !== width);
  if (bad >= 0) throw new Error(`record ${bad + 1} has ${records[bad]?.length} fields, the header ${width}`);
  return records;
}

/** The second field of an unquoted CSV line, without splitting the other 127. */
function svname(line: string): string {
  const first = line.indexOf(',');
  return line.slice(first + 1, line.indexOf(',', first + 1));
}

type Columns = Record<(typeof REQUIRED)[number], number>;

function toRow(header: readonly string[], column: Columns, values: readonly string[]): StatRow {
  const f = (name: (typeof REQUIRED)[number]): string => values[column[name]] ?? '';
  const where = `${f('pxname')}/${f('svname')}`;
  const type = integer(where, 'type', f('type'), false);
  const isServer = type === SERVER_TYPE;
  const status = f('status');
  const [address, port] = splitAddr(where, f('addr'));
  return {
    backend: f('pxname'),
    server: f('svname'),
    type,
    status,
    statusWord: status.startsWith('no check') ? 'no check' : (status.split(' ')[0] ?? ''),
    // Aggregate rows leave some counters empty (a FRONTEND has no uweight); servers always fill them.
    sessions: integer(where, 'scur', f('scur'), !isServer),
    uweight: integer(where, 'uweight', f('uweight'), !isServer),
    checkStatus: f('check_status').replace(IN_PROGRESS, ''),
    hasCheck: f('check_rise') !== '',
    address,
    port,
    // Built on first use: 128 named columns per row add up over hundreds of rows, and only diagnostics read them.
    get fields() {
      const fields: Record<string, string> = {};
      header.forEach((name, i) => {
        // The header ends with a comma, so the last column has no name; `-` is a real (constant) pseudo-column.
        if (name !== '') fields[name] = values[i] ?? '';
      });
      Object.defineProperty(this, 'fields', { value: Object.freeze(fields) });
      return fields;
    },
  };
}

function integer(where: string, column: string, raw: string, emptyIsZero: boolean): number {
  if (raw === '' && emptyIsZero) return 0;
  if (!/^-?\d+$/.test(raw))
    throw new ParseError(`show stat: ${where}: ${column} is not an integer: ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** `127.0.0.1:8001` or `[::1]:8001` (verified on 2.6.12 after `set server … addr ::1 port 8001`); '' = no address. */
function splitAddr(where: string, raw: string): [string | null, number | null] {
  if (raw === '') return [null, null];
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(raw) ?? /^([^:[\]]+):(\d+)$/.exec(raw);
  const ip = match?.[1] ?? '';
  const port = Number(match?.[2]);
  if (!match || isIP(ip) === 0 || port > 65535) {
    throw new ParseError(`show stat: ${where}: addr is not ip:port: ${JSON.stringify(raw)}`);
  }
  return [ip, port];
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').slice(0, 120);
}
