// parseShowStat on `show stat` output captured from HAProxy 2.6.12 and on the rows quoted in the reference (§3.3, §3.6).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../../functions/lib/errors.js';
import { parseServersState } from '../../../functions/lib/haproxy/parse-servers-state.js';
import { parseShowStat, type StatRow } from '../../../functions/lib/haproxy/parse-stat.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/haproxy/${name}`, import.meta.url), 'utf8');
const row = (rows: StatRow[], backend: string, server: string): StatRow => {
  const found = rows.find((r) => r.backend === backend && r.server === server);
  if (!found) throw new Error(`fixture has no ${backend}/${server}`);
  return found;
};

describe('parseShowStat on a captured full dump with mixed states', () => {
  const rows = parseShowStat(fixture('show-stat.csv'));
  const ports = new Map(
    parseServersState(fixture('show-servers-state.txt')).map((s) => [`${s.backend}/${s.server}`, s.port]),
  );

  it('returns every row, FRONTEND and BACKEND aggregates included, told apart by type', () => {
    expect(rows.map((r) => `${r.backend}/${r.server}:${r.type}`)).toEqual([
      'fe/FRONTEND:0',
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `be/websrv${n}:2`),
      'be/BACKEND:1',
      'be_nocheck/websrv1:2',
      'be_nocheck/websrv2:2',
      'be_nocheck/websrv3:2',
      'be_nocheck/BACKEND:1',
      'be_static/websrv1:2',
      'be_static/BACKEND:1',
      'be_noaddr/slot1:2',
      'be_noaddr/BACKEND:1',
    ]);
    expect(row(rows, 'fe', 'FRONTEND')).toMatchObject({ status: 'OPEN', address: null, port: null });
  });

  it('reads UP, DRAIN, MAINT and DOWN server rows with their check status', () => {
    const view = (s: string) => [row(rows, 'be', s).status, row(rows, 'be', s).checkStatus];
    expect(view('websrv1')).toEqual(['UP', 'L7OK']);
    expect(view('websrv2')).toEqual(['DRAIN', 'L7OK']);
    expect(view('websrv3')).toEqual(['MAINT', '']);
    expect(view('websrv5')).toEqual(['DOWN', 'L4CON']);
    expect(view('websrv6')).toEqual(['DOWN', 'L7STS']);
    expect(view('websrv9')).toEqual(['DRAIN 1/3', 'INI']);
  });

  it('prefix-matches statuses with a rise/fall suffix', () => {
    expect(row(rows, 'be', 'websrv9').statusWord).toBe('DRAIN');
  });

  it('drops the in-progress marker HAProxy puts before check_status while a check runs', () => {
    const header = fixture('show-stat-be.csv').split('\n')[0];
    const up = fixture('show-stat-be.csv').split('\n')[1]?.replace(',L7OK,', ',* L7OK,');
    const [running] = parseShowStat(`${header}\n${up}\n`);
    expect(running?.fields.check_status).toBe('* L7OK');
    expect(running?.checkStatus).toBe('L7OK');
  });

  it('unquotes a field with commas and doubled quotes without shifting the later columns', () => {
    const weird = row(rows, 'be', 'websrv6');
    expect(weird.fields.last_chk).toBe('Busy, "really" busy');
    expect(weird.fields.check_desc).toBe('Layer7 wrong status');
    expect(weird.fields['-']).toBe('-');
    expect(weird.address).toBe('127.0.0.1');
    expect(weird.port).toBe(ports.get('be/websrv6'));
    expect(weird.uweight).toBe(1);
  });

  it('splits a bracketed IPv6 addr into the bare address and the port', () => {
    const v6 = row(rows, 'be', 'websrv4');
    expect(v6.fields.addr).toMatch(/^\[::1\]:\d+$/);
    expect(v6).toMatchObject({ address: '::1', port: ports.get('be/websrv4'), status: 'UP' });
  });

  it('gives null address and port for a server without an address, and prefix-matches its status', () => {
    expect(row(rows, 'be_noaddr', 'slot1')).toMatchObject({
      address: null,
      port: null,
      status: 'MAINT (resolution)',
      statusWord: 'MAINT',
    });
  });

  it("keeps 'no check' whole as the status word of a server without health check", () => {
    expect(row(rows, 'be_nocheck', 'websrv1')).toMatchObject({
      status: 'no check',
      statusWord: 'no check',
      hasCheck: false,
    });
  });

  it('takes the weight from uweight, not from the weight column that is stale in MAINT', () => {
    expect(row(rows, 'be', 'websrv3').fields.weight).toBe('93');
    expect(row(rows, 'be', 'websrv3').uweight).toBe(1);
    expect(row(rows, 'be', 'websrv1').uweight).toBe(50);
  });

  it('reads current sessions from scur (two requests were held open during the capture)', () => {
    const servers = rows.filter((r) => r.backend === 'be' && r.type === 2);
    expect(servers.reduce((n, r) => n + r.sessions, 0)).toBe(2);
    expect(row(rows, 'be', 'BACKEND').sessions).toBe(2);
  });

  it('sees a health check only while the check columns are filled: not in MAINT, not without check', () => {
    for (const s of ['websrv1', 'websrv2', 'websrv4', 'websrv5', 'websrv6', 'websrv9'])
      expect(row(rows, 'be', s).hasCheck).toBe(true);
    expect(row(rows, 'be', 'websrv3').hasCheck).toBe(false);
    expect(row(rows, 'be_nocheck', 'websrv2').hasCheck).toBe(false);
  });
});

describe('parseShowStat on other captured replies', () => {
  it('reads the server rows of one backend (show stat be 4 -1)', () => {
    const rows = parseShowStat(fixture('show-stat-be.csv'));
    expect(rows.map((r) => r.server)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `websrv${n}`));
    expect(rows.every((r) => r.type === 2 && r.backend === 'be')).toBe(true);
  });

  it('reads fresh template slots as MAINT on the loopback placeholder', () => {
    const slots = parseShowStat(fixture('show-stat-fresh.csv')).filter((r) => r.backend === 'be' && r.type === 2);
    expect(slots).toHaveLength(9);
    for (const slot of slots)
      expect(slot).toMatchObject({ statusWord: 'MAINT', address: '127.0.0.1', port: 9, uweight: 1 });
  });

  it('returns no rows for a header-only reply (unknown numeric proxy id)', () => {
    const reply = JSON.parse(fixture('replies.json')).find(
      (r: { command: string }) => r.command === 'show stat 99 4 -1',
    );
    expect(parseShowStat(reply.reply)).toEqual([]);
  });
});

describe('parseShowStat on the rows quoted in the reference', () => {
  it('§3.3: reads the mixed UP/DRAIN/MAINT/DOWN rows and the BACKEND aggregate', () => {
    const rows = parseShowStat(fixture('reference-show-stat-mixed.csv'));
    expect(rows.map((r) => [r.server, r.statusWord, r.uweight, r.sessions, r.port])).toEqual([
      ['websrv1', 'UP', 1, 0, 8001],
      ['websrv2', 'DRAIN', 1, 0, 8002],
      ['websrv3', 'MAINT', 1, 0, 8003],
      ['websrv5', 'DOWN', 1, 0, 9],
      ['BACKEND', 'UP', 1, 0, null],
    ]);
    expect(row(rows, 'be', 'websrv3').fields.weight).toBe('93');
    expect(row(rows, 'be', 'websrv5').fields.last_chk).toBe('Connection refused');
    expect(row(rows, 'be', 'BACKEND').fields.algo).toBe('roundrobin');
  });

  it('§3.3: reads a fresh slot and its DOWN backend', () => {
    const [slot, backend] = parseShowStat(fixture('reference-show-stat-fresh.csv'));
    expect(slot).toMatchObject({ server: 'websrv1', type: 2, status: 'MAINT', address: '127.0.0.1', port: 9 });
    expect(backend).toMatchObject({ server: 'BACKEND', type: 1, status: 'DOWN', address: null });
  });
});

describe('parseShowStat refusals', () => {
  const header = fixture('show-stat-be.csv').split('\n')[0] ?? '';
  const line = fixture('show-stat-be.csv').split('\n')[1] ?? '';

  it.each([
    ['an error reply', 'No such proxy.\n'],
    ['an empty reply', ''],
    ['a header without the # prefix', `${header.slice(2)}\n${line}\n`],
    ['a header that lacks uweight', `${header.replace(',uweight,', ',uw,')}\n${line}\n`],
    ['a row with one field too many', `${header}\n${line}extra,\n`],
    ['a row with an unterminated quote', `${header}\n${line.replace('websrv1', '"websrv1')}\n`],
    [
      'a server row whose scur is not a number',
      `${header}\n${line.replace(/^be,websrv1,0,0,\d+,/, 'be,websrv1,0,0,x,')}\n`,
    ],
    ['an addr that is not ip:port', `${header}\n${line.replace(/127\.0\.0\.1:\d+/, 'localhost:80')}\n`],
  ])('throws ParseError on %s', (_name, text) => {
    expect(() => parseShowStat(text)).toThrow(ParseError);
  });
});
