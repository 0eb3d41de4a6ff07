// parseServersState and decodeAdmin on `show servers state` captured from HAProxy 2.6.12 and quoted in the reference (§3.8).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../../functions/lib/errors.js';
import {
  decodeAdmin,
  parseServersState,
  type ServerStateRow,
} from '../../../functions/lib/haproxy/parse-servers-state.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/haproxy/${name}`, import.meta.url), 'utf8');
const byName = (rows: ServerStateRow[], backend: string, server: string): ServerStateRow => {
  const found = rows.find((r) => r.backend === backend && r.server === server);
  if (!found) throw new Error(`fixture has no ${backend}/${server}`);
  return found;
};

describe('parseServersState on a captured dump of every backend', () => {
  const rows = parseServersState(fixture('show-servers-state.txt'));
  const be = (s: string) => byName(rows, 'be', s);

  it('returns one row per server of every backend, with ids', () => {
    expect(rows.map((r) => `${r.backendId}:${r.backend}/${r.serverId}:${r.server}`)).toEqual([
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `3:be/${n}:websrv${n}`),
      '4:be_nocheck/1:websrv1',
      '4:be_nocheck/2:websrv2',
      '4:be_nocheck/3:websrv3',
      '5:be_static/1:websrv1',
      '6:be_noaddr/1:slot1',
    ]);
  });

  it('decodes ready (bits 4: the config `disabled` bit stays set), drain (12) and maint (5)', () => {
    expect([be('websrv1').adminBits, be('websrv1').admin]).toEqual([4, 'ready']);
    expect([be('websrv2').adminBits, be('websrv2').admin]).toEqual([12, 'drain']);
    expect([be('websrv3').adminBits, be('websrv3').admin]).toEqual([5, 'maint']);
    expect([be('websrv5').admin, be('websrv5').opState]).toEqual(['ready', 0]);
    expect(be('websrv9').admin).toBe('drain');
  });

  it('reads a server whose address never resolved as maint with null address and port', () => {
    expect(byName(rows, 'be_noaddr', 'slot1')).toMatchObject({
      adminBits: 37,
      admin: 'maint',
      address: null,
      port: null,
    });
    expect(byName(rows, 'be_noaddr', 'slot1').fields.srv_fqdn).toBe('localhost');
  });

  it('reads IPv4 and IPv6 addresses and the separate port column', () => {
    expect(be('websrv1').address).toBe('127.0.0.1');
    expect(be('websrv4').address).toBe('::1');
    expect(be('websrv7')).toMatchObject({ address: '127.0.0.1', port: 9 });
    expect(be('websrv4').port).toBe(Number(be('websrv4').fields.srv_port));
  });

  it('reads user and initial weights', () => {
    expect([be('websrv1').uweight, be('websrv1').iweight]).toEqual([50, 1]);
  });

  it('keeps the check-configured bit (0x02) in MAINT and lacks it without a check', () => {
    expect(be('websrv3').checkState & 0x02).toBe(0x02);
    expect(be('websrv1').checkState & 0x02).toBe(0x02);
    expect(byName(rows, 'be_nocheck', 'websrv1').checkState & 0x02).toBe(0);
  });
});

describe('parseServersState on other replies', () => {
  it('reads fresh template slots as maint (bits 5) on the placeholder port', () => {
    const slots = parseServersState(fixture('show-servers-state-fresh.txt')).filter((r) => r.backend === 'be');
    expect(slots).toHaveLength(9);
    for (const slot of slots)
      expect(slot).toMatchObject({ adminBits: 5, admin: 'maint', address: '127.0.0.1', port: 9 });
  });

  it('reads the one backend asked for', () => {
    const rows = parseServersState(fixture('show-servers-state-be.txt'));
    expect(new Set(rows.map((r) => r.backend))).toEqual(new Set(['be']));
    expect(rows).toHaveLength(9);
  });

  it('§3.8: reads the reference rows, a ready dynamic server (bits 0) included', () => {
    const rows = parseServersState(fixture('reference-servers-state-mixed.txt'));
    expect(rows.map((r) => [r.server, r.adminBits, r.admin, r.port])).toEqual([
      ['websrv1', 4, 'ready', 8001],
      ['websrv2', 12, 'drain', 8002],
      ['websrv3', 5, 'maint', 8003],
      ['websrv5', 4, 'ready', 9],
      ['dyn1', 0, 'ready', 8001],
    ]);
  });

  it('returns no rows for a backend without servers', () => {
    const [version, header] = fixture('show-servers-state-be.txt').split('\n');
    expect(parseServersState(`${version}\n${header}\n\n`)).toEqual([]);
  });
});

describe('decodeAdmin', () => {
  it.each([
    [0, 'ready'],
    [0x04, 'ready'],
    [0x40, 'ready'],
    [0x01, 'maint'],
    [0x02, 'maint'],
    [0x20, 'maint'],
    [5, 'maint'],
    [37, 'maint'],
    [36, 'maint'],
    [0x08, 'drain'],
    [0x10, 'drain'],
    [12, 'drain'],
    [44, 'maint'],
    [0x09, 'maint'],
  ] as const)('decodes %i as %s (maint bits win over drain bits)', (bits, admin) => {
    expect(decodeAdmin(bits)).toBe(admin);
  });
});

describe('parseServersState refusals', () => {
  const [version, header, line] = fixture('show-servers-state-be.txt').split('\n');

  it.each([
    ['an error reply', "Can't find backend.\n"],
    ['an empty reply', ''],
    ['another format version', `2\n${header}\n${line}\n`],
    ['a missing header', `${version}\n${line}\n`],
    [
      'a header without srv_admin_state',
      `${version}\n${header?.replace(' srv_admin_state ', ' srv_admin ')}\n${line}\n`,
    ],
    ['a line with a column too few', `${version}\n${header}\n${line?.replace(/ \d+$/, '')}\n`],
    [
      'a non-numeric admin state',
      `${version}\n${header}\n${line?.replace(/^3 be 1 websrv1 127\.0\.0\.1 2 4 /, '3 be 1 websrv1 127.0.0.1 2 x ')}\n`,
    ],
    ['a hostname in srv_addr', `${version}\n${header}\n${line?.replace(' 127.0.0.1 ', ' localhost ')}\n`],
  ])('throws ParseError on %s', (_name, text) => {
    expect(() => parseServersState(text)).toThrow(ParseError);
  });
});
