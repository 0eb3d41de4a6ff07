// Parsers over every captured version (2.6.12 … 3.4.0): show stat, show servers state, the merge, show info.
import { describe, expect, it } from 'vitest';
import { mergeObserved } from '../../../functions/lib/haproxy/observe.js';
import { parseShowInfo } from '../../../functions/lib/haproxy/parse-info.js';
import { parseServersState } from '../../../functions/lib/haproxy/parse-servers-state.js';
import { parseShowStat } from '../../../functions/lib/haproxy/parse-stat.js';
import { parseVersion } from '../../../functions/lib/haproxy/version.js';
import {
  CAPTURED_VERSIONS,
  type CapturedVersion,
  capturedReply,
  SESSIONS,
  sessionReplies,
} from '../../support/version-fixtures.js';

const SERVERS_STATE_FIELDS = 25;

/** Every `show stat` / `show servers state` reply of every session of a version. */
function repliesTo(version: CapturedVersion, prefix: string): Array<[string, string]> {
  return SESSIONS.flatMap((session) =>
    [...sessionReplies(version, session)].filter(([label]) => label.startsWith(prefix)),
  );
}

describe.each(CAPTURED_VERSIONS)('HAProxy %s captures', (version) => {
  it('parses every show stat reply by header name, servers with their address, port and status', () => {
    // `show stat BE 4 -1`: the server rows of one backend, as the fleet asks for them.
    const replies = repliesTo(version, 'show stat be 4 -1');
    expect(replies).toHaveLength(3);
    for (const [, reply] of replies) {
      const servers = parseShowStat(reply).filter((row) => row.type === 2);
      expect(servers.length).toBeGreaterThanOrEqual(4);
      for (const row of servers) {
        expect(row.backend).toBe('be');
        expect(row.address).toMatch(/^127\.0\.0\.\d+$/);
        expect(row.port).toBeGreaterThan(0);
        expect(row.statusWord).toMatch(/^(MAINT|UP|DOWN|DRAIN|no check)$/);
        expect(row.sessions).toBe(0);
      }
    }
  });

  it('keeps the columns it reads at their 2.6 names and lists the new ones under their own names', () => {
    const [row] = parseShowStat(capturedReply(version, 'replies.txt', 'show stat be 4 -1'));
    const names = Object.keys(row?.fields ?? {});
    for (const name of ['pxname', 'svname', 'scur', 'status', 'uweight', 'check_status', 'check_rise', 'addr'])
      expect(names).toContain(name);
    const added = {
      '2.6.12': [],
      // 2.8.0 printed the last new header as `(null)`; fixed later in 2.8, named `proto` from 3.0 on.
      '2.8.0': ['srid', 'h3req', '(null)'],
      '3.0.0': ['srid', 'h3req', 'proto'],
      '3.2.0': ['proto', 'ssl_ocsp_staple'],
      '3.4.0': ['proto', 'reqbin', 'ssl_ocsp_staple'],
    }[version];
    for (const name of added) expect(names).toContain(name);
    if (version === '2.6.12') expect(names).not.toContain('srid');
  });

  it(`parses every show servers state reply as format 1 with ${SERVERS_STATE_FIELDS} fields per server`, () => {
    const replies = repliesTo(version, 'show servers state');
    expect(replies.length).toBeGreaterThanOrEqual(3);
    for (const [, reply] of replies) {
      const rows = parseServersState(reply);
      expect(rows.length).toBeGreaterThanOrEqual(4);
      for (const row of rows) expect(Object.keys(row.fields)).toHaveLength(SERVERS_STATE_FIELDS);
    }
  });

  it('merges show stat and servers state into the same slots, weight from uweight even where CSV weight differs', () => {
    // replies-extended: web1 maint + weight 5 + re-addressed, web2 re-addressed then drain → maint → weight 0.
    const stat = parseShowStat(capturedReply(version, 'replies-extended.txt', 'show stat be 4 -1'));
    const state = parseServersState(capturedReply(version, 'replies-extended.txt', 'show servers state'));
    const merged = mergeObserved(stat, state).map(({ server, address, port, admin, weight }) => ({
      server,
      address,
      port,
      admin,
      weight,
    }));
    expect(merged).toEqual([
      { server: 'web1', address: '127.0.0.4', port: 8082, admin: 'maint', weight: 5 },
      { server: 'web2', address: '127.0.0.3', port: 8081, admin: 'maint', weight: 0 },
      { server: 'web3', address: '127.0.0.1', port: 9, admin: 'maint', weight: 1 },
      { server: 'web4', address: '127.0.0.1', port: 9, admin: 'maint', weight: 1 },
    ]);
    // The CSV `weight` of a MAINT server after `weight 0`: stale 1 on 2.6 (0 from 2.8 on); uweight is 0 on all.
    const web2 = stat.find((row) => row.server === 'web2');
    expect(web2?.fields.weight).toBe(version === '2.6.12' ? '1' : '0');
    expect(web2?.uweight).toBe(0);
  });

  it('decodes the admin bitmask of the dynamic session the same way (ready config slot, maint dynamic server)', () => {
    const state = parseServersState(capturedReply(version, 'replies-dynamic.txt', 'show servers state be'));
    const byName = Object.fromEntries(state.map((row) => [row.server, row]));
    // web3 is a config slot taken out of maint: admin 4 (CMAINT stays set) decodes to ready, op state 2 = running.
    expect(byName.web3).toMatchObject({ address: '127.0.0.5', port: 9090, adminBits: 4, admin: 'ready', uweight: 7 });
    expect(byName.dyn1).toMatchObject({ admin: 'maint', uweight: 3 });
  });

  it('reads Pid, Uptime_sec and a Version that parses to this release', () => {
    const info = parseShowInfo(capturedReply(version, 'replies-extended.txt', 'show info'));
    expect(info.Pid).toMatch(/^\d+$/);
    expect(info.Uptime_sec).toMatch(/^\d+$/);
    const parsed = parseVersion(info.Version ?? '');
    const [major, minor, patch] = version.split('.').map(Number);
    expect(parsed).toMatchObject({ major, minor, patch });
  });
});
