// Fault: the Lambda deadline arrives while a terminating instance still has requests in flight; the scheduled
// reconcile finishes the drain and completes the lifecycle action exactly once, only after every backend is free.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../bin/harness/haproxy.js';
import { httpGet, type Instance, startInstanceAt } from '../../bin/harness/instances.js';
import { freePort } from '../../bin/harness/ports.js';
import { lambdaContext } from '../support/lambda.js';
import { waitFor } from '../support/wait.js';
import { instanceId, launchEvent, mockAws, newToken, terminateEvent } from './support/aws.js';
import { deliverEvent, type HandlerHarness, reconcileUntil, startHandlers } from './support/handlers.js';

const solo = instanceId(1, 0xe); // only in `web`
const pair = instanceId(2, 0xe); // in `web` and `api`
const addresses: Record<string, string> = { [solo]: '127.0.3.1', [pair]: '127.0.3.2' };
const aws = mockAws((id) => addresses[id]);

let hosts: HaproxyHandle[];
let instances: Instance[];
let h: HandlerHarness;
const ports = { web: 0, api: 0 };
// The handler gets 4 s: it keeps 3 s for its reply, so it waits about 1 s, far less than the requests below need.
const SHORT_INVOCATION_MS = 4_000;

const slotOf = (backend: string, id: string) => h.store.findByMember(backend, id);
const completionsOf = (token: string) => aws.completions().filter((c) => c.token === token);

/** Sessions the slot has on each host. */
async function sessions(backend: string, slot: string): Promise<number[]> {
  const observed = await h.fleet.observe([backend]);
  return observed.map((o) => (o.ok ? (o.backends.get(backend)?.find((s) => s.server === slot)?.sessions ?? -1) : -1));
}

/** A request through `host`'s frontend of `backend` that the instance answers after `ms`, once HAProxy counts it. */
async function inFlight(host: HaproxyHandle, backend: 'web' | 'api', slot: string, ms: number) {
  const state = { answered: false };
  const response = httpGet(host.frontendPort(backend), `/sleep/${ms}`, ms + 10_000).finally(() => {
    state.answered = true;
  });
  await waitFor(async () => (await sessions(backend, slot)).some((n) => n > 0), {
    what: `${backend} request in flight`,
  });
  return { response, state };
}

beforeAll(async () => {
  ports.web = await freePort();
  ports.api = await freePort();
  instances = await Promise.all(
    Object.entries(addresses).flatMap(([id, address]) => [
      startInstanceAt(id, address, ports.web),
      startInstanceAt(id, address, ports.api),
    ]),
  );
  hosts = await startFleet(
    2,
    {
      backends: [
        { name: 'web', slotPrefix: 'web', slots: 4 },
        { name: 'api', slotPrefix: 'api', slots: 4 },
      ],
    },
    'deadline-hap',
  );
  h = await startHandlers('faultdeadline', {
    hosts: hosts.map((x) => x.hostConfig()),
    // Every member is a loopback address (127.0.0.x), which the address policy refuses unless told.
    allowLoopback: true,
    backends: [
      {
        name: 'web',
        slotPrefix: 'web',
        port: ports.web,
        autoScalingGroups: ['solo-asg', 'pair-asg'],
        drainSeconds: 60,
      },
      { name: 'api', slotPrefix: 'api', port: ports.api, autoScalingGroups: ['pair-asg'], drainSeconds: 60 },
    ],
  });
  await h.reconcile({}, lambdaContext());
}, 60_000);

afterAll(async () => {
  await stopAll(hosts);
  await Promise.all((instances ?? []).map((i) => i.close()));
  await h?.close();
});

describe('the Lambda deadline reached mid-drain', () => {
  it('returns pending, and reconcile passes complete the drain and the action exactly once after the request ends', async () => {
    await deliverEvent(h.lifecycle, launchEvent(solo, newToken(), 'solo-asg'));
    const slot = (await slotOf('web', solo))?.slot ?? '';
    const request = await inFlight(hosts[0] as HaproxyHandle, 'web', slot, 3_000);
    const token = newToken();
    const result = await h.lifecycle(terminateEvent(solo, token, 'solo-asg'), lambdaContext(SHORT_INVOCATION_MS));
    expect(result).toMatchObject({ action: 'deregister', completion: 'pending' });
    expect(request.state.answered).toBe(false);
    expect(await slotOf('web', solo)).toMatchObject({ state: 'draining', lifecycle: { token } });

    // The schedule keeps running: no pass may complete the action while the request is still being answered.
    let passesWhileInFlight = 0;
    await reconcileUntil(
      h,
      async () => (await slotOf('web', solo)) === undefined,
      () => {
        if (request.state.answered) return;
        passesWhileInFlight++;
        expect(completionsOf(token)).toEqual([]);
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'reconcile to free the drained slot' },
    );
    expect(await request.response).toEqual({ status: 200, body: solo });
    expect(passesWhileInFlight).toBeGreaterThan(1);
    for (let i = 0; i < 3; i++) await h.reconcile({}, lambdaContext());
    expect(completionsOf(token)).toEqual([{ instanceId: solo, token, result: 'CONTINUE' }]);
    expect((await sessions('web', slot)).every((n) => n === 0)).toBe(true);
  });

  it('with two backends draining at different speeds, completes once and only after both slots are free', async () => {
    await deliverEvent(h.lifecycle, launchEvent(pair, newToken(), 'pair-asg'));
    const webSlot = (await slotOf('web', pair))?.slot ?? '';
    const apiSlot = (await slotOf('api', pair))?.slot ?? '';
    const fast = await inFlight(hosts[0] as HaproxyHandle, 'web', webSlot, 2_000);
    const slow = await inFlight(hosts[1] as HaproxyHandle, 'api', apiSlot, 4_500);
    const token = newToken();
    const result = await h.lifecycle(terminateEvent(pair, token, 'pair-asg'), lambdaContext(SHORT_INVOCATION_MS));
    expect(result).toMatchObject({ action: 'deregister', completion: 'pending' });

    const seen: string[] = [];
    await reconcileUntil(
      h,
      async () => (await slotOf('api', pair)) === undefined,
      async () => {
        const web = (await slotOf('web', pair)) ? 'web draining' : 'web free';
        const api = (await slotOf('api', pair)) ? 'api draining' : 'api free';
        const done = completionsOf(token).length;
        seen.push(`${web}, ${api}, completed ${done}`);
        if (api === 'api draining') expect(done).toBe(0);
      },
      { timeoutMs: 20_000, intervalMs: 250, what: 'reconcile to free both slots' },
    );
    // The fast backend was freed first, passes went by with only the slow one draining, and nothing completed then.
    expect(seen).toContain('web free, api draining, completed 0');
    expect(seen.at(-1)).toBe('web free, api free, completed 1');
    expect(fast.state.answered && slow.state.answered).toBe(true);
    expect(await Promise.all([fast.response, slow.response])).toEqual([
      { status: 200, body: pair },
      { status: 200, body: pair },
    ]);
    for (let i = 0; i < 3; i++) await h.reconcile({}, lambdaContext());
    expect(completionsOf(token)).toEqual([{ instanceId: pair, token, result: 'CONTINUE' }]);
  });
});
