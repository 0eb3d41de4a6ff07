// Drain against a real HAProxy: a request in flight survives `state drain`, new traffic goes elsewhere, scur returns to 0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startHaproxy, stopAll } from '../../bin/harness/haproxy.js';
import { httpGet, type Instance, startInstances } from '../../bin/harness/instances.js';
import { setAddr, setState } from '../../functions/lib/domain/commands.js';
import type { ObservedSlot } from '../../functions/lib/domain/types.js';
import { createFleet } from '../../functions/lib/haproxy/fleet.js';
import type { HaproxyFleet } from '../../functions/lib/ports.js';
import { waitFor } from '../support/wait.js';

let host: HaproxyHandle;
let instances: Instance[] = [];
let fleet: HaproxyFleet;

beforeAll(async () => {
  [host, instances] = await Promise.all([
    startHaproxy({ backends: [{ name: 'be', slotPrefix: 'web', slots: 3 }] }),
    startInstances(2, 'drain-'),
  ]);
  fleet = createFleet({ hosts: [host.hostConfig()], timeouts: { connectMs: 500, commandMs: 3_000 } });
});

afterAll(async () => {
  await stopAll([host]);
  await Promise.all(instances.map((i) => i.close()));
});

async function slot(server: string): Promise<ObservedSlot> {
  const [observation] = await fleet.observe(['be']);
  if (!observation?.ok) throw new Error(`observe failed: ${JSON.stringify(observation)}`);
  const found = observation.backends.get('be')?.find((s) => s.server === server);
  if (!found) throw new Error(`no slot ${server}`);
  return found;
}

describe('drain on a real HAProxy', () => {
  it('lets a request in flight finish while the draining slot gets no new traffic, then scur falls to 0', async () => {
    const [leaving, staying] = instances as [Instance, Instance];
    const setup = await fleet.broadcast([
      setAddr('be', 'web1', leaving.address, leaving.port),
      setState('be', 'web1', 'ready'),
    ]);
    expect(setup.every((r) => r.ok)).toBe(true);

    const inFlight = httpGet(host.frontendPort('be'), '/sleep/3000', 10_000);
    await waitFor(async () => (await slot('web1')).sessions > 0, {
      timeoutMs: 2_000,
      what: 'the long request on web1',
    });

    const drained = await fleet.broadcast([
      setAddr('be', 'web2', staying.address, staying.port),
      setState('be', 'web2', 'ready'),
      setState('be', 'web1', 'drain'),
    ]);
    expect(drained.every((r) => r.ok)).toBe(true);
    const during = await slot('web1');
    expect(during).toMatchObject({ admin: 'drain', statusWord: 'DRAIN' });
    expect(during.sessions).toBeGreaterThan(0);

    // New requests go to the slot that stays, never to the draining one.
    for (let i = 0; i < 4; i++)
      expect(await httpGet(host.frontendPort('be'), '/')).toEqual({ status: 200, body: staying.id });

    expect(await inFlight).toEqual({ status: 200, body: leaving.id });
    const after = await waitFor(
      async () => {
        const s = await slot('web1');
        return s.sessions === 0 ? s : undefined;
      },
      { timeoutMs: 5_000, what: 'scur of web1 back to 0' },
    );
    expect(after).toMatchObject({ admin: 'drain', statusWord: 'DRAIN', sessions: 0 });
  });
});
