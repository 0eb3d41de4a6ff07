// Parser for `show stat` CSV: quoted fields handled by a real CSV parser, columns found by header name, never by index.
import { isIP } from 'node:net';
import { parse } from 'csv-parse/sync';
import { ParseError } from '../errors.js';
import { lineEnd, linesWithField } from './find-lines.js';

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
/** `type` of a server row (0 FRONTEND, 1 BACKEND aggregate). */
export const SERVER_TYPE = 2;
// stats.c writes `* ` before check_status while CHK_ST_INPROGRESS is set; a health gate must not see `* L7OK` ≠ `L7OK`.
const IN_PROGRESS = '* ';

/**
 * Parses a `show stat` reply (with or without the final blank line) into its rows: all of them, or with `only` just
 * the rows of those server names (a one-slot sync reads one row, not the whole backend). Throws ParseError.
 */
export function parseShowStat(text: string, only?: ReadonlySet<string>): StatRow[] {
  if (!text.startsWith(HEADER_PREFIX)) {
    throw new ParseError(`show stat: expected a '# pxname,…' header, got ${JSON.stringify(firstLine(text))}`);
  }
  let records: Records;
  try {
    records = splitRecords(text.slice(HEADER_PREFIX.length), only);
  } catch (cause) {
    throw new ParseError(`show stat: malformed CSV: ${(cause as Error).message}`, { cause });
  }
  const { header } = records;
  const missing = REQUIRED.filter((name) => !header.includes(name));
  if (missing.length > 0) throw new ParseError(`show stat: header lacks column(s) ${missing.join(', ')}`);
  return records.rows.map((values) => toRow(header, values));
}

/** The header's names and, per row, the REQUIRED fields (in REQUIRED order) and a way to get every field. */
interface Records {
  readonly header: readonly string[];
  readonly rows: readonly RowValues[];
}

interface RowValues {
  readonly required: readonly string[];
  /** Every field: the line to split (unquoted path) or csv-parse's record. */
  readonly all: string | readonly string[];
}

/**
 * CSV records of the reply. A reply without a double quote has no quoted field, so splitting lines on commas is exact
 * RFC 4180 and far cheaper than the full parser: each line is scanned once for its commas and only the REQUIRED
 * fields are cut out (a reconcile at fleet scale reads 100,000 rows of 129 fields; splitting them all made most of its
 * garbage). The other fields are split on first use of `fields`. A reply with a quote anywhere (a check reply text such
 * as `"Busy, ""really"" busy"`) goes through csv-parse whole. Either way every record must have as many fields as the
 * header, or a shifted column would be read under the wrong name.
 */
function splitRecords(body: string, only?: ReadonlySet<string>): Records {
  if (body.includes('"')) return parsedRecords(body, only);
  // Some servers' rows: their lines are found by a scan, not by cutting the whole reply into lines (find-lines.ts).
  const lines = only
    ? [body.slice(0, lineEnd(body, 0)), ...linesWithField(body, only, ',', 1)]
    : body.split('\n').filter((line) => line !== '');
  const [headerLine, ...rest] = lines;
  if (headerLine === undefined) return { header: [], rows: [] };
  const header = headerLine.split(',');
  const width = header.length;
  // Field index → position in REQUIRED (-1: not needed); a name missing from the header is refused by the caller.
  const wanted = new Int32Array(width + 1).fill(-1);
  REQUIRED.forEach((name, k) => {
    const at = header.indexOf(name);
    if (at >= 0) wanted[at] = k;
  });
  const rows = rest.map((line, i) => {
    const required: string[] = new Array(REQUIRED.length).fill('');
    let field = 0;
    let start = 0;
    for (let at = 0; at <= line.length; at++) {
      if (at < line.length && line.charCodeAt(at) !== COMMA) continue;
      const k = field < width ? (wanted[field] as number) : -1;
      if (k >= 0) required[k] = line.slice(start, at);
      field++;
      start = at + 1;
    }
    if (field !== width) throw new Error(`record ${i + 2} has ${field} fields, the header ${width}`);
    return { required, all: line };
  });
  return { header, rows };
}

const COMMA = 44;

function parsedRecords(body: string, only?: ReadonlySet<string>): Records {
  const records = (parse(body, { skip_empty_lines: true }) as string[][]).filter(
    (r, i) => i === 0 || !only || only.has(r[1] ?? ''),
  );
  const width = records[0]?.length ?? 0;
  const bad = records.findIndex((r) => r.length !== width);
  if (bad >= 0) throw new Error(`record ${bad + 1} has ${records[bad]?.length} fields, the header ${width}`);
  const [header = [], ...rest] = records;
  const columns = REQUIRED.map((name) => header.indexOf(name));
  return {
    header,
    rows: rest.map((values) => ({ required: columns.map((c) => values[c] ?? ''), all: values })),
  };
}

// Positions in REQUIRED, for reading RowValues.required.
const [PXNAME, SVNAME, TYPE, STATUS, SCUR, UWEIGHT, CHECK_STATUS, CHECK_RISE, ADDR] = REQUIRED.map((_, k) => k);

function toRow(header: readonly string[], values: RowValues): StatRow {
  const f = (k: number | undefined): string => values.required[k as number] ?? '';
  const where = `${f(PXNAME)}/${f(SVNAME)}`;
  const type = integer(where, 'type', f(TYPE), false);
  const isServer = type === SERVER_TYPE;
  const status = f(STATUS);
  const [address, port] = splitAddr(where, f(ADDR));
  const check = f(CHECK_STATUS);
  const space = status.indexOf(' ');
  return new ParsedStatRow(header, values.all, {
    backend: f(PXNAME),
    server: f(SVNAME),
    type,
    status,
    statusWord: status.startsWith('no check') ? 'no check' : space < 0 ? status : status.slice(0, space),
    // Aggregate rows leave some counters empty (a FRONTEND has no uweight); servers always fill them.
    sessions: integer(where, 'scur', f(SCUR), !isServer),
    uweight: integer(where, 'uweight', f(UWEIGHT), !isServer),
    checkStatus: check.startsWith(IN_PROGRESS) ? check.slice(IN_PROGRESS.length) : check,
    hasCheck: f(CHECK_RISE) !== '',
    address,
    port,
  });
}

/**
 * A row whose `fields` map is built on first use: 128 named columns per row add up over 100,000 rows, and only
 * diagnostics read them. A class, because a getter in an object literal costs a few µs per object in V8.
 */
class ParsedStatRow implements StatRow {
  readonly backend: string;
  readonly server: string;
  readonly type: number;
  readonly status: string;
  readonly statusWord: string;
  readonly sessions: number;
  readonly uweight: number;
  readonly checkStatus: string;
  readonly hasCheck: boolean;
  readonly address: string | null;
  readonly port: number | null;
  readonly #header: readonly string[];
  #all: string | readonly string[];
  #fields?: Readonly<Record<string, string>>;

  constructor(header: readonly string[], all: string | readonly string[], row: Omit<StatRow, 'fields'>) {
    this.backend = row.backend;
    this.server = row.server;
    this.type = row.type;
    this.status = row.status;
    this.statusWord = row.statusWord;
    this.sessions = row.sessions;
    this.uweight = row.uweight;
    this.checkStatus = row.checkStatus;
    this.hasCheck = row.hasCheck;
    this.address = row.address;
    this.port = row.port;
    this.#header = header;
    this.#all = all;
  }

  get fields(): Readonly<Record<string, string>> {
    if (this.#fields) return this.#fields;
    const values = typeof this.#all === 'string' ? this.#all.split(',') : this.#all;
    const fields: Record<string, string> = {};
    this.#header.forEach((name, i) => {
      // The header ends with a comma, so the last column has no name; `-` is a real (constant) pseudo-column.
      if (name !== '') fields[name] = values[i] ?? '';
    });
    this.#fields = Object.freeze(fields);
    this.#all = '';
    return this.#fields;
  }
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
  // Only a bracketed form can match the first pattern, and a bracket anywhere fails the second.
  const match = raw.startsWith('[') ? /^\[([^\]]+)\]:(\d+)$/.exec(raw) : /^([^:[\]]+):(\d+)$/.exec(raw);
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
