// Fault: slot-sync-reload (the host kit's helper) reloads both master-worker HAProxy hosts in the middle of a burst of
// launches, under steady traffic: no live slot is lost, no request fails, and at most one reconcile converges the fleet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startHaproxy, stopAll } from '../../bin/harness/haproxy.js';
import { parentOf } from '../../bin/harness/haproxy-util.js';
import { freePort } from '../../bin/harness/ports.js';
import { kitHaproxyOptions, reloadArgs, runReloadHelper, showProc } from '../support/host-kit.js';
import { lambdaContext } from '../support/lambda.js';
import { startLoad } from '../support/load.js';
import { waitFor } from '../support/wait.js';
import { instanceId, launchEvent, mockAws, newToken } from './support/aws.js';
import { differences, fleetDifferences } from './support/fleet-vs-table.js';
import { deliverEvent, type HandlerHarness, startHandlers } from './support/handlers.js';
import { type InstanceProcess, startInstanceProcess } from './support/instance-process.js';

const baseline = [instanceId(1, 0xc), instanceId(2, 0xc)];
const burst = Array.from({ length: 28 }, (_, i) => instanceId(i + 10, 0xc));
const all = [...baseline, ...burst];
const addressOf = (id: string) => (all.includes(id) ? `127.0.6.${all.indexOf(id) + 1}` : undefined);
const aws = mockAws(addressOf);

const hosts: HaproxyHandle[] = [];
let instances: InstanceProcess | undefined;
let h: HandlerHarness;

const active = async () => (await h.store.list('web')).filter((s) => s.state === 'active');

beforeAll(async () => {
  const port = await freePort();
  instances = await startInstanceProcess(
    all.map((id) => ({ id, address: addressOf(id) as string })),
    port,
  );
  for (const name of ['reload-hap1', 'reload-hap2']) {
    const host = await startHaproxy(kitHaproxyOptions(name, { vars: () => ({ SLOT_COUNT: '40' }) }));
    hosts.push(host);
    await waitFor(async () => (await showProc(host)).workers.length === 1, { what: `${name} master CLI` });
  }
  h = await startHandlers('faultreload', {
    hosts: hosts.map((x) => x.hostConfig()),
    // Every member is a loopback address (127.0.0.x), which the address policy refuses unless told.
    allowLoopback: true,
    backends: [{ name: 'web', slotPrefix: 'web', port, autoScalingGroups: ['web-asg'], drainSeconds: 30 }],
  });
  await h.reconcile({}, lambdaContext());
  for (const id of baseline) await deliverEvent(h.lifecycle, launchEvent(id, newToken()));
}, 60_000);

afterAll(async () => {
  await stopAll(hosts);
  await instances?.close();
  await h?.close();
});

describe('a HAProxy reload during a burst of launches', () => {
  it('loses no live slot and fails no request, and at most one reconcile makes every host equal the table', async () => {
    // The load's timers share this process with 28 Lambda invocations: a generous timeout keeps a busy event loop
    // from counting a slow callback as a failed request; a real failure (5xx, reset, refused) still counts at once.
    const loads = hosts.map((host) =>
      startLoad({ port: host.frontendPort('web'), ratePerSecond: 30, maxSeconds: 45, timeoutMs: 15_000 }),
    );
    try {
      await waitFor(() => loads.every((l) => l.snapshot().ok >= 15), { what: 'traffic through both frontends' });
      const baselineSlots = (await active()).filter((s) => baseline.includes(s.member ?? ''));
      expect(baselineSlots).toHaveLength(2);
      const oldWorkers = await Promise.all(hosts.map(async (host) => (await showProc(host)).workers[0] as number));

      const finishedAt: number[] = [];
      const deliver = (ids: readonly string[]) => {
        const out = Promise.all(
          ids.map(async (id) => {
            const delivery = await deliverEvent(h.lifecycle, launchEvent(id, newToken()));
            finishedAt.push(Date.now());
            return delivery;
          }),
        );
        out.catch(() => {}); // reported where it is awaited below
        return out;
      };
      // Two waves: the reloads start together with the second, so they meet launches being claimed and programmed
      // whatever the speed of the first (a whole burst of claims now lands within one poll of the table).
      const half = burst.length / 2;
      const firstWave = deliver(burst.slice(0, half));
      const activeAtReload = await waitFor(
        async () => {
          const n = (await active()).length;
          return n >= 6 ? n : 0;
        },
        { timeoutMs: 20_000, what: 'the burst under way' },
      );
      const reloadStarted = Date.now();
      const secondWave = deliver(burst.slice(half));
      const reloads = await Promise.all(hosts.map((host) => runReloadHelper(reloadArgs(host))));
      for (const run of reloads) expect(run.code, run.stderr).toBe(0);
      await waitFor(() => oldWorkers.every((pid) => parentOf(pid) === undefined), {
        timeoutMs: 15_000,
        what: 'the old workers to exit',
      });
      const okAtReload = loads.map((l) => l.snapshot().ok);
      // Right after the reload, from the new workers only: the slots that were live before it are all still live.
      const observed = await h.fleet.observe(['web']);
      for (const o of observed) expect(differences(o, 'web', baselineSlots)).toEqual([]);

      const delivered = [...(await firstWave), ...(await secondWave)];
      // The reloads overlapped the burst: launches were still being handled after they started.
      expect(activeAtReload).toBeLessThan(all.length);
      expect(finishedAt.filter((t) => t > reloadStarted).length).toBeGreaterThan(0);
      expect(delivered.map((d) => (d.result as { completion?: string }).completion)).toEqual(
        Array(burst.length).fill('CONTINUE'),
      );
      expect(aws.completions()).toHaveLength(all.length);
      expect((await active()).map((s) => s.member).sort()).toEqual([...all].sort());

      const drift = await fleetDifferences(h.fleet, h.store, ['web']);
      if (drift.length > 0) await h.reconcile({}, lambdaContext());
      expect(await fleetDifferences(h.fleet, h.store, ['web'])).toEqual([]);
      for (const host of hosts) expect(await showProc(host)).toMatchObject({ reloads: 1, failed: 0 });
      // Traffic went on through the new workers: requests answered after the old ones had exited. (Counting a fixed
      // total instead depended on how long the burst took: a run that took 1 s had sent only 30.)
      await waitFor(() => loads.every((l, i) => l.snapshot().ok >= (okAtReload[i] ?? 0) + 15), {
        what: 'requests answered by the new workers',
      });

      const reports = await Promise.all(loads.map((l) => l.stop()));
      for (const report of reports) {
        expect(report.failures).toEqual([]);
        expect(report).toMatchObject({ failed: 0, skipped: 0 });
      }
      console.info(
        `reload during burst: ${activeAtReload} slots active when the reloads started; ` +
          `${drift.length} differences after the burst (${drift.length ? 'one reconcile ran' : 'no reconcile needed'}); ` +
          `requests ok ${reports.map((r) => r.ok).join('+')}, failed 0`,
      );
    } finally {
      await Promise.all(loads.map((l) => l.stop()));
    }
  });
});
