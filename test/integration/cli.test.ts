// The operator CLI as a subprocess (`node bin/slot-sync.mjs`) against two real HAProxy hosts and DynamoDB Local.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, oneShot, startFleet, stopAll } from '../../bin/harness/haproxy.js';
import { type Instance, startInstances } from '../../bin/harness/instances.js';
import { freePort } from '../../bin/harness/ports.js';
import type { ConfigDocument } from '../../functions/lib/config.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { waitFor } from '../support/wait.js';
import { cliEnv, configFor, lastLine, slotOn as observeSlot, rowOf, runCli as run, startCli } from './cli-support.js';

let hosts: HaproxyHandle[] = [];
let ddb: DynamoDbLocal | undefined;
let instances: Instance[] = [];
let store: DynamoDbSlotStore;
let config: ConfigDocument;
let env: Record<string, string>;
let scratch: string;

const runCli = (args: readonly string[], extra: Record<string, string | undefined> = {}) =>
  run(args, { ...env, ...extra });
const slotOn = (host: HaproxyHandle, slot: string) => observeSlot(host.hostConfig(), slot);

/** Polls until every host reports the slot with `admin` (and, when given, the port). */
function untilEveryHost(slot: string, admin: string, port?: number): Promise<boolean> {
  return waitFor(
    async () => {
      const seen = await Promise.all(hosts.map((h) => slotOn(h, slot)));
      return seen.every((o) => o?.admin === admin && (port === undefined || o.port === port));
    },
    { timeoutMs: 5_000, what: `${slot} ${admin} on every host` },
  );
}

const hap = (i: number) => hosts[i] as HaproxyHandle;
const inst = (i: number) => instances[i] as Instance;
const header = (text: string) => text.split('\n').find((l) => l.startsWith('SLOT ')) ?? '';

beforeAll(async () => {
  [hosts, ddb, instances] = await Promise.all([
    startFleet(2, { backends: [{ name: 'web', slotPrefix: 'web', slots: 4, check: true }] }, 'cli-hap'),
    connectDynamoDbLocal(),
    startInstances(2),
  ]);
  const { slotTable } = await ddb.createTables(`cli-${process.pid}-${Date.now()}`);
  // random = 0 picks the first free slot, so the test knows i-1 gets web1 and i-2 gets web2.
  store = new DynamoDbSlotStore({ tableName: slotTable, client: ddb.client, random: () => 0 });
  await store.seed('web', ['web1', 'web2', 'web3', 'web4']);
  for (const i of instances)
    await store.claim('web', { id: i.id, address: i.address, port: i.port }, { weight: 1, owner: 'webhook' });
  config = configFor(hosts.map((h) => h.hostConfig()));
  scratch = mkdtempSync(join(tmpdir(), 'cli-test-'));
  env = cliEnv(slotTable, ddb.endpoint, config);
});

afterAll(async () => {
  await stopAll(hosts);
  await Promise.all(instances.map((i) => i.close()));
  await ddb?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('slot-sync CLI against two HAProxy hosts and DynamoDB Local', () => {
  it('reconcile programs the claimed slots on both hosts, and a second run sends nothing', async () => {
    expect((await store.list('web')).map((r) => [r.slot, r.member ?? null])).toEqual([
      ['web1', 'i-1'],
      ['web2', 'i-2'],
      ['web3', null],
      ['web4', null],
    ]);
    const first = await runCli(['reconcile']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const addr = `set server web/web1 addr 127.0.0.1 port ${inst(0).port}`;
    expect(first.stdout.split('\n').filter((l) => l.trim() === addr)).toHaveLength(2);
    await untilEveryHost('web1', 'ready', inst(0).port);
    await untilEveryHost('web2', 'ready', inst(1).port);

    const second = await runCli(['reconcile']);
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain('set server');
    expect(second.stdout.match(/: nothing to send$/gm)).toHaveLength(2);
    expect(lastLine(second.stdout)).toBe(
      '2 hosts · 4 slots · 0 drift · 0 commands sent · 0 drift remaining · 0 failed',
    );
  });

  it('status lists every slot with member, address and one column per host, and exits 0 (OK) when in step', async () => {
    const r = await runCli(['status']);
    expect(r.code).toBe(0);
    expect(lastLine(r.stdout)).toBe('OK · 2 hosts · 4 slots · 2 active · 2 free · 0 drift · 0 failed');
    expect(header(r.stdout)).toMatch(/^SLOT\s+MEMBER\s+ADDRESS\s+WEIGHT\s+STATE\s+cli-hap1\s+cli-hap2$/);
    expect(rowOf(r.stdout, 'web1')).toMatch(
      new RegExp(
        `^web/web1\\s+i-1\\s+127\\.0\\.0\\.1:${inst(0).port}\\s+1\\s+active\\s+UP · 0 · L7OK\\s+UP · 0 · L7OK$`,
      ),
    );
    expect(rowOf(r.stdout, 'web3')).toMatch(/^web\/web3\s+-\s+-\s+-\s+free\s+MAINT · 0 · -\s+MAINT · 0 · -$/);
    expect(r.stdout).not.toMatch(/ \*$/m);
    // The header names each host's endpoint and the HAProxy version it reports in `show info`.
    for (const h of hosts) {
      expect(r.stdout).toMatch(
        new RegExp(`^${h.name}\\s+127\\.0\\.0\\.1:${h.statsPort}\\s+HAProxy 2\\.\\d+\\.\\d+`, 'm'),
      );
    }
    expect(r.stdout).toContain(`table ${env.SLOT_TABLE} (DynamoDB): read`);
    // Piped: no colour escape anywhere.
    expect(r.stdout).not.toContain('\x1b[');
  });

  it('status marks the cell that drifted with * and exits 1 (WARNING) after a host is changed behind its back', async () => {
    await oneShot(hap(1).statsPort, 'set server web/web1 state maint');
    const r = await runCli(['status']);
    expect(r.code).toBe(1);
    expect(lastLine(r.stdout)).toBe('WARNING · 2 hosts · 4 slots · 2 active · 2 free · 1 drift · 0 failed');
    const row = rowOf(r.stdout, 'web1');
    expect(row).toMatch(/\s+UP · 0 · L7OK\s+MAINT · 0 · - \*$/);
    expect(r.stdout).toContain('* = differs from the table');
    expect(r.stdout).toContain('drift:\n');
    expect(r.stdout).toContain('  cli-hap2 web/web1 admin: expected ready, actual maint');
  });

  it('status --json reports the same facts and the same verdict machine-readably', async () => {
    const r = await runCli(['status', '--json', '--backend', 'web']);
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
    expect(report.table).toEqual({ name: env.SLOT_TABLE, ok: true });
    expect(report.hosts).toEqual([
      { host: 'cli-hap1', endpoint: `127.0.0.1:${hap(0).statsPort}`, ok: true, version: expect.stringMatching(/^2\./) },
      { host: 'cli-hap2', endpoint: `127.0.0.1:${hap(1).statsPort}`, ok: true, version: expect.stringMatching(/^2\./) },
    ]);
    const web1 = report.rows.find((row: { slot: string }) => row.slot === 'web1');
    expect(web1).toMatchObject({ backend: 'web', state: 'active', member: 'i-1', port: inst(0).port, weight: 1 });
    expect(web1.hosts[0]).toMatchObject({ host: 'cli-hap1', admin: 'ready', sessions: 0, drift: [] });
    expect(web1.hosts[1]).toMatchObject({ host: 'cli-hap2', admin: 'maint', status: 'MAINT', drift: ['admin'] });
    expect(report.drift).toEqual([
      { host: 'cli-hap2', backend: 'web', slot: 'web1', kind: 'admin', expected: 'ready', actual: 'maint' },
    ]);
  });

  it('reconcile --dry-run prints the repair commands per host and changes nothing', async () => {
    const r = await runCli(['reconcile', '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('plan (dry run: nothing was changed on the hosts or in the table):');
    expect(r.stdout).toContain('  cli-hap1: nothing to send\n');
    expect(r.stdout).toContain('  cli-hap2: 1 command\n    set server web/web1 state ready\n');
    expect(r.stdout).toContain('  cli-hap2 web/web1 admin: expected ready, actual maint');
    expect(lastLine(r.stdout)).toBe('2 hosts · 4 slots · 1 drift · 1 command planned · 0 failed');
    expect((await slotOn(hap(1), 'web1'))?.admin).toBe('maint');
  });

  it('reconcile repairs the drift and exits 0; the next run sends nothing', async () => {
    const r = await runCli(['reconcile']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  cli-hap2: ok, 1/1 command succeeded');
    await untilEveryHost('web1', 'ready', inst(0).port);
    const again = await runCli(['reconcile']);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('set server');
  });

  it('drain <backend>/<slot> records the hold and drains the slot on every host; status shows it held, no drift', async () => {
    const r = await runCli(['drain', 'web/web1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('web/web1 (i-1): table held (drain)');
    expect(r.stdout).toMatch(/cli-hap1\s+ok\s+set server web\/web1 state drain/);
    expect(r.stdout).toMatch(/cli-hap2\s+ok\s+set server web\/web1 state drain/);
    await untilEveryHost('web1', 'drain');
    const record = (await store.list('web')).find((s) => s.slot === 'web1');
    expect(record).toMatchObject({ state: 'held', heldAdmin: 'drain', member: 'i-1' });
    const status = await runCli(['status']);
    expect(status.code).toBe(0);
    expect(rowOf(status.stdout, 'web1')).toMatch(/\sheld:drain\s+DRAIN · 0 · L7OK\s+DRAIN · 0 · L7OK$/);
    expect(lastLine(status.stdout)).toBe('OK · 2 hosts · 4 slots · 1 active · 2 free · 1 held · 0 drift · 0 failed');
  });

  it('enable gives the slot back to its member and converges it to ready on every host', async () => {
    const r = await runCli(['enable', 'web/web1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('web/web1 (i-1): table active');
    await untilEveryHost('web1', 'ready', inst(0).port);
    expect((await store.list('web')).find((s) => s.slot === 'web1')?.state).toBe('active');
  });

  it('disable <instance-id> finds the member’s slot and puts it in maint on every host', async () => {
    const r = await runCli(['disable', 'i-2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('web/web2 (i-2): table held (maint)');
    await untilEveryHost('web2', 'maint');
    expect((await store.list('web')).find((s) => s.slot === 'web2')).toMatchObject({
      state: 'held',
      heldAdmin: 'maint',
    });

    const unknown = await runCli(['disable', 'i-999']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe('slot-sync: NOT_FOUND: i-999 owns no slot in any backend');
  });

  it('render-config prints server lines matching the table that haproxy -c accepts', async () => {
    const r = await runCli(['render-config', '--backend', 'web']);
    expect(r.code).toBe(0);
    const servers = r.stdout.split('\n').filter((l) => l.startsWith('server '));
    expect(servers).toEqual([
      `server web1 127.0.0.1:${inst(0).port} weight 1 check`,
      `server web2 127.0.0.1:${inst(1).port} weight 1 check disabled  # held (maint) by an operator: i-2`,
      'server web3 localhost:9 check disabled init-addr last,libc,none',
      'server web4 localhost:9 check disabled init-addr last,libc,none',
    ]);
    const cfg = join(scratch, 'rendered.cfg');
    const frontend = `frontend fe\n    bind 127.0.0.1:${await freePort()}\n    default_backend web\n`;
    const defaults = 'defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n';
    writeFileSync(cfg, `${defaults}${frontend}backend web\n    option httpchk GET /\n${indent(r.stdout)}`);
    const check = await runProcess('haproxy', ['-c', '-f', cfg]);
    expect(check).toMatchObject({ code: 0 });

    const noCheck = await runCli(['render-config', '--backend', 'web', '--no-check']);
    expect(noCheck.stdout).toContain(`server web1 127.0.0.1:${inst(0).port} weight 1\n`);
    expect(noCheck.stdout).not.toMatch(/ check/);
  });

  it('status --socket talks to one local HAProxy over its unix socket', async () => {
    const r = await runCli(['status', '--socket', hap(0).socketPath]);
    expect(r.code).toBe(0);
    expect(header(r.stdout)).toMatch(/STATE\s+local$/);
    expect(r.stdout).toMatch(
      new RegExp(`^local\\s+${hap(0).socketPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+HAProxy 2\\.`, 'm'),
    );
    expect(lastLine(r.stdout)).toBe('OK · 1 host · 4 slots · 1 active · 2 free · 1 held · 0 drift · 0 failed');
  });

  it('--config FILE takes precedence over CONFIG_JSON', async () => {
    const file = join(scratch, 'config.json');
    writeFileSync(file, JSON.stringify(config));
    const r = await runCli(['status', '--config', file], { CONFIG_JSON: '{not json' });
    expect(r.code).toBe(0);
    expect(lastLine(r.stdout)).toBe('OK · 2 hosts · 4 slots · 1 active · 2 free · 1 held · 0 drift · 0 failed');
    // A config that cannot be read is UNKNOWN for the check, and the sentence says where the document came from.
    const broken = await runCli(['status'], { CONFIG_JSON: '{not json' });
    expect(broken.code).toBe(3);
    expect(broken.stderr).toMatch(
      /^slot-sync: CONFIG_ERROR: config is not valid JSON: .*; fix the document in CONFIG_JSON\n$/,
    );
  });

  it('an unreachable host is shown and counted as failed: status is CRITICAL (2), enable exits 1', async () => {
    const dead = { name: 'dead-hap', host: '127.0.0.1', port: await freePort() };
    const CONFIG_JSON = JSON.stringify({ ...config, hosts: [...config.hosts, dead] });
    const status = await runCli(['status'], { CONFIG_JSON });
    expect(status.code).toBe(2);
    expect(rowOf(status.stdout, 'web1')).toMatch(/\sunreachable$/);
    expect(status.stdout).toMatch(
      new RegExp(`^dead-hap\\s+127\\.0\\.0\\.1:${dead.port}\\s+unreachable \\(HOST_UNREACHABLE\\)$`, 'm'),
    );
    expect(status.stdout).toMatch(/^ {2}dead-hap: HOST_UNREACHABLE .*ECONNREFUSED/m);
    expect(lastLine(status.stdout)).toBe(
      'CRITICAL · 3 hosts · 4 slots · 1 active · 2 free · 1 held · 0 drift · 1 failed',
    );
    const report = JSON.parse((await runCli(['status', '--json'], { CONFIG_JSON })).stdout);
    expect(report.verdict).toEqual({
      state: 'CRITICAL',
      code: 2,
      reasons: [{ state: 'CRITICAL', text: 'dead-hap HOST_UNREACHABLE' }],
    });

    const enable = await runCli(['enable', 'i-2'], { CONFIG_JSON });
    expect(enable.code).toBe(1);
    expect(enable.stdout).toMatch(/cli-hap1\s+ok\s+set server web\/web2 state ready/);
    expect(enable.stdout).toMatch(/dead-hap\s+FAILED\s+HOST_UNREACHABLE/);
    await untilEveryHost('web2', 'ready', inst(1).port);
  });

  it('watch, piped, prints one plain block per refresh and ends with 0 on SIGINT', async () => {
    const cli = startCli(['watch', '--interval', '0.5'], env);
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
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: slot-sync <command>/);
    expect(r.stdout).toContain('0 OK; 1 WARNING');
    expect(r.stdout).toContain('every other command: 0 done, 1 failed, 2 usage or configuration');
  });

  it('prints the package version on --version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8'));
    const r = await runCli(['--version'], { SLOT_TABLE: undefined });
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
    const r = await runCli(args);
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
    const r = await runCli(args);
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
