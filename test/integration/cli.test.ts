// The operator CLI as a subprocess (`node bin/slot-sync.mjs`) against two real HAProxy hosts and DynamoDB Local.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigDocument } from '../../functions/lib/config.js';
import type { ObservedSlot } from '../../functions/lib/domain.js';
import { createFleet } from '../../functions/lib/haproxy/fleet.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { type HaproxyHandle, oneShot, startFleet, stopAll } from '../support/haproxy.js';
import { type Instance, startInstances } from '../support/instances.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

const CLI = join(import.meta.dirname, '../../bin/slot-sync.mjs');
const CLI_DEADLINE_MS = 30_000;
const TIMEOUTS = { connectMs: 500, commandMs: 3_000 };

let hosts: HaproxyHandle[] = [];
let ddb: DynamoDbLocal | undefined;
let instances: Instance[] = [];
let store: DynamoDbSlotStore;
let config: ConfigDocument;
let env: Record<string, string>;
let scratch: string;

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to completion (killed by pid past the deadline), with the test's environment plus `extra`. */
function runCli(args: readonly string[], extra: Record<string, string | undefined> = {}): Promise<CliRun> {
  const merged = Object.entries({ ...env, ...extra }).filter((e): e is [string, string] => e[1] !== undefined);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: Object.fromEntries(merged), stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), CLI_DEADLINE_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The slot as one host reports it right now. */
async function slotOn(host: HaproxyHandle, slot: string): Promise<ObservedSlot | undefined> {
  const [o] = await createFleet({ hosts: [host.hostConfig()], timeouts: TIMEOUTS }).observe(['web']);
  return o?.ok ? o.backends.get('web')?.find((s) => s.server === slot) : undefined;
}

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
const lastLine = (text: string) => text.trimEnd().split('\n').at(-1);
const rowOf = (text: string, slot: string) => text.split('\n').find((l) => l.startsWith(`web/${slot} `)) ?? '';

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
  for (const i of instances) await store.claim('web', { id: i.id, address: i.address, port: i.port }, 1);
  config = {
    hosts: hosts.map((h) => h.hostConfig()),
    backends: [{ name: 'web', slotPrefix: 'web', port: 80, autoScalingGroups: [], weight: 1, drainSeconds: 300 }],
    timeouts: TIMEOUTS,
    lifecycle: { onNoSlot: 'ABANDON', heartbeatSeconds: 300 },
    quorum: 'all',
    reconcile: { asgCrossCheck: false },
  };
  scratch = mkdtempSync(join(tmpdir(), 'cli-test-'));
  env = {
    PATH: String(process.env.PATH),
    SLOT_TABLE: slotTable,
    CONFIG_JSON: JSON.stringify(config),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
    // Never used here; pointed at loopback so nothing could ever leave the machine.
    AWS_ENDPOINT_URL_SSM: 'http://127.0.0.1:9',
    AWS_ENDPOINT_URL_AUTO_SCALING: 'http://127.0.0.1:9',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
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

  it('status lists every slot with member, address and per-host cells, and exits 0 when in step', async () => {
    const r = await runCli(['status']);
    expect(r.code).toBe(0);
    expect(lastLine(r.stdout)).toBe('2 hosts · 4 slots · 2 active · 0 drift · 0 failed');
    expect(r.stdout.split('\n')[0]).toMatch(/^SLOT\s+MEMBER\s+ADDRESS\s+WEIGHT\s+STATE\s+cli-hap1\s+cli-hap2$/);
    expect(rowOf(r.stdout, 'web1')).toMatch(
      new RegExp(`^web/web1\\s+i-1\\s+127\\.0\\.0\\.1:${inst(0).port}\\s+1\\s+active\\s+UP`),
    );
    expect(rowOf(r.stdout, 'web3')).toMatch(/^web\/web3\s+-\s+-\s+-\s+free\s+MAINT\/0\/-\s+MAINT\/0\/-$/);
    expect(r.stdout).not.toContain('*/');
  });

  it('status marks the cell that drifted with * and exits 1 after a host is changed behind its back', async () => {
    await oneShot(hap(1).statsPort, 'set server web/web1 state maint');
    const r = await runCli(['status']);
    expect(r.code).toBe(1);
    expect(lastLine(r.stdout)).toBe('2 hosts · 4 slots · 2 active · 1 drift · 0 failed');
    const row = rowOf(r.stdout, 'web1');
    expect(row).toMatch(/\s+UP[^*\s]*(\s\d+\/\d+)?\/0\/\S+\s+MAINT\*\/0\/-$/);
    expect(r.stdout).toContain('* = differs from the table');
    expect(r.stdout).toContain('  cli-hap2 web/web1 admin: expected ready, actual maint');
  });

  it('status --json reports the same facts machine-readably', async () => {
    const r = await runCli(['status', '--json', '--backend', 'web']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.summary).toEqual({ hosts: 2, slots: 4, active: 2, draining: 0, held: 0, drift: 1, failed: 0 });
    expect(report.hosts).toEqual([
      { host: 'cli-hap1', ok: true },
      { host: 'cli-hap2', ok: true },
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
    expect(rowOf(status.stdout, 'web1')).toMatch(/\sheld:drain\s+DRAIN/);
    expect(lastLine(status.stdout)).toBe('2 hosts · 4 slots · 1 active · 1 held · 0 drift · 0 failed');
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
    expect(r.stdout.split('\n')[0]).toMatch(/STATE\s+local$/);
    expect(lastLine(r.stdout)).toBe('1 host · 4 slots · 1 active · 1 held · 0 drift · 0 failed');
  });

  it('--config FILE takes precedence over CONFIG_JSON', async () => {
    const file = join(scratch, 'config.json');
    writeFileSync(file, JSON.stringify(config));
    const r = await runCli(['status', '--config', file], { CONFIG_JSON: '{not json' });
    expect(r.code).toBe(0);
    expect(lastLine(r.stdout)).toBe('2 hosts · 4 slots · 1 active · 1 held · 0 drift · 0 failed');
    const broken = await runCli(['status'], { CONFIG_JSON: '{not json' });
    expect(broken.code).toBe(2);
  });

  it('an unreachable host is shown and counted as failed: status and enable exit 1', async () => {
    const dead = { name: 'dead-hap', host: '127.0.0.1', port: await freePort() };
    const CONFIG_JSON = JSON.stringify({ ...config, hosts: [...config.hosts, dead] });
    const status = await runCli(['status'], { CONFIG_JSON });
    expect(status.code).toBe(1);
    expect(rowOf(status.stdout, 'web1')).toMatch(/\sunreachable$/);
    expect(status.stdout).toMatch(/^ {2}dead-hap: HOST_UNREACHABLE .*ECONNREFUSED/m);
    expect(lastLine(status.stdout)).toBe('3 hosts · 4 slots · 1 active · 1 held · 0 drift · 1 failed');

    const enable = await runCli(['enable', 'i-2'], { CONFIG_JSON });
    expect(enable.code).toBe(1);
    expect(enable.stdout).toMatch(/cli-hap1\s+ok\s+set server web\/web2 state ready/);
    expect(enable.stdout).toMatch(/dead-hap\s+FAILED\s+HOST_UNREACHABLE/);
    await untilEveryHost('web2', 'ready', inst(1).port);
  });

  it('prints the usage text on --help and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: slot-sync <command>/);
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
    [['completion', 'fish'], "'completion' takes bash or zsh, not 'fish'"],
    [['status', '--dry-run'], "'status' does not take --dry-run"],
    [['render-config'], "'render-config' needs --backend B"],
    [['drain', 'web/'], "'web/' is not <backend>/<slot>"],
    [['status', '--backend', 'nope'], "unknown backend 'nope'"],
    [['drain', 'web/web1;quit'], 'invalid slot'],
  ])('usage error %j exits 2 with one line on stderr', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('exits 2 with one line when SLOT_TABLE is missing', async () => {
    const r = await runCli(['status'], { SLOT_TABLE: undefined });
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^slot-sync: ENVIRONMENT: SLOT_TABLE is not set: export the slot table's name /),
    ]);
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
