// `slot-sync doctor` as a subprocess against real HAProxy hosts and DynamoDB Local: a fleet set up like the host kit
// is OK (0); each way a host, a backend or the table can be wrong gets its verdict, naming the host. Every test starts
// its own hosts (fresh loopback ports) and its own table: no test depends on another.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, type HaproxyOptions, startHaproxy, stopAll } from '../../bin/harness/haproxy.js';
import { type BackendSpec, renderConfig } from '../../bin/harness/haproxy-config.js';
import type { BackendConfig, HostConfig } from '../../functions/lib/config.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import { makeTestPki } from '../support/certs.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { cliEnv, configFor, lastLine, runCli } from './cli-support.js';

let ddb: DynamoDbLocal;
let n = 0;
const started: HaproxyHandle[] = [];

/** The host kit's slots: a hostname placeholder libc resolves, so `init-addr last` can restore addresses. */
const KIT: BackendSpec = {
  name: 'web',
  slotPrefix: 'web',
  slots: 4,
  check: true,
  placeholder: 'localhost:9',
  serverOptions: 'init-addr last,libc,none',
};
const WEB = ['web1', 'web2', 'web3', 'web4'];

/** Host options like the host kit's (state file, KIT slots), changed as a test needs. */
const kit = (over: Partial<HaproxyOptions> = {}): HaproxyOptions => ({ stateFile: true, backends: [KIT], ...over });

/** Options whose rendered config text is then edited (a setting the harness always writes, changed). */
const edited = (options: HaproxyOptions, edit: (text: string) => string): HaproxyOptions => ({
  ...options,
  configText: (layout) => edit(renderConfig(options, layout)),
});

/** Starts `doc-hap1..n` (one per options), a table seeded with `seed`, and the CLI environment over both. */
async function fleet(
  hosts: readonly HaproxyOptions[],
  seed: readonly string[] = WEB,
  backend: Partial<BackendConfig> = {},
  hostConfig: (h: HaproxyHandle) => HostConfig = (h) => h.hostConfig(),
) {
  const handles = await Promise.all(hosts.map((o, i) => startHaproxy({ ...o, name: `doc-hap${i + 1}` })));
  started.push(...handles);
  const { slotTable } = await ddb.createTables(`cli-doctor-${process.pid}-${++n}`);
  if (seed.length > 0) {
    await new DynamoDbSlotStore({ tableName: slotTable, client: ddb.client }).seed('web', seed);
  }
  const env = cliEnv(slotTable, ddb.endpoint, configFor(handles.map(hostConfig), backend));
  return { hosts: handles, env, doctor: (...args: string[]) => runCli(['doctor', ...args], env) };
}

/** The row of a check: `web slots  CRITICAL  4: web1-web4  3: web1-web3`. */
const row = (text: string, check: string) =>
  text.split('\n').find((l) => l.startsWith(`${check}  `) || l.startsWith(`${check} `)) ?? '';

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
});

afterEach(async () => {
  await stopAll(started.splice(0));
});

afterAll(async () => {
  await ddb?.stop();
});

describe('slot-sync doctor against real HAProxy hosts and DynamoDB Local', () => {
  it('is OK (0) for a fleet set up like the host kit, one column per host', async () => {
    const f = await fleet([kit(), kit()]);
    const r = await f.doctor();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [a, b] = f.hosts.map((h) => `127\\.0\\.0\\.1:${h.statsPort}`);
    expect(r.stdout).toMatch(/^CHECK\s+STATE\s+doc-hap1\s+doc-hap2$/m);
    expect(row(r.stdout, 'reachable')).toMatch(new RegExp(`^reachable\\s+OK\\s+${a}\\s+${b}$`));
    expect(row(r.stdout, 'cli level')).toMatch(/^cli level\s+OK\s+admin\s+admin$/);
    expect(row(r.stdout, 'version')).toMatch(/^version\s+OK\s+\d+\.\d+\S*\s+\d+\.\d+\S*$/);
    expect(row(r.stdout, 'stats maxconn')).toMatch(/^stats maxconn\s+OK\s+above 10\s+above 10$/);
    expect(row(r.stdout, 'server-state-file')).toMatch(
      /^server-state-file\s+OK\s+configured, absent at start\s+configured, absent at start$/,
    );
    expect(row(r.stdout, 'web backend')).toMatch(/^web backend\s+OK\s+present\s+present$/);
    expect(row(r.stdout, 'web slots')).toMatch(/^web slots\s+OK\s+4: web1-web4\s+4: web1-web4$/);
    expect(row(r.stdout, 'web table')).toMatch(/^web table\s+OK\s+matches \(4\)\s+matches \(4\)$/);
    expect(row(r.stdout, 'web algorithm')).toMatch(/^web algorithm\s+OK\s+roundrobin\s+roundrobin$/);
    expect(row(r.stdout, 'web init-addr')).toMatch(/^web init-addr\s+OK\s+hostname localhost\s+hostname localhost$/);
    expect(row(r.stdout, 'web growth')).toMatch(/^web growth\s+OK\s+possible\s+possible$/);
    expect(r.stdout).toContain('growth:\n  web: off: maxSlots is not set\n');
    expect(r.stdout).not.toContain('findings:');
    expect(lastLine(r.stdout)).toBe('OK · 2 hosts · 1 backend · 0 critical · 0 warnings · 0 not judged');
    expect(r.stdout).not.toContain('\x1b[');
  });

  it('--json carries the same checks, one cell per host, and the verdict', async () => {
    const f = await fleet([kit(), kit({ stateFile: false })]);
    const r = await f.doctor('--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(Object.keys(report)).toEqual(['verdict', 'at', 'table', 'hosts', 'checks', 'growth']);
    expect(report.verdict).toEqual({ state: 'OK', code: 0, reasons: [] });
    expect(report.table).toEqual({ name: f.env.SLOT_TABLE, ok: true });
    expect(report.hosts).toEqual(f.hosts.map((h) => ({ host: h.name, endpoint: `127.0.0.1:${h.statsPort}` })));
    expect(report.checks).toHaveLength(11);
    expect(report.checks[6]).toEqual({
      check: 'slots',
      backend: 'web',
      source: 'show servers state web: servers named web*',
      state: 'OK',
      hosts: { 'doc-hap1': { state: 'OK', value: '4: web1-web4' }, 'doc-hap2': { state: 'OK', value: '4: web1-web4' } },
    });
    // Without a state file the startup log is silent: not observable, said so, and not held against the fleet.
    const stateFile = report.checks.find((c: { check: string }) => c.check === 'server-state-file');
    expect(stateFile.state).toBe('OK');
    expect(stateFile.hosts['doc-hap2']).toMatchObject({ state: 'INFO', value: 'not observable' });
    expect(stateFile.source).toBe('inferred: show startup-logs (not observable when it is silent)');
    expect(report.growth).toEqual([{ backend: 'web', enabled: false, names: [], reason: 'maxSlots is not set' }]);
  });

  it('is CRITICAL (2) when a host is down, and judges nothing else there', async () => {
    const f = await fleet([kit(), kit()]);
    await f.hosts[1]?.stop();
    const r = await f.doctor();
    expect(r.code).toBe(2);
    expect(row(r.stdout, 'reachable')).toMatch(/^reachable\s+CRITICAL\s+127\.0\.0\.1:\d+\s+HOST_UNREACHABLE$/);
    expect(row(r.stdout, 'web slots')).toMatch(/^web slots\s+OK\s+4: web1-web4\s+-$/);
    expect(r.stdout).toMatch(/^ {2}CRITICAL {2}doc-hap2 reachable: HOST_UNREACHABLE — doc-hap2: cannot connect to /m);
    expect(lastLine(r.stdout)).toMatch(/^CRITICAL · 2 hosts · 1 backend · 1 critical · 0 warnings · /);
    const json = JSON.parse((await f.doctor('--json')).stdout);
    expect(json.verdict).toEqual({
      state: 'CRITICAL',
      code: 2,
      reasons: [{ state: 'CRITICAL', text: 'doc-hap2 reachable: HOST_UNREACHABLE' }],
    });
  });

  it('is CRITICAL (2) when a configured backend is missing on one host', async () => {
    const f = await fleet([kit(), kit({ backends: [{ ...KIT, name: 'api' }] })]);
    const r = await f.doctor();
    expect(r.code).toBe(2);
    expect(row(r.stdout, 'web backend')).toMatch(/^web backend\s+CRITICAL\s+present\s+missing$/);
    expect(row(r.stdout, 'web slots')).toMatch(/^web slots\s+OK\s+4: web1-web4\s+-$/);
    expect(r.stdout).toContain(
      "  CRITICAL  doc-hap2 web backend: missing — no backend web on this host (HAProxy: Can't find backend.)\n",
    );
  });

  it('is CRITICAL (2) when slot names differ between hosts, marking the host that lacks one', async () => {
    const f = await fleet([kit(), kit({ backends: [{ ...KIT, slots: 3 }] })]);
    const r = await f.doctor();
    expect(r.code).toBe(2);
    expect(row(r.stdout, 'web slots')).toMatch(/^web slots\s+CRITICAL\s+4: web1-web4\s+3: web1-web3$/);
    expect(row(r.stdout, 'web table')).toMatch(/^web table\s+CRITICAL\s+matches \(4\)\s+lacks 1 of 4$/);
    expect(r.stdout).toContain(
      '  CRITICAL  doc-hap2 web slots: 3: web1-web3 — lacks web4, which other hosts have: the slot names differ between hosts\n',
    );
    expect(r.stdout).toContain(
      '  CRITICAL  doc-hap2 web table: lacks 1 of 4 — lacks web4, which the table has: a member given one cannot be programmed on this host\n',
    );
  });

  it.each([
    ['slots every host has but the table lacks: WARNING (1)', ['web1', 'web2', 'web3'], 1, '1 not in the table'],
    ['a table slot no host has: CRITICAL (2)', [...WEB, 'web5'], 2, 'lacks 1 of 5'],
    ['a table not seeded yet: WARNING (1)', [], 1, 'not seeded'],
  ])('compares every host with the table — %s', async (_, seed, code, value) => {
    const f = await fleet([kit(), kit()], seed);
    const r = await f.doctor();
    expect(r.code).toBe(code);
    expect(row(r.stdout, 'web table')).toMatch(
      new RegExp(`^web table\\s+(WARNING|CRITICAL)\\s+${value.replace(/[()]/g, '\\$&')}\\s+`),
    );
    expect(row(r.stdout, 'web slots')).toMatch(/^web slots\s+OK\s+/);
  });

  it('is CRITICAL (2) for a stats socket below level admin', async () => {
    const f = await fleet([
      kit(),
      edited(kit(), (text) => text.replace(/(ipv4@\S+) level admin/, '$1 level operator')),
    ]);
    const r = await f.doctor();
    expect(r.code).toBe(2);
    expect(row(r.stdout, 'cli level')).toMatch(/^cli level\s+CRITICAL\s+admin\s+operator$/);
    expect(r.stdout).toContain(
      "doc-hap2 cli level: operator — at level operator every 'set server' is 'Permission denied'",
    );
  });

  it('is WARNING (1) at the default stats maxconn: an 11th concurrent connection is not served', async () => {
    const f = await fleet([kit(), edited(kit(), (text) => text.replace('    stats maxconn 100\n', ''))]);
    const r = await f.doctor();
    expect(r.code).toBe(1);
    expect(row(r.stdout, 'stats maxconn')).toMatch(/^stats maxconn\s+WARNING\s+above 10\s+10 of 11 served$/);
    expect(r.stdout).toMatch(/doc-hap2 stats maxconn: 10 of 11 served — only 10 of 11 concurrent CLI connections/);
  });

  it('is WARNING (1) for slots without a hostname placeholder: a reload cannot restore their addresses', async () => {
    const f = await fleet([
      kit(),
      kit({ backends: [{ ...KIT, placeholder: '127.0.0.1:9', serverOptions: undefined }] }),
    ]);
    const r = await f.doctor();
    expect(r.code).toBe(1);
    expect(row(r.stdout, 'web init-addr')).toMatch(/^web init-addr\s+WARNING\s+hostname localhost\s+IP literal$/);
  });

  it('is WARNING (1) when maxSlots asks for growth a host balances away (static-rr)', async () => {
    const staticRr = edited(kit(), (text) => text.replace('balance roundrobin', 'balance static-rr'));
    const f = await fleet([kit(), staticRr], WEB, { maxSlots: 8 });
    const r = await f.doctor();
    expect(r.code).toBe(1);
    expect(row(r.stdout, 'web algorithm')).toMatch(/^web algorithm\s+WARNING\s+roundrobin\s+static-rr$/);
    expect(row(r.stdout, 'web growth')).toMatch(/^web growth\s+WARNING\s+possible\s+impossible \(static-rr\)$/);
    expect(r.stdout).toContain(
      'growth:\n  web: off: web cannot take servers at run time on doc-hap2 (balance static-rr): use roundrobin, leastconn, first or random\n',
    );
  });

  it('probes a host behind the TLS proxy and a local unix socket (--socket) the same way', async () => {
    const pkiDir = mkdtempSync(join(tmpdir(), 'doctor-pki-'));
    try {
      const pki = makeTestPki(pkiDir);
      const tls = (h: HaproxyHandle): HostConfig =>
        h.name === 'doc-hap2'
          ? {
              name: h.name,
              host: '127.0.0.1',
              port: h.tlsPort,
              tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
            }
          : h.hostConfig();
      const f = await fleet([kit(), kit({ tlsCli: { crtPath: pki.serverPemPath, caPath: pki.caPath } })], WEB, {}, tls);
      const r = await f.doctor();
      expect(r.code).toBe(0);
      expect(row(r.stdout, 'reachable')).toMatch(new RegExp(`\\s+127\\.0\\.0\\.1:${f.hosts[1]?.tlsPort}$`));
      expect(row(r.stdout, 'stats maxconn')).toMatch(/^stats maxconn\s+OK\s+above 10\s+above 10$/);

      const local = await f.doctor('--socket', f.hosts[0]?.socketPath ?? '');
      expect(local.code).toBe(0);
      expect(local.stdout).toMatch(/^CHECK\s+STATE\s+local$/m);
      expect(row(local.stdout, 'reachable')).toBe(`reachable          OK     ${f.hosts[0]?.socketPath}`);
      expect(row(local.stdout, 'stats maxconn')).toMatch(/^stats maxconn\s+OK\s+above 10$/);
    } finally {
      rmSync(pkiDir, { recursive: true, force: true });
    }
  });

  it('is UNKNOWN (3) with the verdict on stdout under --json when the command line is wrong', async () => {
    // Nothing is contacted: the backend is looked up before any host or table.
    const idle = cliEnv(
      'no-table-needed',
      'http://127.0.0.1:9',
      configFor([{ name: 'doc-hap1', host: '127.0.0.1', port: 9 }]),
    );
    const r = await runCli(['doctor', '--json', '--backend', 'nope'], idle);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toEqual({
      verdict: {
        state: 'UNKNOWN',
        code: 3,
        reasons: [
          { state: 'UNKNOWN', text: "USAGE: unknown backend 'nope': the config has web (see 'slot-sync --help')" },
        ],
      },
    });
  });
});
