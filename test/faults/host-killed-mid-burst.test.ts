// Fault: one of three HAProxy hosts is SIGKILLed in the middle of a burst of launches and restarted with its runtime
// state lost; quorum 'majority' lets the burst finish, and one reconcile brings every host back to the table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../bin/harness/haproxy.js';
import { freePort } from '../../bin/harness/ports.js';
import { lambdaContext } from '../support/lambda.js';
import { waitFor } from '../support/wait.js';
import { instanceId, launchEvent, mockAws, newToken } from './support/aws.js';
import { fleetDifferences, owners } from './support/fleet-vs-table.js';
import { deliverEvent, type HandlerHarness, startHandlers } from './support/handlers.js';

const BURST = 50;
const SLOTS = 64;
const ids = Array.from({ length: BURST }, (_, i) => instanceId(i + 1, 0xb));
const addressOf = (id: string) => {
  const i = ids.indexOf(id);
  return i < 0 ? undefined : `127.0.1.${i + 1}`;
};
const aws = mockAws(addressOf);

let hosts: HaproxyHandle[];
let h: HandlerHarness;
let port: number;

beforeAll(async () => {
  port = await freePort();
  hosts = await startFleet(3, { backends: [{ name: 'web', slotPrefix: 'web', slots: SLOTS }] }, 'killed-hap');
  h = await startHandlers('faultkill', {
    hosts: hosts.map((x) => x.hostConfig()),
    // Every member is a loopback address (127.0.0.x), which the address policy refuses unless told.
    allowLoopback: true,
    backends: [{ name: 'web', slotPrefix: 'web', port, autoScalingGroups: ['web-asg'], drainSeconds: 5 }],
    // A dead host answers connection refused at once: short timeouts keep the burst quick, majority keeps it going.
    timeouts: { connectMs: 500, commandMs: 5_000 },
    quorum: 'majority',
  });
  // The schedule's first pass seeds the table from the hosts' slot names before any launch arrives.
  await h.reconcile({}, lambdaContext());
}, 60_000);

afterAll(async () => {
  await stopAll(hosts);
  await h?.close();
});

describe('a host killed in the middle of a burst of launches', () => {
  it('finishes the burst on the majority, and one reconcile after the restart makes every host equal the table', async () => {
    const victim = hosts[1] as HaproxyHandle;
    const tokens = ids.map(() => newToken());
    const send = (from: number, to: number) =>
      Promise.all(
        ids.slice(from, to).map((id, i) => deliverEvent(h.lifecycle, launchEvent(id, tokens[from + i] as string))),
      );
    // Two waves, the second sent as the host dies: the kill lands mid-burst by construction, however fast the first
    // wave finishes (all of it did before the kill on a loaded machine).
    const first = send(0, BURST / 2);
    first.catch(() => {}); // a failed wave is reported where it is awaited below, not as an unhandled rejection

    // Completed lifecycle actions mark launches that are fully done (slot claimed and programmed on the hosts).
    await waitFor(() => aws.completions().length >= 10, { timeoutMs: 20_000, intervalMs: 5, what: '10 launches done' });
    const second = send(BURST / 2, BURST);
    second.catch(() => {});
    await victim.kill('SIGKILL');
    const doneAtKill = aws.completions().length;
    const deliveries = [...(await first), ...(await second)];

    // The kill landed mid-burst: launches were still arriving after it, and every one of them completed CONTINUE.
    expect(doneAtKill).toBeLessThan(BURST);
    expect(deliveries.map((d) => (d.result as { completion?: string }).completion)).toEqual(
      Array(BURST).fill('CONTINUE'),
    );
    const slots = await h.store.list('web');
    const { members, doubled } = owners(slots);
    expect(doubled).toEqual([]);
    expect(members.sort()).toEqual([...ids].sort());
    for (const id of ids) expect((await h.store.findByMember('web', id))?.address).toBe(addressOf(id));
    const byToken = new Map(aws.completions().map((c) => [c.token, c]));
    expect(aws.completions()).toHaveLength(BURST);
    expect(tokens.map((t) => byToken.get(t)?.result)).toEqual(Array(BURST).fill('CONTINUE'));

    // Restarted without a state file: every slot is back on the placeholder, in maint.
    await victim.start();
    const before = await fleetDifferences(h.fleet, h.store, ['web']);
    expect(before.filter((d) => d.startsWith(`${victim.name} `)).length).toBe(BURST);
    expect(before.filter((d) => !d.startsWith(`${victim.name} `))).toEqual([]);

    const report = (await h.reconcile({}, lambdaContext())) as { failures?: unknown[] };
    expect(report.failures ?? []).toEqual([]);
    expect(await fleetDifferences(h.fleet, h.store, ['web'])).toEqual([]);
    const redelivered = deliveries.filter((d) => d.attempts > 1).length;
    console.info(`host killed with ${doneAtKill}/${BURST} launches done; ${redelivered} events redelivered`);
  });
});
