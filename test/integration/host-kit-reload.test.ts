// Reloads of a real master-worker HAProxy started from the rendered host template, with and without slot-sync-reload.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startHaproxy, stopAll } from '../../bin/harness/haproxy.js';
import { parentOf } from '../../bin/harness/haproxy-util.js';
import { httpGet, type Instance, startInstanceAt } from '../../bin/harness/instances.js';
import { type Command, setAddr, setState, setWeight, showInfo } from '../../functions/lib/domain/commands.js';
import type { ObservedSlot } from '../../functions/lib/domain/types.js';
import { createFleet } from '../../functions/lib/haproxy/fleet.js';
import { atLeast, type HaproxyVersion, parseVersion } from '../../functions/lib/haproxy/version.js';
import type { HaproxyFleet } from '../../functions/lib/ports.js';
import { KIT_BACKEND, kitHaproxyOptions, reloadArgs, runReloadHelper, showProc, unixCli } from '../support/host-kit.js';
import { startLoad } from '../support/load.js';
import { waitFor } from '../support/wait.js';

const BE = KIT_BACKEND.name;
const TIMEOUTS = { connectMs: 500, commandMs: 3_000 };
let instances: Record<'a' | 'b' | 'c', Instance>;
let hosts: HaproxyHandle[] = [];

beforeAll(async () => {
  // Distinct loopback IPs: a slot that lost its address would point at 127.0.0.1 (the placeholder), visibly.
  const [a, b, c] = await Promise.all([
    startInstanceAt('kit-a', '127.0.0.2', 0),
    startInstanceAt('kit-b', '127.0.0.3', 0),
    startInstanceAt('kit-c', '127.0.0.4', 0),
  ]);
  instances = { a, b, c };
});

afterEach(async () => {
  await stopAll(hosts);
  hosts = [];
});

afterAll(async () => {
  await Promise.all(Object.values(instances ?? {}).map((i) => i.close()));
});

type Slot = Pick<ObservedSlot, 'server' | 'address' | 'port' | 'admin' | 'weight'>;

async function startKitHost(name: string): Promise<{ host: HaproxyHandle; fleet: HaproxyFleet }> {
  const host = await startHaproxy(kitHaproxyOptions(name));
  hosts.push(host);
  // The worker answers before the master CLI does; every test below needs both.
  await waitFor(async () => (await showProc(host)).workers.length === 1, { what: 'the master CLI' });
  return { host, fleet: createFleet({ hosts: [host.hostConfig()], timeouts: TIMEOUTS }) };
}

/** web1, web2 ready (different weights), web3 in drain; web4 stays parked. */
function programSlots(): { commands: Command[]; expected: Slot[] } {
  const { a, b, c } = instances;
  const want = [
    { server: 'web1', i: a, admin: 'ready', weight: 30 },
    { server: 'web2', i: b, admin: 'ready', weight: 10 },
    { server: 'web3', i: c, admin: 'drain', weight: 5 },
  ] as const;
  return {
    commands: want.flatMap((w) => [
      setAddr(BE, w.server, w.i.address, w.i.port),
      setWeight(BE, w.server, w.weight),
      setState(BE, w.server, w.admin),
    ]),
    expected: [
      ...want.map((w) => ({
        server: w.server,
        address: w.i.address,
        port: w.i.port,
        admin: w.admin,
        weight: w.weight,
      })),
      { server: 'web4', address: '127.0.0.1', port: 9, admin: 'maint', weight: 1 },
    ],
  };
}

async function program(fleet: HaproxyFleet): Promise<Slot[]> {
  const { commands, expected } = programSlots();
  const [result] = await fleet.broadcast(commands);
  expect(result?.ok, JSON.stringify(result)).toBe(true);
  return expected;
}

async function slots(fleet: HaproxyFleet): Promise<Slot[]> {
  const [observation] = await fleet.observe([BE]);
  if (!observation?.ok) throw new Error(`observe failed: ${JSON.stringify(observation)}`);
  return (observation.backends.get(BE) ?? []).map(({ server, address, port, admin, weight }) => ({
    server,
    address,
    port,
    admin,
    weight,
  }));
}

async function versionOf(fleet: HaproxyFleet): Promise<HaproxyVersion> {
  const [observation] = await fleet.observe([BE]);
  if (!observation?.ok || !observation.version) throw new Error(`no version: ${JSON.stringify(observation)}`);
  return parseVersion(observation.version);
}

async function workerPid(fleet: HaproxyFleet): Promise<number> {
  const [result] = await fleet.broadcast([showInfo()]);
  const pid = Number(/^Pid: (\d+)$/m.exec(result?.replies[0]?.reply ?? '')?.[1]);
  if (!pid) throw new Error(`no Pid in show info: ${JSON.stringify(result)}`);
  return pid;
}

/** After a reload: the old worker has exited, so every CLI answer below can only come from the new one. */
async function waitForNewWorker(host: HaproxyHandle, oldWorker: number): Promise<number> {
  const proc = await waitFor(
    async () => {
      const now = await showProc(host);
      return now.reloads >= 1 ? now : undefined;
    },
    { timeoutMs: 15_000, what: 'show proc to count the reload' },
  );
  await waitFor(() => parentOf(oldWorker) === undefined, {
    timeoutMs: 15_000,
    what: `old worker ${oldWorker} to exit`,
  });
  const [worker] = proc.workers;
  if (!worker) throw new Error('no current worker in show proc');
  return worker;
}

describe('slot-sync-reload on a host rendered from the kit template', () => {
  it.each([
    { via: 'the master CLI, talking through socat', env: {} as Record<string, string>, pid: false },
    {
      via: 'kill -USR2 $MAINPID as under systemd, talking through the perl fallback',
      env: { SLOT_SYNC_CLI: 'perl' },
      pid: true,
    },
  ])(
    'reloads via $via under steady load with zero failed requests, and every slot keeps address, port, state and weight',
    async ({ env, pid }) => {
      const { host, fleet } = await startKitHost(pid ? 'kit-usr2' : 'kit-cli');
      const expected = await program(fleet);
      const before = await slots(fleet);
      expect(before).toEqual(expected);
      const frontend = host.frontendPort(BE);
      await waitFor(async () => (await httpGet(frontend)).status === 200, { what: 'traffic through the frontend' });
      const oldWorker = await workerPid(fleet);

      const load = startLoad({ port: frontend, ratePerSecond: 100, maxSeconds: 25 });
      try {
        await waitFor(() => load.snapshot().ok >= 50, { what: '50 answered requests before the reload' });
        const run = await runReloadHelper(reloadArgs(host), { ...env, ...(pid ? { MAINPID: String(host.pid) } : {}) });
        expect(run.code, run.stderr).toBe(0);
        expect(run.stderr).toContain(`reloaded: worker ${oldWorker} -> `);
        const newWorker = await waitForNewWorker(host, oldWorker);
        const settled = () => load.snapshot().ok + load.snapshot().failed;
        const settledAtReload = settled();
        await waitFor(() => settled() >= settledAtReload + 100, { what: '100 more requests settled after the reload' });
        const report = await load.stop();
        expect(report.failures).toEqual([]);
        expect(report).toMatchObject({ failed: 0, skipped: 0 });
        // The slot in drain must still be in drain: it got no request at all.
        expect(Object.keys(report.byInstance).sort()).toEqual(['kit-a', 'kit-b']);

        expect(newWorker).not.toBe(oldWorker);
        expect(parentOf(newWorker)).toBe(host.pid);
        expect(await workerPid(fleet)).toBe(newWorker);
        expect(await slots(fleet)).toEqual(before);
        expect((await showProc(host)).failed).toBe(0);
      } finally {
        await load.stop();
      }
    },
  );

  it('refuses an invalid config: no reload, state file untouched, slots unchanged', async () => {
    const { host, fleet } = await startKitHost('kit-badcfg');
    const expected = await program(fleet);
    writeFileSync(host.configPath, `${readFileSync(host.configPath, 'utf8')}\nbackend broken\n    no-such-keyword 1\n`);
    const run = await runReloadHelper(reloadArgs(host));
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('config check failed');
    expect(existsSync(host.layout.stateFilePath)).toBe(false);
    expect(await showProc(host)).toMatchObject({ reloads: 0, failed: 0 });
    expect(await slots(fleet)).toEqual(expected);
  });

  it.each([
    {
      what: 'no socket there',
      socket: (h: HaproxyHandle) => `${h.dir}/no-such.sock`,
      error: "could not read 'show servers state'",
    },
    {
      what: 'an error text (the master CLI)',
      socket: (h: HaproxyHandle) => h.layout.masterSocketPath,
      error: 'want version line 1',
    },
  ])(
    'refuses to reload when the state dump comes back with $what, leaving the state file as it was',
    async ({ socket, error }) => {
      const { host, fleet } = await startKitHost('kit-nodump');
      const expected = await program(fleet);
      writeFileSync(host.layout.stateFilePath, '1\n');
      const args = reloadArgs(host);
      args[args.indexOf('--stats-socket') + 1] = socket(host);
      const run = await runReloadHelper(args);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(error);
      expect(readFileSync(host.layout.stateFilePath, 'utf8')).toBe('1\n');
      expect(readdirSync(host.dir).filter((f) => f.startsWith('.haproxy.state'))).toEqual([]);
      expect(await showProc(host)).toMatchObject({ reloads: 0, failed: 0 });
      expect(await slots(fleet)).toEqual(expected);
    },
  );

  it('exits non-zero when HAProxy accepts the config but the reload fails, and the old worker keeps its slots', async () => {
    const { host, fleet } = await startKitHost('kit-failreload');
    const expected = await program(fleet);
    const oldWorker = await workerPid(fleet);
    // `haproxy -c` does not bind, so a port held by another process only fails the real reload.
    const blocker = await startInstanceAt('blocker', '127.0.0.1', 0);
    try {
      const extra = `\nfrontend fe_taken\n    bind 127.0.0.1:${blocker.port}\n    default_backend ${BE}\n`;
      writeFileSync(host.configPath, `${readFileSync(host.configPath, 'utf8')}${extra}`);
      const run = await runReloadHelper(reloadArgs(host));
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('reload failed');
      // 3.x's master CLI says so itself, with the new worker's startup log; 2.6 only shows it in show proc.
      if (atLeast(await versionOf(fleet), 3, 0)) {
        expect(run.stderr).toContain('reload failed (master CLI: Success=0)');
        expect(run.stderr).toMatch(/cannot bind socket .*Address already in use/);
      } else expect(run.stderr).toContain('reload failed (show proc: [failed: 1])');
      const proc = await showProc(host);
      expect(proc).toMatchObject({ reloads: 1, failed: 1 });
      // 2.6/3.0 keep it under `# workers`, 3.2 under `# old workers`: either way it is the only worker left.
      expect([...proc.workers, ...proc.oldWorkers]).toEqual([oldWorker]);
      expect(await workerPid(fleet)).toBe(oldWorker);
      expect(await slots(fleet)).toEqual(expected);
    } finally {
      await blocker.close();
    }
  });
});

describe('the same reload without the helper (why slot-sync-reload exists)', () => {
  it.each([
    { stateFile: 'no state file at all', stale: false },
    { stateFile: 'a state file dumped before the slots were programmed', stale: true },
  ])(
    'a plain master CLI reload with $stateFile brings every slot back parked in maint on the placeholder',
    async ({ stale }) => {
      const { host, fleet } = await startKitHost(stale ? 'kit-stale' : 'kit-nostate');
      const parked = await slots(fleet);
      if (stale) writeFileSync(host.layout.stateFilePath, await unixCli(host.socketPath, 'show servers state'));
      const programmed = await program(fleet);
      const frontend = host.frontendPort(BE);
      await waitFor(async () => (await httpGet(frontend)).status === 200, { what: 'traffic through the frontend' });
      const oldWorker = await workerPid(fleet);

      // 2.6 answers nothing (the master re-executes itself); 3.x answers once the new worker is up.
      const answer = await unixCli(host.layout.masterSocketPath, 'reload', 15_000);
      if (atLeast(await versionOf(fleet), 3, 0)) expect(answer).toMatch(/^Success=1\n--\n/);
      else expect(answer).toBe('');
      const newWorker = await waitForNewWorker(host, oldWorker);
      expect(await workerPid(fleet)).toBe(newWorker);

      const after = await slots(fleet);
      expect(after).not.toEqual(programmed);
      expect(after).toEqual(parked);
      for (const slot of after)
        expect(slot).toMatchObject({ address: '127.0.0.1', port: 9, admin: 'maint', weight: 1 });
      expect((await httpGet(frontend)).status).toBe(503);
    },
  );
});
