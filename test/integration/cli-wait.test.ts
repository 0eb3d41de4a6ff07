// `drain --wait`, `disable --wait`, `enable --wait` as a subprocess against real HAProxy hosts and DynamoDB Local:
// sessions held open by a member until the test lets them end, health checks that pass or never do, and Ctrl-C.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../bin/harness/haproxy.js';
import { type Instance, startInstances } from '../../bin/harness/instances.js';
import { freePort } from '../../bin/harness/ports.js';
import type { ConfigDocument } from '../../functions/lib/config.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { waitFor } from '../support/wait.js';
import {
  cliEnv,
  configFor,
  type HoldingInstance,
  holdSession,
  lastLine,
  runCli as run,
  slotOn,
  startCli,
  startHoldingInstance,
} from './cli-support.js';

let hosts: HaproxyHandle[] = [];
let ddb: DynamoDbLocal | undefined;
let holding: HoldingInstance;
let instances: Instance[] = [];
let store: DynamoDbSlotStore;
let config: ConfigDocument;
let env: Record<string, string>;
const open: Promise<void>[] = [];

const runCli = (args: readonly string[], extra: Record<string, string | undefined> = {}) =>
  run(args, { ...env, ...extra });
const hap = (i: number) => hosts[i] as HaproxyHandle;

/** Every host reports `slot` in `admin`. */
function untilEveryHost(slot: string, admin: string): Promise<boolean> {
  return waitFor(
    async () => (await Promise.all(hosts.map((h) => slotOn(h.hostConfig(), slot)))).every((o) => o?.admin === admin),
    { timeoutMs: 10_000, what: `${slot} ${admin} on every host` },
  );
}

/** One session on web1 through host 0, held open by the holding member until `holding.release()`. */
const holdOneSession = () => holdSession(holding, hap(0).frontendPort('web'), hap(0).hostConfig(), 'web1', open);

beforeAll(async () => {
  [hosts, ddb, holding, instances] = await Promise.all([
    startFleet(2, { backends: [{ name: 'web', slotPrefix: 'web', slots: 4, check: true }] }, 'wt-hap'),
    connectDynamoDbLocal(),
    startHoldingInstance('i-1'),
    startInstances(1, 'i-live-'),
  ]);
  const { slotTable } = await ddb.createTables(`cli-wait-${process.pid}-${Date.now()}`);
  store = new DynamoDbSlotStore({ tableName: slotTable, client: ddb.client, random: () => 0 });
  await store.seed('web', ['web1', 'web2', 'web3', 'web4']);
  const live = instances[0] as Instance;
  await store.claim(
    'web',
    { id: holding.id, address: holding.address, port: holding.port },
    { weight: 1, owner: 'webhook' },
  );
  await store.claim('web', { id: live.id, address: live.address, port: live.port }, { weight: 1, owner: 'webhook' });
  // Nothing listens there: its checks fail with L4CON for as long as the test runs.
  await store.claim(
    'web',
    { id: 'i-dead', address: '127.0.0.1', port: await freePort() },
    { weight: 1, owner: 'webhook' },
  );
  config = configFor(
    hosts.map((h) => h.hostConfig()),
    { healthGate: { enabled: true, timeoutSeconds: 30 } },
  );
  env = cliEnv(slotTable, ddb.endpoint, config);
  // The health gate: the first reconcile leaves the slots in drain until a check passed, a later one makes them ready.
  const ready = (o: { admin?: string } | undefined) => o?.admin === 'ready';
  await waitFor(
    async () => {
      expect((await runCli(['reconcile'])).code).toBe(0);
      const seen = await Promise.all(hosts.flatMap((h) => ['web1', 'web2'].map((s) => slotOn(h.hostConfig(), s))));
      return seen.every(ready);
    },
    { timeoutMs: 20_000, intervalMs: 200, what: 'web1 and web2 ready on every host' },
  );
});

afterAll(async () => {
  holding?.release();
  await Promise.all(open);
  await stopAll(hosts);
  await holding?.close();
  await Promise.all(instances.map((i) => i.close()));
  await ddb?.stop();
});

describe('slot-sync --wait', () => {
  // A test that fails while a session is held must not leave it to the next one (which counts sessions on web1).
  afterEach(() => holding.release());

  it('drain --wait prints sessions left per host as they change, then "drained" once the last one ended', async () => {
    await holdOneSession();
    const cli = startCli(['drain', 'web/web1', '--wait'], env);
    await cli.until(/ wt-hap1: 1 session left \(gives up in \d+m \d+s\)\n/);
    expect(cli.stdout()).toMatch(/ wt-hap2: no session left \(gives up in /);
    expect(cli.stdout()).toContain(
      'waiting for web/web1 (i-1) to have no session left on any host; gives up in 5m 0s (until ',
    );
    // While it waits, the table and both hosts already have the drain: it only watches.
    expect((await store.list('web')).find((r) => r.slot === 'web1')).toMatchObject({
      state: 'held',
      heldAdmin: 'drain',
    });
    await untilEveryHost('web1', 'drain');
    holding.release();
    const r = await cli.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ wt-hap1: no session left \(after \d+s\)\n/);
    expect(lastLine(r.stdout)).toMatch(/^drained: web\/web1 \(i-1\) has no session left on any host \(after \d+s\)$/);
    // Piped: one line per change, no escape codes, no bar.
    expect(r.stdout).not.toContain('\x1b');
    expect(r.stdout.match(/ wt-hap1: 1 session left/g)).toHaveLength(1);
  });

  it('drain --wait --timeout gives up with exit 1 and says what it left, undoing nothing', async () => {
    expect((await runCli(['enable', 'web/web1'])).code).toBe(0);
    await holdOneSession();
    const r = await runCli(['drain', 'web/web1', '--wait', '--timeout', '2']);
    expect(r.code).toBe(1);
    expect(lastLine(r.stdout)).toMatch(
      /^timed out after \d+s: web\/web1 \(i-1\) still has sessions; left as is: table held \(drain\), hosts wt-hap1 drain \(DRAIN, 1 session, L7OK\), wt-hap2 drain \(DRAIN, 0 sessions, L7OK\)$/,
    );
    expect((await store.list('web')).find((r) => r.slot === 'web1')?.state).toBe('held');
    expect((await slotOn(hap(0).hostConfig(), 'web1'))?.sessions).toBe(1);
    holding.release();
  });

  it('Ctrl-C during drain --wait exits 130 and leaves the table and the hosts as they are, saying so', async () => {
    expect((await runCli(['enable', 'web/web1'])).code).toBe(0);
    await holdOneSession();
    const cli = startCli(['drain', 'web/web1', '--wait'], env);
    await cli.until(/ wt-hap1: 1 session left/);
    cli.child.kill('SIGINT');
    const r = await cli.done;
    expect(r.code).toBe(130);
    expect(lastLine(r.stdout)).toMatch(
      /^interrupted \(SIGINT\) after \d+s, nothing undone; left as is: table held \(drain\), hosts wt-hap1 drain \(DRAIN, 1 session, L7OK\), wt-hap2 drain /,
    );
    expect((await store.list('web')).find((s) => s.slot === 'web1')).toMatchObject({
      state: 'held',
      heldAdmin: 'drain',
    });
    await untilEveryHost('web1', 'drain');
    expect(holding.held()).toBe(1);
    holding.release();
  });

  it('disable --wait --json waits for the sessions too and reports the wait in the JSON', async () => {
    await waitFor(async () => (await slotOn(hap(0).hostConfig(), 'web1'))?.sessions === 0, { what: 'web1 idle' });
    const r = await runCli(['disable', 'web/web1', '--wait', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.action).toBe('disable');
    expect(out.slots[0].record).toMatchObject({ state: 'held', heldAdmin: 'maint' });
    expect(out.wait).toEqual([
      {
        slot: 'web/web1',
        outcome: { result: 'done', elapsedMs: expect.any(Number), facts: expect.any(Array) },
        line: expect.stringMatching(/^disabled: web\/web1 \(i-1\) has no session left on any host/),
      },
    ]);
    expect(out.wait[0].outcome.facts.map((f: { admin: string }) => f.admin)).toEqual(['maint', 'maint']);
  });

  it('enable --wait follows a health-gated slot until its check passes on every host', async () => {
    expect((await runCli(['disable', 'web/web2'])).code).toBe(0);
    await untilEveryHost('web2', 'maint');
    const r = await runCli(['enable', 'web/web2', '--wait']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('waiting for web/web2 (i-live-1) to be ready on every host; gives up in 30s');
    // Each host's check passes on its own schedule: a host ready a round before the other is printed then, with the
    // countdown (`gives up in …`); the one that completes the wait gets `after …`.
    for (const h of ['wt-hap1', 'wt-hap2'])
      expect(r.stdout).toMatch(new RegExp(` ${h}: ready \\(UP[^)]* · L7OK\\) \\((after|gives up in) `));
    expect(r.stdout).toMatch(/ wt-hap\d: ready \(UP[^)]* · L7OK\) \(after /);
    expect(lastLine(r.stdout)).toMatch(/^ready: web\/web2 \(i-live-1\) is ready on every host \(after \d+s\)$/);
    await untilEveryHost('web2', 'ready');
  });

  it('enable --wait --timeout exits 1 when the check never passes, showing the check status per host', async () => {
    expect((await runCli(['disable', 'web/web3'])).code).toBe(0);
    const r = await runCli(['enable', 'web/web3', '--wait', '--timeout', '3']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ wt-hap1: DOWN · L4CON, waiting for a passing check \(gives up in \ds\)\n/);
    expect(lastLine(r.stdout)).toMatch(
      /^timed out after \d+s: web\/web3 \(i-dead\) not ready on every host; left as is: table active, hosts wt-hap1 drain \(DOWN, 0 sessions, L4CON\), wt-hap2 drain \(DOWN, 0 sessions, L4CON\)$/,
    );
  });

  it('enable without --wait returns at once and says the slot still waits for its check', async () => {
    expect((await runCli(['disable', 'web/web3'])).code).toBe(0);
    const r = await runCli(['enable', 'web/web3']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wt-hap1\s+waiting\s+.*waits for its first passing health check/);
  });

  it('does not wait when the change did not reach every host, and exits 1', async () => {
    const dead = { name: 'dead-hap', host: '127.0.0.1', port: await freePort() };
    const CONFIG_JSON = JSON.stringify({ ...config, hosts: [...config.hosts, dead] });
    const r = await runCli(['drain', 'web/web4', '--wait'], { CONFIG_JSON });
    expect(r.code).toBe(1);
    expect(lastLine(r.stdout)).toBe(
      'not waiting: the change did not reach web/web4 on dead-hap; the table and the hosts are left as they are',
    );
  });
});
