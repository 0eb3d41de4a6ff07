// The operator CLI as a subprocess (`node bin/slot-sync.mjs`) against two real HAProxy hosts and DynamoDB Local.
// Every test that touches a host or the table starts its own (fresh ports, fresh table) and sets up what it needs:
// no test depends on another.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, oneShot, startFleet, stopAll } from '../../bin/harness/haproxy.js';
import { type Instance, startInstances } from '../../bin/harness/instances.js';
import { freePort } from '../../bin/harness/ports.js';
import type { ConfigDocument } from '../../functions/lib/config.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { haproxyBinVersion, haproxyBinVersionPattern } from '../support/host-kit.js';
import { waitFor } from '../support/wait.js';
import { cliEnv, configFor, lastLine, slotOn as observeSlot, rowOf, runCli as run, startCli } from './cli-support.js';

let ddb: DynamoDbLocal;
let scratch: string;
let n = 0;
const stands: Stand[] = [];

/** One test's hosts, instances and table; i-1 holds web1 and i-2 web2 (random = 0 picks the first free slot). */
interface Stand {
  readonly hosts: HaproxyHandle[];
  readonly instances: Instance[];
  readonly store: DynamoDbSlotStore;
  readonly config: ConfigDocument;
  readonly env: Record<string, string>;
  run(args: readonly string[], extra?: Record<string, string | undefined>): ReturnType<typeof run>;
  hap(i: number): HaproxyHandle;
  inst(i: number): Instance;
  slotOn(host: HaproxyHandle, slot: string): ReturnType<typeof observeSlot>;
  /** Polls until every host reports the slot with `admin` (and, when given, the port). */
  untilEveryHost(slot: string, admin: string, port?: number): Promise<boolean>;
}

/**
 * Two hosts, two instances and a table with i-1 and i-2 claimed. `programmed`: a first reconcile has put both on every
 * host and their checks pass; `disabled`: then an operator disabled i-2 (`disable i-2`).
 */
async function stand(options: { programmed?: boolean; disabled?: boolean } = {}): Promise<Stand> {
  const [hosts, instances] = await Promise.all([
    startFleet(2, { backends: [{ name: 'web', slotPrefix: 'web', slots: 4, check: true }] }, 'cli-hap'),
    startInstances(2),
  ]);
  const { slotTable } = await ddb.createTables(`cli-${process.pid}-${++n}`);
  const store = new DynamoDbSlotStore({ tableName: slotTable, client: ddb.client, random: () => 0 });
  await store.seed('web', ['web1', 'web2', 'web3', 'web4']);
  for (const i of instances)
    await store.claim('web', { id: i.id, address: i.address, port: i.port }, { weight: 1, owner: 'webhook' });
  const config = configFor(hosts.map((h) => h.hostConfig()));
  const env = cliEnv(slotTable, ddb.endpoint, config);
  const slotOn = (host: HaproxyHandle, slot: string) => observeSlot(host.hostConfig(), slot);
  const s: Stand = {
    hosts,
    instances,
    store,
    config,
    env,
    run: (args, extra = {}) => run(args, { ...env, ...extra }),
    hap: (i) => hosts[i] as HaproxyHandle,
    inst: (i) => instances[i] as Instance,
    slotOn,
    untilEveryHost: (slot, admin, port) =>
      waitFor(
        async () => {
          const seen = await Promise.all(hosts.map((h) => slotOn(h, slot)));
          return seen.every((o) => o?.admin === admin && (port === undefined || o.port === port));
        },
        { timeoutMs: 5_000, what: `${slot} ${admin} on every host` },
      ),
  };
  stands.push(s);
  if (options.programmed || options.disabled) {
    expect((await s.run(['reconcile'])).code).toBe(0);
    const passing = (slot: string) => async () =>
      (await Promise.all(hosts.map((h) => slotOn(h, slot)))).every(
        (o) => o?.admin === 'ready' && o.checkStatus === 'L7OK',
      );
    await waitFor(passing('web1'), { timeoutMs: 10_000, what: 'web1 ready and passing on every host' });
    await waitFor(passing('web2'), { timeoutMs: 10_000, what: 'web2 ready and passing on every host' });
  }
  if (options.disabled) {
    expect((await s.run(['disable', 'i-2'])).code).toBe(0);
    await s.untilEveryHost('web2', 'maint');
  }
  return s;
}

/** For what needs no host and no table (usage, --help, --version): a config whose hosts nothing ever contacts. */
const idle = () =>
  cliEnv(
    'no-table-needed',
    'http://127.0.0.1:9',
    configFor([
      { name: 'cli-hap1', host: '127.0.0.1', port: 9 },
      { name: 'cli-hap2', host: '127.0.0.1', port: 9 },
    ]),
  );
const header = (text: string) => text.split('\n').find((l) => l.startsWith('SLOT ')) ?? '';

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
  scratch = mkdtempSync(join(tmpdir(), 'cli-test-'));
});

afterEach(async () => {
  for (const s of stands.splice(0)) {
    await stopAll(s.hosts);
    await Promise.all(s.instances.map((i) => i.close()));
  }
});

afterAll(async () => {
  await ddb?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('slot-sync CLI against two HAProxy hosts and DynamoDB Local', () => {
  it('reconcile programs the claimed slots on both hosts, and a second run sends nothing', async () => {
    const s = await stand({});
    expect((await s.store.list('web')).map((r) => [r.slot, r.member ?? null])).toEqual([
      ['web1', 'i-1'],
      ['web2', 'i-2'],
      ['web3', null],
      ['web4', null],
    ]);
    const first = await s.run(['reconcile']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const addr = `set server web/web1 addr 127.0.0.1 port ${s.inst(0).port}`;
    expect(first.stdout.split('\n').filter((l) => l.trim() === addr)).toHaveLength(2);
    await s.untilEveryHost('web1', 'ready', s.inst(0).port);
    await s.untilEveryHost('web2', 'ready', s.inst(1).port);

    const second = await s.run(['reconcile']);
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain('set server');
    expect(second.stdout.match(/: nothing to send$/gm)).toHaveLength(2);
    expect(lastLine(second.stdout)).toBe(
      '2 hosts · 4 slots · 0 drift · 0 commands sent · 0 drift remaining · 0 failed',
    );
  });

  it('status lists every slot with member, address and one column per host, and exits 0 (OK) when in step', async () => {
    const s = await stand({ programmed: true });
    const r = await s.run(['status']);
    expect(r.code).toBe(0);
    expect(lastLine(r.stdout)).toBe('OK · 2 hosts · 4 slots · 2 active · 2 free · 0 drift · 0 failed');
    expect(header(r.stdout)).toMatch(/^SLOT\s+MEMBER\s+ADDRESS\s+WEIGHT\s+STATE\s+cli-hap1\s+cli-hap2$/);
    expect(rowOf(r.stdout, 'web1')).toMatch(
      new RegExp(
        `^web/web1\\s+i-1\\s+127\\.0\\.0\\.1:${s.inst(0).port}\\s+1\\s+active\\s+UP · 0 · L7OK\\s+UP · 0 · L7OK$`,
      ),
    );
    expect(rowOf(r.stdout, 'web3')).toMatch(/^web\/web3\s+-\s+-\s+-\s+free\s+MAINT · 0 · -\s+MAINT · 0 · -$/);
    expect(r.stdout).not.toMatch(/ \*$/m);
    // The header names each host's endpoint and the HAProxy version it reports in `show info`.
    for (const h of s.hosts) {
      expect(r.stdout).toMatch(
        new RegExp(`^${h.name}\\s+127\\.0\\.0\\.1:${h.statsPort}\\s+HAProxy ${haproxyBinVersionPattern()}$`, 'm'),
      );
    }
    expect(r.stdout).toContain(`table ${s.env.SLOT_TABLE} (DynamoDB): read`);
    // Piped: no colour escape anywhere.
    expect(r.stdout).not.toContain('\x1b[');
  });

  it('status marks the cell that drifted with * and exits 1 (WARNING) after a host is changed behind its back', async () => {
    const s = await stand({ programmed: true });
    // Changed behind the table's back on the second host.
    await oneShot(s.hap(1).statsPort, 'set server web/web1 state maint');
    const r = await s.run(['status']);
    expect(r.code).toBe(1);
    expect(lastLine(r.stdout)).toBe('WARNING · 2 hosts · 4 slots · 2 active · 2 free · 1 drift · 0 failed');
    const row = rowOf(r.stdout, 'web1');
    expect(row).toMatch(/\s+UP · 0 · L7OK\s+MAINT · 0 · - \*$/);
    expect(r.stdout).toContain('* = differs from the table');
    expect(r.stdout).toContain('drift:\n');
    expect(r.stdout).toContain('  cli-hap2 web/web1 admin: expected ready, actual maint');
  });

  it('status --json reports the same facts and the same verdict machine-readably', async () => {
    const s = await stand({ programmed: true });
    // Changed behind the table's back on the second host.
    await oneShot(s.hap(1).statsPort, 'set server web/web1 state maint');
    const r = await s.run(['status', '--json', '--backend', 'web']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.verdict).toEqual({ state: 'WARNING', code: 1, reasons: [{ state: 'WARNING', text: '1 drift' }] });
    expect(report.summary).toEqual({
      hosts: 2,
      slots: 4,
      active: 2,
      free: 2,
      draining: 0,
      held: 0,
      drift: 1,
      awaitingHealth: 0,
      overdueDrains: 0,
      failed: 0,
    });
    expect(report.table).toEqual({ name: s.env.SLOT_TABLE, ok: true });
    expect(report.hosts).toEqual([
      {
        host: 'cli-hap1',
        endpoint: `127.0.0.1:${s.hap(0).statsPort}`,
        ok: true,
        version: haproxyBinVersion(),
      },
      {
        host: 'cli-hap2',
        endpoint: `127.0.0.1:${s.hap(1).statsPort}`,
        ok: true,
        version: haproxyBinVersion(),
      },
    ]);
    const web1 = report.rows.find((row: { slot: string }) => row.slot === 'web1');
    expect(web1).toMatchObject({ backend: 'web', state: 'active', member: 'i-1', port: s.inst(0).port, weight: 1 });
    expect(web1.hosts[0]).toMatchObject({ host: 'cli-hap1', admin: 'ready', sessions: 0, drift: [] });
    expect(web1.hosts[1]).toMatchObject({ host: 'cli-hap2', admin: 'maint', status: 'MAINT', drift: ['admin'] });
    expect(report.drift).toEqual([
      { host: 'cli-hap2', backend: 'web', slot: 'web1', kind: 'admin', expected: 'ready', actual: 'maint' },
    ]);
  });

  it('reconcile --dry-run prints the repair commands per host and changes nothing', async () => {
    const s = await stand({ programmed: true });
    // Changed behind the table's back on the second host.
    await oneShot(s.hap(1).statsPort, 'set server web/web1 state maint');
    const r = await s.run(['reconcile', '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('plan (dry run: nothing was changed on the hosts or in the table):');
    expect(r.stdout).toContain('  cli-hap1: nothing to send\n');
    expect(r.stdout).toContain('  cli-hap2: 1 command\n    set server web/web1 state ready\n');
    expect(r.stdout).toContain('  cli-hap2 web/web1 admin: expected ready, actual maint');
    expect(lastLine(r.stdout)).toBe('2 hosts · 4 slots · 1 drift · 1 command planned · 0 failed');
    expect((await s.slotOn(s.hap(1), 'web1'))?.admin).toBe('maint');
  });

  it('reconcile repairs the drift and exits 0; the next run sends nothing', async () => {
    const s = await stand({ programmed: true });
    // Changed behind the table's back on the second host.
    await oneShot(s.hap(1).statsPort, 'set server web/web1 state maint');
    const r = await s.run(['reconcile']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  cli-hap2: ok, 1/1 command succeeded');
    await s.untilEveryHost('web1', 'ready', s.inst(0).port);
    const again = await s.run(['reconcile']);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('set server');
  });

  it('reconcile moves a slot a host serves at another address back in one run; its summary counts every round', async () => {
    const s = await stand({ programmed: true });
    await oneShot(s.hap(1).statsPort, `set server web/web1 addr 127.0.0.1 port ${s.inst(1).port}`);
    const r = await s.run(['reconcile']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^plan \(the first round of \d+; later ones below under applied\):$/m);
    expect(r.stdout).toMatch(/^ {4}set server web\/web1 state maint$/m);
    const applied = [...r.stdout.matchAll(/ok, \d+\/(\d+) commands? succeeded$/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    // MAINT in the first round, the address and the state once a look shows no session: more than the plan's one.
    expect(applied).toBeGreaterThan(1);
    expect(lastLine(r.stdout)).toBe(
      `2 hosts · 4 slots · 1 drift · ${applied} commands sent · 0 drift remaining · 0 failed`,
    );
    await s.untilEveryHost('web1', 'ready', s.inst(0).port);
  });

  it('reconcile --json gives the first round as plan, the rounds run, and what every round sent per host', async () => {
    const s = await stand({ programmed: true });
    await oneShot(s.hap(1).statsPort, `set server web/web1 addr 127.0.0.1 port ${s.inst(1).port}`);
    const r = await s.run(['reconcile', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      rounds: number;
      plan: { batches: { host: string; commands: string[] }[] };
      hosts: { host: string; ok: boolean; commandsSent: number }[];
      remainingDrift: unknown[];
      failedHosts: string[];
    };
    expect(report.plan.batches).toEqual([{ host: 'cli-hap2', commands: ['set server web/web1 state maint'] }]);
    expect(report.rounds).toBeGreaterThan(1);
    const sent = Object.fromEntries(report.hosts.map((h) => [h.host, h.commandsSent]));
    expect(sent['cli-hap1']).toBe(0);
    expect(sent['cli-hap2']).toBeGreaterThan(1);
    expect(report.remainingDrift).toEqual([]);
    expect(report.failedHosts).toEqual([]);
  });

  it('drain <backend>/<slot> records the hold and drains the slot on every host; status shows it held, no drift', async () => {
    const s = await stand({ programmed: true });
    const r = await s.run(['drain', 'web/web1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('web/web1 (i-1): table held (drain)');
    expect(r.stdout).toMatch(/cli-hap1\s+ok\s+set server web\/web1 state drain/);
    expect(r.stdout).toMatch(/cli-hap2\s+ok\s+set server web\/web1 state drain/);
    await s.untilEveryHost('web1', 'drain');
    const record = (await s.store.list('web')).find((s) => s.slot === 'web1');
    expect(record).toMatchObject({ state: 'held', heldAdmin: 'drain', member: 'i-1' });
    const status = await s.run(['status']);
    expect(status.code).toBe(0);
    expect(rowOf(status.stdout, 'web1')).toMatch(/\sheld:drain\s+DRAIN · 0 · L7OK\s+DRAIN · 0 · L7OK$/);
    expect(lastLine(status.stdout)).toBe('OK · 2 hosts · 4 slots · 1 active · 2 free · 1 held · 0 drift · 0 failed');
  });

  it('enable gives the slot back to its member and converges it to ready on every host', async () => {
    const s = await stand({ programmed: true });
    expect((await s.run(['drain', 'web/web1'])).code).toBe(0);
    await s.untilEveryHost('web1', 'drain');
    const r = await s.run(['enable', 'web/web1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('web/web1 (i-1): table active');
    await s.untilEveryHost('web1', 'ready', s.inst(0).port);
    expect((await s.store.list('web')).find((s) => s.slot === 'web1')?.state).toBe('active');
  });

  it('disable <instance-id> finds the member’s slot and puts it in maint on every host', async () => {
    const s = await stand({ programmed: true });
    const r = await s.run(['disable', 'i-2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('web/web2 (i-2): table held (maint)');
    await s.untilEveryHost('web2', 'maint');
    expect((await s.store.list('web')).find((s) => s.slot === 'web2')).toMatchObject({
      state: 'held',
      heldAdmin: 'maint',
    });

    const unknown = await s.run(['disable', 'i-999']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe('slot-sync: NOT_FOUND: i-999 owns no slot in any backend');
  });

  it('render-config prints server lines matching the table that haproxy -c accepts', async () => {
    const s = await stand({ disabled: true });
    const r = await s.run(['render-config', '--backend', 'web']);
    expect(r.code).toBe(0);
    const servers = r.stdout.split('\n').filter((l) => l.startsWith('server '));
    expect(servers).toEqual([
      `server web1 127.0.0.1:${s.inst(0).port} weight 1 check`,
      `server web2 127.0.0.1:${s.inst(1).port} weight 1 check disabled  # held (maint) by an operator: i-2`,
      'server web3 localhost:9 check disabled init-addr last,libc,none',
      'server web4 localhost:9 check disabled init-addr last,libc,none',
    ]);
    const cfg = join(scratch, 'rendered.cfg');
    const frontend = `frontend fe\n    bind 127.0.0.1:${await freePort()}\n    default_backend web\n`;
    const defaults = 'defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n';
    writeFileSync(cfg, `${defaults}${frontend}backend web\n    option httpchk GET /\n${indent(r.stdout)}`);
    const check = await runProcess('haproxy', ['-c', '-f', cfg]);
    expect(check).toMatchObject({ code: 0 });

    const noCheck = await s.run(['render-config', '--backend', 'web', '--no-check']);
    expect(noCheck.stdout).toContain(`server web1 127.0.0.1:${s.inst(0).port} weight 1\n`);
    expect(noCheck.stdout).not.toMatch(/ check/);
  });

  it('status --socket talks to one local HAProxy over its unix socket', async () => {
    const s = await stand({ disabled: true });
    const r = await s.run(['status', '--socket', s.hap(0).socketPath]);
    expect(r.code).toBe(0);
    expect(header(r.stdout)).toMatch(/STATE\s+local$/);
    expect(r.stdout).toMatch(
      new RegExp(
        `^local\\s+${s.hap(0).socketPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+HAProxy ${haproxyBinVersionPattern()}$`,
        'm',
      ),
    );
    expect(lastLine(r.stdout)).toBe('OK · 1 host · 4 slots · 1 active · 2 free · 1 held · 0 drift · 0 failed');
  });

  it('--config FILE takes precedence over CONFIG_JSON', async () => {
    const s = await stand({ disabled: true });
    const file = join(scratch, 'config.json');
    writeFileSync(file, JSON.stringify(s.config));
    const r = await s.run(['status', '--config', file], { CONFIG_JSON: '{not json' });
    expect(r.code).toBe(0);
    expect(lastLine(r.stdout)).toBe('OK · 2 hosts · 4 slots · 1 active · 2 free · 1 held · 0 drift · 0 failed');
    // A config that cannot be read is UNKNOWN for the check, and the sentence says where the document came from.
    const broken = await s.run(['status'], { CONFIG_JSON: '{not json' });
    expect(broken.code).toBe(3);
    expect(broken.stderr).toMatch(
      /^slot-sync: CONFIG_ERROR: config is not valid JSON: .*; fix the document in CONFIG_JSON\n$/,
    );
  });

  it('an unreachable host is shown and counted as failed: status is CRITICAL (2), enable exits 1', async () => {
    const s = await stand({ disabled: true });
    const dead = { name: 'dead-hap', host: '127.0.0.1', port: await freePort() };
    const CONFIG_JSON = JSON.stringify({ ...s.config, hosts: [...s.config.hosts, dead] });
    const status = await s.run(['status'], { CONFIG_JSON });
    expect(status.code).toBe(2);
    expect(rowOf(status.stdout, 'web1')).toMatch(/\sunreachable$/);
    expect(status.stdout).toMatch(
      new RegExp(`^dead-hap\\s+127\\.0\\.0\\.1:${dead.port}\\s+unreachable \\(HOST_UNREACHABLE\\)$`, 'm'),
    );
    expect(status.stdout).toMatch(/^ {2}dead-hap: HOST_UNREACHABLE .*ECONNREFUSED/m);
    expect(lastLine(status.stdout)).toBe(
      'CRITICAL · 3 hosts · 4 slots · 1 active · 2 free · 1 held · 0 drift · 1 failed',
    );
    const report = JSON.parse((await s.run(['status', '--json'], { CONFIG_JSON })).stdout);
    expect(report.verdict).toEqual({
      state: 'CRITICAL',
      code: 2,
      reasons: [{ state: 'CRITICAL', text: 'dead-hap HOST_UNREACHABLE' }],
    });

    const enable = await s.run(['enable', 'i-2'], { CONFIG_JSON });
    expect(enable.code).toBe(1);
    expect(enable.stdout).toMatch(/cli-hap1\s+ok\s+set server web\/web2 state ready/);
    expect(enable.stdout).toMatch(/dead-hap\s+FAILED\s+HOST_UNREACHABLE/);
    await s.untilEveryHost('web2', 'ready', s.inst(1).port);
  });

  it('watch, piped, prints one plain block per refresh and ends with 0 on SIGINT', async () => {
    const s = await stand({ programmed: true });
    const cli = startCli(['watch', '--interval', '0.5'], s.env);
    const header = /^slot-sync watch · all backends · every 0\.5s · refreshed \d\d:\d\d:\d\d · Ctrl-C quits$/gm;
    await waitFor(() => (cli.stdout().match(header) ?? []).length >= 2, { timeoutMs: 20_000, what: 'two refreshes' });
    cli.child.kill('SIGINT');
    const r = await cli.done;
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('\x1b');
    const blocks = r.stdout.split(/\n\n(?=slot-sync watch)/);
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of blocks) {
      expect(block).toMatch(/^SLOT\s+MEMBER\s+ADDRESS\s+WEIGHT\s+STATE\s+cli-hap1\s+cli-hap2$/m);
      expect(lastLine(block)).toBe('OK · 2 hosts · 4 slots · 2 active · 2 free · 0 drift · 0 failed');
    }
  });

  it('prints the usage text on --help, with both exit-code conventions, and exits 0', async () => {
    const r = await run(['--help'], idle());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: slot-sync <command>/);
    expect(r.stdout).toContain('0 OK; 1 WARNING');
    expect(r.stdout).toContain('every other command: 0 done, 1 failed, 2 usage or configuration');
  });

  it('prints the package version on --version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8'));
    const r = await run(['--version'], { ...idle(), SLOT_TABLE: undefined });
    expect(r).toMatchObject({ code: 0, stdout: `slot-sync ${version}\n`, stderr: '' });
  });

  it.each([
    [[], 'a command is required'],
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['drain'], "'drain' takes exactly one argument"],
    [['render-config'], "'render-config' needs --backend B"],
    [['drain', 'web/'], "'web/' is not <backend>/<slot>"],
    [['drain', 'web/web1;quit'], 'invalid slot'],
    [['drain', 'web/web1', '--timeout', '5'], '--timeout only makes sense with --wait'],
    [['completion', 'fish'], "'completion' takes bash or zsh, not 'fish'"],
  ])('usage error %j of an action command exits 2 with one line on stderr', async (args, message) => {
    const r = await run(args, idle());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it.each([
    [['status', '--dry-run'], "'status' does not take --dry-run"],
    [['status', '--backend', 'nope'], "unknown backend 'nope'"],
    [['status', 'extra'], "'status' takes no argument"],
  ])('usage error %j of status is UNKNOWN: exits 3 with one line on stderr', async (args, message) => {
    const r = await run(args, idle());
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

function indent(text: string): string {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => `    ${l}`)
    .join('\n')
    .concat('\n');
}

function runProcess(cmd: string, args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}
