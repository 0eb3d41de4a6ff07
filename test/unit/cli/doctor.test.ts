// `doctor`'s judgement, pure: facts as hosts and the table report them → one cell per host and check, and the verdict.
import { describe, expect, it } from 'vitest';
import { describeSlots } from '../../../bin/cli/doctor-backend-checks.js';
import { stateFile, statsMaxconn } from '../../../bin/cli/doctor-host-checks.js';
import { renderDoctor } from '../../../bin/cli/doctor-render.js';
import { judge } from '../../../bin/cli/doctor-report.js';
import type { BackendFacts, DoctorFacts, DoctorReport, HostFacts } from '../../../bin/cli/doctor-types.js';
import type { SlotRecord } from '../../../functions/lib/domain/types.js';
import { parseServersState } from '../../../functions/lib/haproxy/parse-servers-state.js';
import { capturedReply } from '../../support/version-fixtures.js';

// The header and a row of `show servers state be` captured from 2.6.12; rows below vary name, fqdn and admin bits.
const CAPTURED = capturedReply('2.6.12', 'replies.txt', 'show servers state be');
const HEADER = CAPTURED.split('\n').slice(0, 2).join('\n');

/** `show servers state web` with these slots: `[name, fqdn, adminBits]` (fqdn `-` = an IP-literal placeholder). */
function servers(rows: readonly (readonly [string, string?, number?])[]): BackendFacts['servers'] {
  const lines = rows.map(
    ([name, fqdn = 'localhost', admin = 5], i) =>
      `3 web ${i + 1} ${name} 127.0.0.1 0 ${admin} 1 1 1 1 0 0 14 0 0 0 ${fqdn} 9 - 0 0 - - 0`,
  );
  return parseServersState(`${HEADER}\n${lines.join('\n')}\n`);
}
const slots = (n: number) => Array.from({ length: n }, (_, i) => [`web${i + 1}`] as const);

function host(name: string, over: Partial<HostFacts> & { web?: Partial<BackendFacts> } = {}): HostFacts {
  const { web, ...rest } = over;
  return {
    host: name,
    endpoint: `127.0.0.1:${name === 'hap1' ? 9001 : 9002}`,
    info: { Pid: '1', Version: '2.6.12-1+deb12u4' },
    level: { ok: true, reply: 'admin' },
    startupLogs: { ok: true, reply: '' },
    capacity: { served: 11, of: 11, waitedMs: 3 },
    backends: new Map([['web', { present: true, servers: servers(slots(4)), algo: 'roundrobin', ...web }]]),
    ...rest,
  };
}
const record = (slot: string, dynamic = false): SlotRecord =>
  ({ backend: 'web', slot, state: 'free', version: 1, ...(dynamic ? { dynamic: true } : {}) }) as SlotRecord;

function facts(
  hosts: HostFacts[],
  table: readonly (string | SlotRecord)[] | 'unreachable' = ['web1', 'web2', 'web3', 'web4'],
) {
  const tableFacts: DoctorFacts['table'] =
    table === 'unreachable'
      ? {
          side: {
            name: 't',
            ok: false,
            cause: 'unreachable',
            error: { code: 'DYNAMODB_UNREACHABLE', message: 'cannot reach DynamoDB' },
          },
        }
      : {
          side: { name: 't', ok: true },
          slots: new Map([['web', table.map((s) => (typeof s === 'string' ? record(s) : s))]]),
        };
  return { at: 0, backends: [{ name: 'web', slotPrefix: 'web' }], hosts, table: tableFacts } satisfies DoctorFacts;
}
const cell = (r: DoctorReport, check: string, hostName: string) =>
  r.checks.find((c) => (c.backend ? `${c.backend} ${c.check}` : c.check) === check)?.hosts[hostName];

describe('doctor: the verdict is OK only when nothing is wrong', () => {
  it('is OK (0) for two hosts in step with each other and the table', () => {
    const r = judge(facts([host('hap1'), host('hap2')]));
    expect(r.verdict).toEqual({ state: 'OK', code: 0, reasons: [] });
    expect(r.checks.map((c) => (c.backend ? `${c.backend} ${c.check}` : c.check))).toEqual([
      'reachable',
      'cli level',
      'version',
      'stats maxconn',
      'server-state-file',
      'web backend',
      'web slots',
      'web table',
      'web algorithm',
      'web init-addr',
      'web growth',
    ]);
    expect(cell(r, 'web slots', 'hap2')).toEqual({ state: 'OK', value: '4: web1-web4' });
    expect(cell(r, 'server-state-file', 'hap1')).toMatchObject({ state: 'INFO', value: 'not observable' });
    expect(r.growth).toEqual([{ backend: 'web', enabled: false, names: [], reason: 'maxSlots is not set' }]);
  });

  it.each<[string, HostFacts, string, string, string]>([
    [
      'a host that does not answer',
      host('hap2', { error: { code: 'HOST_UNREACHABLE', message: 'hap2: refused' } }),
      'reachable',
      'CRITICAL',
      'HOST_UNREACHABLE',
    ],
    [
      'a socket below level admin',
      host('hap2', { level: { ok: true, reply: 'operator' } }),
      'cli level',
      'CRITICAL',
      'operator',
    ],
    [
      'HAProxy older than 2.6',
      host('hap2', { info: { Pid: '1', Version: '2.4.22-0ubuntu0.22.04.3' } }),
      'version',
      'CRITICAL',
      '2.4.22-0ubuntu0.22.04.3',
    ],
    [
      'a backend the host lacks',
      host('hap2', { web: { present: false, reply: "Can't find backend.", servers: [] } }),
      'web backend',
      'CRITICAL',
      'missing',
    ],
    [
      'the default stats maxconn (an 11th connection waits)',
      host('hap2', { capacity: { served: 10, of: 11, waitedMs: 3000 } }),
      'stats maxconn',
      'WARNING',
      '10 of 11 served',
    ],
    [
      'a slot placeholder without a hostname',
      host('hap2', { web: { servers: servers(slots(4).map(([n]) => [n, '-'] as const)) } }),
      'web init-addr',
      'WARNING',
      'IP literal',
    ],
    [
      'slots whose placeholder never resolved',
      host('hap2', { web: { servers: servers(slots(4).map(([n]) => [n, 'slot.invalid', 37] as const)) } }),
      'web init-addr',
      'CRITICAL',
      '4 unresolved',
    ],
    [
      'an algorithm the other host does not use',
      host('hap2', { web: { algo: 'leastconn' } }),
      'web algorithm',
      'WARNING',
      'leastconn',
    ],
  ])('names the host for %s', (_, odd, check, state, value) => {
    const r = judge(facts([host('hap1'), host('hap3'), odd]));
    expect(cell(r, check, 'hap2')).toMatchObject({ state, value });
    expect(cell(r, check, 'hap1')?.state).not.toBe(state);
    expect(r.verdict.state).toBe(state);
    expect(r.verdict.code).toBe(state === 'CRITICAL' ? 2 : 1);
    expect(r.verdict.reasons).toContainEqual({ state, text: `hap2 ${check}: ${value}` });
  });

  it('says why a version is refused, naming the host', () => {
    const r = judge(facts([host('hap1', { info: { Pid: '1', Version: '2.4.22' } })]));
    expect(cell(r, 'version', 'hap1')?.detail).toBe(
      'hap1: HAProxy 2.4.22 is older than 2.6, the oldest version slot-sync supports: every operation refuses this host',
    );
  });

  it('judges nothing else on a host that did not answer', () => {
    const r = judge(facts([host('hap1'), host('hap2', { error: { code: 'HOST_TIMEOUT', message: 'hap2: timeout' } })]));
    expect(r.verdict.reasons).toEqual([{ state: 'CRITICAL', text: 'hap2 reachable: HOST_TIMEOUT' }]);
    for (const c of r.checks.filter((x) => x.check !== 'reachable')) expect(c.hosts.hap2?.value).toBe('-');
  });

  it('marks the host that lacks slot names other hosts have, and the table slots it lacks', () => {
    const r = judge(facts([host('hap1'), host('hap2', { web: { servers: servers(slots(3)) } })]));
    expect(cell(r, 'web slots', 'hap1')).toEqual({ state: 'OK', value: '4: web1-web4' });
    expect(cell(r, 'web slots', 'hap2')).toEqual({
      state: 'CRITICAL',
      value: '3: web1-web3',
      detail: 'lacks web4, which other hosts have: the slot names differ between hosts',
    });
    expect(cell(r, 'web table', 'hap2')).toMatchObject({ state: 'CRITICAL', value: 'lacks 1 of 4' });
    expect(r.verdict.code).toBe(2);
  });

  it('differing names on both sides mark both hosts', () => {
    const other = servers([['web1'], ['web2'], ['web3'], ['web5']]);
    const r = judge(facts([host('hap1'), host('hap2', { web: { servers: other } })], ['web1', 'web2', 'web3']));
    expect(cell(r, 'web slots', 'hap1')).toMatchObject({
      state: 'CRITICAL',
      detail: expect.stringMatching(/^lacks web5,/),
    });
    expect(cell(r, 'web slots', 'hap2')).toMatchObject({
      state: 'CRITICAL',
      detail: expect.stringMatching(/^lacks web4,/),
    });
  });

  it.each<[string, readonly string[], string, string]>([
    ['not seeded yet', [], 'WARNING', 'not seeded'],
    ['slots every host has but the table lacks', ['web1', 'web2', 'web3'], 'WARNING', '1 not in the table'],
    ['a table slot no host has', ['web1', 'web2', 'web3', 'web4', 'web5'], 'CRITICAL', 'lacks 1 of 5'],
  ])('compares each host with the table: %s', (_, table, state, value) => {
    const r = judge(facts([host('hap1'), host('hap2')], table));
    expect(cell(r, 'web table', 'hap1')).toMatchObject({ state, value });
    expect(r.verdict.state).toBe(state);
  });

  it('leaves dynamic slots out of the comparison', () => {
    const withDynamic = host('hap1', { web: { servers: servers([...slots(4), ['web5', '-', 0]]) } });
    const r = judge(facts([withDynamic, host('hap2')], ['web1', 'web2', 'web3', 'web4', record('web5', true)]));
    expect(r.verdict.state).toBe('OK');
    expect(cell(r, 'web slots', 'hap1')).toEqual({ state: 'OK', value: '4: web1-web4 (+1 dynamic)' });
  });

  it('is CRITICAL when the table is unreachable, and still judges the hosts', () => {
    const r = judge(facts([host('hap1')], 'unreachable'));
    expect(r.verdict).toEqual({
      state: 'CRITICAL',
      code: 2,
      reasons: [{ state: 'CRITICAL', text: 'table DYNAMODB_UNREACHABLE' }],
    });
    expect(cell(r, 'web table', 'hap1')).toMatchObject({ state: 'INFO', value: '-' });
    expect(cell(r, 'web slots', 'hap1')?.state).toBe('OK');
  });
});

describe('doctor: growth', () => {
  const grow = (algo: string, maxSlots?: number) =>
    judge({ ...facts([host('hap1', { web: { algo } })]), backends: [{ name: 'web', slotPrefix: 'web', maxSlots }] });

  it('warns when maxSlots asks for growth the algorithm refuses', () => {
    const r = grow('static-rr', 8);
    expect(cell(r, 'web growth', 'hap1')).toMatchObject({ state: 'WARNING', value: 'impossible (static-rr)' });
    expect(r.growth[0]).toMatchObject({ enabled: false, reason: expect.stringContaining('hap1 (balance static-rr)') });
  });

  it('only notes what it cannot see: hash-type consistent', () => {
    const r = grow('source', 8);
    expect(cell(r, 'web growth', 'hap1')).toMatchObject({ state: 'INFO', value: 'only with hash-type consistent' });
    expect(r.verdict.state).toBe('OK');
  });

  it('is OK without maxSlots, whatever the algorithm', () => {
    expect(grow('static-rr').verdict.state).toBe('OK');
    expect(grow('roundrobin', 8).growth[0]).toMatchObject({ enabled: true, names: ['web5', 'web6', 'web7', 'web8'] });
  });
});

describe('doctor: what the Runtime API does not show', () => {
  it('infers stats maxconn from how many concurrent connections were served', () => {
    expect(statsMaxconn({ served: 11, of: 11, waitedMs: 4 })).toMatchObject({ state: 'OK', value: 'above 10' });
    expect(statsMaxconn({ served: 10, of: 11, waitedMs: 3000 }).detail).toContain('stats maxconn is at most 10');
    expect(statsMaxconn(undefined)).toEqual({ state: 'INFO', value: 'not measured' });
  });

  it.each([
    ['silent', '', 'INFO', 'not observable'],
    [
      'the file was missing at start',
      "[WARNING]  (13736) : config : config: Can't open global server state file '/var/lib/haproxy/state': No such file or directory",
      'OK',
      'configured, absent at start',
    ],
    [
      'servers were restored from it',
      '[WARNING]  (15058) : config : Server web/web1 is UP/READY (leaving forced maintenance).\n' +
        '[WARNING]  (15058) : config : Server web/web1 remains in forced drain mode.',
      'OK',
      'loaded at start',
    ],
    [
      'it could not be applied',
      "[WARNING]  (1) : config: corrupted global server state file '/var/lib/haproxy/state' at line 3.",
      'WARNING',
      'not applied',
    ],
  ])('reads the server-state file from the startup log: %s', (_, logs, state, value) => {
    expect(stateFile(host('hap1', { startupLogs: { ok: true, reply: logs } }))).toMatchObject({ state, value });
  });

  it('describes slot names compactly', () => {
    expect(
      describeSlots('web', ['web10', 'web2', 'web1', 'web3', 'web4', 'web5', 'web6', 'web7', 'web8', 'web9']),
    ).toBe('10: web1-web10');
    expect(describeSlots('web', ['web1', 'web7', 'web2'])).toBe('3: web1, web2, web7');
    expect(describeSlots('web', [])).toBe('0');
  });
});

describe('doctor: text', () => {
  it('shows one column per host, the findings and the verdict line last', () => {
    const text = renderDoctor(judge(facts([host('hap1'), host('hap2', { level: { ok: true, reply: 'user' } })])));
    expect(text).toMatch(/^CHECK {14}STATE {5}hap1 {16}hap2$/m);
    expect(text).toMatch(/^cli level {10}CRITICAL {2}admin {15}user$/m);
    expect(text).toContain(
      "findings:\n  CRITICAL  hap2 cli level: user — at level user every 'set server' is 'Permission denied': bind the stats socket with 'level admin'\n",
    );
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      'CRITICAL · 2 hosts · 1 backend · 1 critical · 0 warnings · 2 not judged',
    );
  });
});
