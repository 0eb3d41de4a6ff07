// Fault: lifecycle events duplicated and out of order (terminate before launch), through the real lifecycle handler:
// the instance never ends up served, holds no slot, and every lifecycle action is completed exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../bin/harness/haproxy.js';
import { httpGet, type Instance, startInstanceAt } from '../../bin/harness/instances.js';
import { freePort } from '../../bin/harness/ports.js';
import { lambdaContext } from '../support/lambda.js';
import { waitFor } from '../support/wait.js';
import { instanceId, launchEvent, mockAws, newToken, terminateEvent } from './support/aws.js';
import { fleetDifferences, slotsPointingAt } from './support/fleet-vs-table.js';
import { deliverEvent, type HandlerHarness, reconcileUntil, startHandlers } from './support/handlers.js';

const baseline = instanceId(0, 0xf);
const subjects = Array.from({ length: 24 }, (_, i) => instanceId(i + 1, 0xf));
const addressOf = (id: string) => (id === baseline ? '127.0.5.100' : `127.0.5.${subjects.indexOf(id) + 1}`);
const aws = mockAws(addressOf);

let hosts: HaproxyHandle[];
let instances: Instance[];
let h: HandlerHarness;
let port: number;
let next = 0;
const subject = () => subjects[next++] as string;

type Summary = { action?: string; completion?: string };
const completionsOf = (token: string) => aws.completions().filter((c) => c.token === token);

/** The instance holds no slot, no host sends it traffic, and the hosts equal the table. */
async function expectOut(id: string) {
  expect(await h.store.findByMember('web', id)).toBeUndefined();
  expect(await slotsPointingAt(h.fleet, 'web', addressOf(id))).toEqual([]);
}

/** The distinct orders of 3 deliveries of one launch and 2 of one terminate (10 of them). */
function orders(): string[][] {
  const out: string[][] = [];
  for (let a = 0; a < 5; a++)
    for (let b = a + 1; b < 5; b++) out.push([0, 1, 2, 3, 4].map((i) => (i === a || i === b ? 'T' : 'L')));
  return out;
}

beforeAll(async () => {
  port = await freePort();
  instances = await Promise.all([baseline, ...subjects].map((id) => startInstanceAt(id, addressOf(id), port)));
  hosts = await startFleet(2, { backends: [{ name: 'web', slotPrefix: 'web', slots: 16 }] }, 'order-hap');
  h = await startHandlers('faultorder', {
    hosts: hosts.map((x) => x.hostConfig()),
    // Every member is a loopback address (127.0.0.x), which the address policy refuses unless told.
    allowLoopback: true,
    backends: [{ name: 'web', slotPrefix: 'web', port, autoScalingGroups: ['web-asg'], drainSeconds: 30 }],
  });
  await h.reconcile({}, lambdaContext());
  await deliverEvent(h.lifecycle, launchEvent(baseline, newToken()));
}, 60_000);

afterAll(async () => {
  await stopAll(hosts);
  await Promise.all((instances ?? []).map((i) => i.close()));
  await h?.close();
});

describe('events duplicated and out of order', () => {
  it('abandons a launch delivered after its terminate, registering nothing and serving nothing from it', async () => {
    const id = subject();
    const [launchToken, terminateToken] = [newToken(), newToken()];
    const t = await deliverEvent(h.lifecycle, terminateEvent(id, terminateToken));
    expect(t.result).toMatchObject({ action: 'deregister', completion: 'CONTINUE' });
    const l = await deliverEvent(h.lifecycle, launchEvent(id, launchToken));
    expect(l.result).toMatchObject({ action: 'register', completion: 'ABANDON' });
    await expectOut(id);
    expect(aws.completions(id)).toEqual([
      { instanceId: id, token: terminateToken, result: 'CONTINUE' },
      { instanceId: id, token: launchToken, result: 'ABANDON' },
    ]);
    // Whatever else the backend serves (the baseline, members other tests left in service), never this instance.
    const bodies = new Set<string>();
    for (const host of hosts) for (let i = 0; i < 6; i++) bodies.add((await httpGet(host.frontendPort('web'))).body);
    expect(bodies.has(baseline)).toBe(true);
    expect(bodies.has(id)).toBe(false);
  });

  it('ends every order of 3 launch and 2 terminate deliveries with the instance out, each action completed once', async () => {
    const runs = orders().map((order) => ({ order, id: subject(), launch: newToken(), terminate: newToken() }));
    await Promise.all(
      runs.map(async (r) => {
        for (const kind of r.order) {
          const event = kind === 'L' ? launchEvent(r.id, r.launch) : terminateEvent(r.id, r.terminate);
          await deliverEvent(h.lifecycle, event);
        }
      }),
    );
    for (const r of runs) {
      await expectOut(r.id);
      // A launch seen first served until its terminate; one seen after the terminate never did.
      const launchResult = r.order[0] === 'L' ? 'CONTINUE' : 'ABANDON';
      expect(
        completionsOf(r.launch).map((c) => c.result),
        r.order.join(''),
      ).toEqual([launchResult]);
      expect(
        completionsOf(r.terminate).map((c) => c.result),
        r.order.join(''),
      ).toEqual(['CONTINUE']);
    }
    expect(await fleetDifferences(h.fleet, h.store, ['web'])).toEqual([]);
  });

  it('converges when the duplicates of a launch and its terminate all arrive at once', async () => {
    const runs = Array.from({ length: 4 }, () => ({ id: subject(), launch: newToken(), terminate: newToken() }));
    await Promise.all(
      runs.flatMap((r) =>
        ['L', 'T', 'L', 'T', 'L'].map((kind) =>
          deliverEvent(h.lifecycle, kind === 'L' ? launchEvent(r.id, r.launch) : terminateEvent(r.id, r.terminate)),
        ),
      ),
    );
    // A launch racing its own terminate may program a host after the drain; the next scheduled pass takes it out.
    await h.reconcile({}, lambdaContext());
    for (const r of runs) {
      await expectOut(r.id);
      expect(completionsOf(r.launch)).toHaveLength(1);
      expect(completionsOf(r.terminate).map((c) => c.result)).toEqual(['CONTINUE']);
    }
    expect(await fleetDifferences(h.fleet, h.store, ['web'])).toEqual([]);
  });

  it('abandons a launch that arrives while its terminate is still draining once the drain is over, and leaves the drain alone', async () => {
    const id = subject();
    await deliverEvent(h.lifecycle, launchEvent(id, newToken()));
    const slot = (await h.store.findByMember('web', id))?.slot ?? '';
    // Round robin over every member in service: requests go in until one is in flight on this instance's slot.
    const frontend = (hosts[0] as HaproxyHandle).frontendPort('web');
    const sent: Promise<{ status: number; body: string }>[] = [];
    const sessionsOnSlot = async () => {
      const [o] = await h.fleet.observe(['web']);
      return o?.ok ? (o.backends.get('web')?.find((s) => s.server === slot)?.sessions ?? 0) : 0;
    };
    await waitFor(
      async () => {
        sent.push(httpGet(frontend, '/sleep/2500', 10_000));
        return waitFor(async () => (await sessionsOnSlot()) > 0, { timeoutMs: 300, intervalMs: 20 }).catch(() => false);
      },
      { timeoutMs: 10_000, intervalMs: 0, what: 'a request in flight on the slot' },
    );
    const requests = Promise.all(sent);
    const terminateToken = newToken();
    const t = await h.lifecycle(terminateEvent(id, terminateToken), lambdaContext(4_000));
    expect(t as Summary).toMatchObject({ completion: 'pending' });

    // A second launch action for the instance (e.g. a redelivery whose idempotency record has expired).
    const lateToken = newToken();
    const late = await deliverEvent(h.lifecycle, launchEvent(id, lateToken));
    // Owed, not sent: the ASG terminates an abandoned instance at once, and the drain still has a request in flight.
    expect(late.result as Summary).toMatchObject({ action: 'register', completion: 'pending' });
    expect(completionsOf(lateToken)).toEqual([]);
    expect(await h.store.findByMember('web', id)).toMatchObject({ slot, state: 'draining' });
    expect(await fleetDifferences(h.fleet, h.store, ['web'])).toEqual([]);

    expect((await requests).map((r) => r.body)).toContain(id);
    await reconcileUntil(
      h,
      async () => (await h.store.findByMember('web', id)) === undefined,
      () => {},
      {
        timeoutMs: 10_000,
        what: 'the drain to finish',
      },
    );
    await expectOut(id);
    expect(completionsOf(terminateToken).map((c) => c.result)).toEqual(['CONTINUE']);
    expect(completionsOf(lateToken).map((c) => c.result)).toEqual(['ABANDON']);
  });

  it('does not retire an instance going to the warm pool: its return from the pool registers it again', async () => {
    const id = subject();
    await deliverEvent(h.lifecycle, launchEvent(id, newToken()));
    const toPool = { Origin: 'AutoScalingGroup', Destination: 'WarmPool' };
    const t = await deliverEvent(h.lifecycle, terminateEvent(id, newToken(), 'web-asg', toPool));
    expect(t.result as Summary).toMatchObject({ action: 'deregister', completion: 'CONTINUE' });
    expect(await h.store.isRetired('web', id)).toBe(false);
    const back = { Origin: 'WarmPool', Destination: 'AutoScalingGroup' };
    const l = await deliverEvent(h.lifecycle, launchEvent(id, newToken(), 'web-asg', back));
    expect(l.result as Summary).toMatchObject({ action: 'register', completion: 'CONTINUE' });
    expect(await h.store.findByMember('web', id)).toMatchObject({ state: 'active', address: addressOf(id) });
    expect(await fleetDifferences(h.fleet, h.store, ['web'])).toEqual([]);
  });
});
