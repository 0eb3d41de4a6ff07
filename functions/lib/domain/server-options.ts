// Domain: the server keywords a dynamic server may be added with (`add server … <options>`) — a whitelist of keywords,
// each with a typed value, so no free text from the config ever reaches a socket (docs/ARCHITECTURE.md, "Growth").
import { InvalidArgumentError } from '../errors.js';

/** What one keyword takes. Durations are milliseconds (rendered `2000ms`); flags are the bare keyword. */
type KeywordKind =
  | { readonly type: 'flag' }
  | { readonly type: 'int'; readonly min: number; readonly max: number }
  | { readonly type: 'duration'; readonly max: number }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'pattern'; readonly pattern: RegExp; readonly what: string };

const HOUR_MS = 3_600_000;
// An absolute path of plain characters: HAProxy reads it from its own store (files the config already loaded).
const PATH = /^\/[A-Za-z0-9._/-]{1,255}$/;
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
// Comma-separated protocol ids (`h2,http/1.1`), no spaces.
const ALPN = /^[A-Za-z0-9._/-]{1,32}(,[A-Za-z0-9._/-]{1,32}){0,7}$/;
// `sni` takes a sample expression; only the three forms a backend needs: a fixed name, the client's Host, its SNI.
const SNI = /^(str\([A-Za-z0-9.-]{1,253}\)|req\.hdr\(host\)|ssl_fc_sni)$/;
const TLS_VERSIONS = ['TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;

/**
 * Every keyword a dynamic server may carry, in the order they are rendered. Not here on purpose: `weight` (each slot's
 * weight is its record's, as for template slots), `cookie`, `enabled`, `no-check` (HAProxy refuses them for dynamic
 * servers), `init-state` (3.1+ only: a host of another version would refuse the whole server), and anything that
 * takes free text (`agent-send`, `check` sample expressions beyond the forms above).
 */
export const SERVER_KEYWORDS = {
  check: { type: 'flag' },
  inter: { type: 'duration', max: HOUR_MS },
  fastinter: { type: 'duration', max: HOUR_MS },
  downinter: { type: 'duration', max: HOUR_MS },
  rise: { type: 'int', min: 1, max: 1000 },
  fall: { type: 'int', min: 1, max: 1000 },
  'check-ssl': { type: 'flag' },
  'check-sni': { type: 'pattern', pattern: HOSTNAME, what: 'a host name' },
  'check-alpn': { type: 'pattern', pattern: ALPN, what: 'comma-separated protocol names (h2,http/1.1)' },
  'check-send-proxy': { type: 'flag' },
  observe: { type: 'enum', values: ['layer4', 'layer7'] },
  'on-marked-down': { type: 'enum', values: ['shutdown-sessions'] },
  maxconn: { type: 'int', min: 0, max: 1_000_000 },
  maxqueue: { type: 'int', min: 0, max: 1_000_000 },
  'pool-max-conn': { type: 'int', min: -1, max: 1_000_000 },
  slowstart: { type: 'duration', max: HOUR_MS },
  ssl: { type: 'flag' },
  verify: { type: 'enum', values: ['none', 'required'] },
  'ca-file': { type: 'pattern', pattern: PATH, what: 'an absolute path of A-Z a-z 0-9 . _ / -' },
  crt: { type: 'pattern', pattern: PATH, what: 'an absolute path of A-Z a-z 0-9 . _ / -' },
  sni: { type: 'pattern', pattern: SNI, what: 'str(<host name>), req.hdr(host) or ssl_fc_sni' },
  alpn: { type: 'pattern', pattern: ALPN, what: 'comma-separated protocol names (h2,http/1.1)' },
  'ssl-min-ver': { type: 'enum', values: TLS_VERSIONS },
  'ssl-max-ver': { type: 'enum', values: TLS_VERSIONS },
  'send-proxy': { type: 'flag' },
  'send-proxy-v2': { type: 'flag' },
} as const satisfies Record<string, KeywordKind>;

export type ServerKeyword = keyof typeof SERVER_KEYWORDS;
const KEYWORDS = Object.keys(SERVER_KEYWORDS) as ServerKeyword[];

/**
 * Validated options: keyword → value, keys in SERVER_KEYWORDS order, a flag's value `true`. Frozen, and plain JSON,
 * so a parsed config document serialised and parsed again is the same document.
 */
export type ServerOptions = Readonly<Partial<Record<ServerKeyword, string | number | true>>>;

function isKeyword(key: string): key is ServerKeyword {
  return Object.hasOwn(SERVER_KEYWORDS, key);
}

function validValue(keyword: ServerKeyword, value: unknown): string | number | true | undefined {
  const kind: KeywordKind = SERVER_KEYWORDS[keyword];
  const field = `dynamicServerOptions.${keyword}`;
  switch (kind.type) {
    case 'flag':
      if (typeof value !== 'boolean') throw new InvalidArgumentError(field, value, 'must be true or false');
      return value ? true : undefined;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < kind.min || value > kind.max)
        throw new InvalidArgumentError(field, value, `must be an integer from ${kind.min} to ${kind.max}`);
      return value;
    case 'duration':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > kind.max)
        throw new InvalidArgumentError(field, value, `must be milliseconds, an integer from 1 to ${kind.max}`);
      return value;
    case 'enum':
      if (typeof value !== 'string' || !kind.values.includes(value))
        throw new InvalidArgumentError(field, value, `must be one of ${kind.values.join(', ')}`);
      return value;
    case 'pattern':
      if (typeof value !== 'string' || !kind.pattern.test(value))
        throw new InvalidArgumentError(field, value, `must be ${kind.what}`);
      return value;
  }
}

/**
 * Validates a `{keyword: value}` object into ServerOptions. Unknown keywords are refused (with the list of known ones),
 * and so are combinations HAProxy refuses at `add server` time, so a bad config fails when it is parsed, not at the
 * first scale-out: TLS towards the server needs an explicit `verify`, and `verify required` needs a `ca-file`.
 */
export function validServerOptions(value: unknown): ServerOptions {
  if (value === undefined) return Object.freeze({});
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidArgumentError('dynamicServerOptions', value, 'must be an object of server keywords');
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!isKeyword(key))
      throw new InvalidArgumentError(
        'dynamicServerOptions',
        key,
        `is not a keyword a dynamic server may take (allowed: ${KEYWORDS.join(', ')})`,
      );
  }
  const options: Partial<Record<ServerKeyword, string | number | true>> = {};
  for (const keyword of KEYWORDS) {
    if (!Object.hasOwn(given, keyword)) continue;
    const v = validValue(keyword, given[keyword]);
    if (v !== undefined) options[keyword] = v;
  }
  const has = (k: ServerKeyword) => options[k] !== undefined;
  const get = (k: ServerKeyword) => options[k];
  if ((has('ssl') || has('check-ssl')) && !has('verify'))
    throw new InvalidArgumentError(
      'dynamicServerOptions.verify',
      undefined,
      "ssl/check-ssl need an explicit verify ('required' with a ca-file, or 'none'): HAProxy refuses the server otherwise",
    );
  if (get('verify') === 'required' && !has('ca-file'))
    throw new InvalidArgumentError('dynamicServerOptions.ca-file', undefined, "verify 'required' needs a ca-file");
  return Object.freeze(options);
}

/** True when the options configure a health check (the server then needs `enable health` after `add server`). */
export function checksHealth(options: ServerOptions): boolean {
  return options.check === true;
}

/**
 * The options as server-line words (`check`, `inter 2000ms`, …), each value checked once more: this text goes on
 * the wire (`add server`) and into haproxy.cfg (`render-config`).
 */
export function renderServerOptions(options: ServerOptions): string[] {
  const words: string[] = [];
  for (const keyword of Object.keys(options)) {
    if (!isKeyword(keyword)) throw new InvalidArgumentError('dynamicServerOptions', keyword, 'unknown keyword');
  }
  for (const keyword of KEYWORDS) {
    if (!Object.hasOwn(options, keyword)) continue;
    const v = validValue(keyword, options[keyword]);
    if (v === undefined) continue;
    const kind: KeywordKind = SERVER_KEYWORDS[keyword];
    if (kind.type === 'flag') words.push(keyword);
    else if (kind.type === 'duration') words.push(keyword, `${v}ms`);
    else words.push(keyword, String(v));
  }
  return words;
}
