// End-to-end: the stack `npm start` runs — lifecycle events through serverless-offline change what both HAProxy
// frontends serve, the webhook checks signatures, and stopping leaves nothing running. One scenario, steps in order.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { oneShot } from '../../bin/harness/haproxy.js';
import { httpGet } from '../../bin/harness/instances.js';
import {
  asgState,
  frontendServes,
  hostSlotsOf,
  type LifecycleRun,
  launch,
  redeliver,
  sendWebhook,
  terminate,
} from '../../bin/local/operations.js';
import { isAlive } from '../../bin/local/processes.js';
import { type LocalStack, startStack } from '../../bin/local/stack.js';
import { parseShowStat } from '../../functions/lib/haproxy/parse-stat.js';
import { waitFor } from '../support/wait.js';

let stack: LocalStack;
let stateDir: string;
const tokens: string[] = [];
let launched: LifecycleRun[] = [];
let failed = false;

/** Both frontends serve exactly `ids` (polled: health checks and round robin settle within a second or two). */
async function expectServed(ids: readonly string[]): Promise<void> {
  const want = JSON.stringify([...ids].sort());
  await waitFor(
    async () => {
      const served = await Promise.all(stack.state.hosts.map((h) => frontendServes(h.frontendPort, 8)));
      // Thrown, so a timeout names what the frontends served last.
      if (!served.every((s) => JSON.stringify(s) === want)) throw new Error(`served ${JSON.stringify(served)}`);
      return true;
    },
    { timeoutMs: 10_000, intervalMs: 200, what: `both frontends serving exactly ${want}` },
  );
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'slot-sync-local-e2e-'));
  // Port 0 = any free port; reconcile is invoked by the test, never by a timer, so every step is deterministic.
  stack = await startStack({
    stateDir,
    frontendPorts: [0, 0],
    httpPort: 0,
    lambdaPort: 0,
    instancePort: 0,
    drainSeconds: 2,
    reconcileSeconds: 0,
  });
}, 150_000);

afterEach((context) => {
  if (context.task.result?.state === 'fail') failed = true;
});

afterAll(async () => {
  await stack?.stop();
  // The handlers' logs (serverless-offline output) are what explains a failure: kept then, removed otherwise.
  if (failed) console.error(`local stack e2e failed; handler logs kept in ${join(stateDir, 'offline.log')}`);
  else if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 30_000);

describe('local stack (npm start)', () => {
  it('serves exactly the two launched instances on both frontends after `launch 2`', { timeout: 30_000 }, async () => {
    await expectServed(['HTTP 503']);
    launched = await launch(stack.state, 2);
    for (const run of launched) {
      // Both events went through the queue as one SQS batch, the function reported no failure, AWS heard CONTINUE,
      // and both hosts have the instance's address in one slot, up.
      expect(run.delivery, JSON.stringify(run.delivery)).toMatchObject({
        receives: 1,
        deadLettered: false,
        batchOf: 2,
        result: { ok: true, payload: { batchItemFailures: [] } },
      });
      expect(run.completion).toBe('CONTINUE');
      expect(run.slots).toEqual([{ backend: 'web', slot: expect.any(String), statuses: ['UP', 'UP'], of: 2 }]);
      tokens.push(run.token);
    }
    expect(new Set(launched.map((r) => r.slots[0]?.slot)).size).toBe(2);
    await expectServed(launched.map((r) => r.instanceId));
  });

  it('changes nothing when a launch event is delivered again (`redeliver`): no second completion, same slot', {
    timeout: 30_000,
  }, async () => {
    const first = launched[0];
    if (!first) throw new Error('the launch step did not run');
    const again = await redeliver(stack.state, first.token);
    expect(again.delivery, JSON.stringify(again.delivery)).toMatchObject({
      receives: 1,
      deadLettered: false,
      result: { ok: true, payload: { batchItemFailures: [] } },
    });
    expect(again.accepted).toBe(1);
    // Not even tried again: a second CompleteLifecycleAction would be refused (no active action), and logged here.
    const { calls } = await asgState(stack.state);
    expect(calls.filter((c) => c.params.LifecycleActionToken === first.token).map((c) => c.action)).toEqual([
      'CompleteLifecycleAction',
    ]);
    expect(again.slots).toEqual(first.slots);
    await expectServed(launched.map((r) => r.instanceId));
    await expect(redeliver(stack.state, 'not-a-token')).rejects.toThrow(/no lifecycle action has token "not-a-token"/);
  });

  it('lets an open request finish, then serves only the remaining instance after terminate and a reconcile', {
    timeout: 30_000,
  }, async () => {
    const [leaving, staying] = launched.map((r) => r.instanceId);
    const hap1 = stack.state.hosts[0];
    if (!leaving || !staying || !hap1) throw new Error('the launch step did not run');
    // Two slow requests on one frontend: round robin gives one to each instance, so the leaving one has a session.
    const slow = [httpGet(hap1.frontendPort, '/sleep/1500'), httpGet(hap1.frontendPort, '/sleep/1500')];
    await waitFor(
      async () =>
        parseShowStat(await oneShot(hap1.statsPort, 'show stat web 4 -1')).reduce((n, r) => n + r.sessions, 0) === 2,
      { timeoutMs: 5_000, what: 'both slow requests in flight' },
    );
    const [run] = await terminate(stack.state, [leaving]);
    if (!run) throw new Error('terminate reported nothing');
    tokens.push(run.token);
    expect(run.delivery, JSON.stringify(run.delivery)).toMatchObject({
      receives: 1,
      deadLettered: false,
      result: { ok: true, payload: { batchItemFailures: [] } },
    });
    const answers = await Promise.all(slow);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(answers.map((a) => a.body.trim()).sort()).toEqual([leaving, staying].sort());
    const pass = await stack.reconcileNow();
    expect(pass.ok, JSON.stringify(pass.payload)).toBe(true);
    await expectServed([staying]);
  });

  it('changes nothing when the terminate event is delivered again', { timeout: 30_000 }, async () => {
    const [, , terminateToken] = tokens;
    if (!terminateToken) throw new Error('the terminate step did not run');
    const leaving = launched[0]?.instanceId as string;
    // Released: its old slot is parked in MAINT at its address until a launch takes it.
    const before = await hostSlotsOf(stack.state, leaving);
    expect(before.flatMap((s) => s.statuses)).toEqual(['MAINT', 'MAINT']);
    const again = await redeliver(stack.state, terminateToken);
    expect(again.delivery.result).toMatchObject({ ok: true, payload: { batchItemFailures: [] } });
    expect(again.accepted).toBe(1);
    expect(again.slots).toEqual(before);
    await expectServed([launched[1]?.instanceId as string]);
  });

  it('completed each lifecycle action with CONTINUE exactly once', async () => {
    const { calls } = await asgState(stack.state);
    expect(tokens).toHaveLength(3);
    for (const token of tokens) {
      const completions = calls.filter(
        (c) => c.action === 'CompleteLifecycleAction' && c.params.LifecycleActionToken === token,
      );
      expect(
        completions.map((c) => [c.params.LifecycleActionResult, c.status]),
        token,
      ).toEqual([['CONTINUE', 200]]);
    }
    const group = await asgState(stack.state);
    const states = Object.fromEntries(group.instances.map((i) => [i.id, i.state]));
    expect(states).toEqual({
      [launched[0]?.instanceId as string]: 'Terminated',
      [launched[1]?.instanceId as string]: 'InService',
    });
  });

  it('answers a signed webhook with 200 (the weight reaches both hosts) and a bad signature with 401', {
    timeout: 30_000,
  }, async () => {
    const run = launched[1];
    const instance = stack.state.instances.find((i) => i.id === run?.instanceId);
    const slot = run?.slots[0]?.slot;
    if (!instance || !slot) throw new Error('the launch step did not run');
    const member = { id: instance.id, address: instance.address, port: stack.state.backend.port };
    const body = JSON.stringify({ action: 'weight', backend: 'web', member, weight: 7 });
    const bad = await sendWebhook(stack.state, body, 'not-the-secret');
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.body)).toMatchObject({ error: { code: 'BAD_SIGNATURE' } });
    const good = await sendWebhook(stack.state, body);
    expect(good.status, good.body).toBe(200);
    for (const host of stack.state.hosts) {
      expect(await oneShot(host.statsPort, `get weight web/${slot}`)).toMatch(/^7 \(initial 1\)/);
    }
  });

  it('stops every process it started and frees every port', { timeout: 30_000 }, async () => {
    const { pids, hosts, endpoints } = stack.state;
    const all = [pids.offline, ...pids.haproxy, ...pids.dynamodb];
    // Two masters, two workers, one JVM, one serverless-offline: all found, all alive before stop.
    expect(pids.haproxy).toHaveLength(4);
    expect(pids.dynamodb).toHaveLength(1);
    expect(all.filter(isAlive)).toEqual(all);
    await stack.stop();
    expect(all.filter(isAlive)).toEqual([]);
    const ports = [
      ...hosts.flatMap((h) => [h.frontendPort, h.statsPort]),
      ...Object.values(endpoints).map((url) => Number(new URL(url).port)),
    ];
    const open = [];
    for (const port of ports) if (!(await refusesConnections(port))) open.push(port);
    expect(open).toEqual([]);
  });
});
