// init-state down on a kit host (opt-in, 3.1+): a slot put straight to ready gets no traffic until a check passes.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startHaproxy, stopAll } from '../../bin/harness/haproxy.js';
import { httpGet, type Instance, startInstanceAt } from '../../bin/harness/instances.js';
import { setAddr, setState } from '../../functions/lib/domain/commands.js';
import type { ObservedSlot } from '../../functions/lib/domain/types.js';
import { createFleet } from '../../functions/lib/haproxy/fleet.js';
import { hasInitState, parseVersion } from '../../functions/lib/haproxy/version.js';
import type { HaproxyFleet } from '../../functions/lib/ports.js';
import { KIT_BACKEND, kitHaproxyOptions, showProc } from '../support/host-kit.js';
import { waitFor } from '../support/wait.js';

const BE = KIT_BACKEND.name;
// The instance serves `/` at once but never answers its health check: `/sleep/<ms>` outlasts the check timeout.
const NEVER_HEALTHY = '/sleep/600000';
let instance: Instance;
let hosts: HaproxyHandle[] = [];

beforeAll(async () => {
  instance = await startInstanceAt('kit-unhealthy', '127.0.0.5', 0);
});

afterEach(async () => {
  await stopAll(hosts);
  hosts = [];
});

afterAll(async () => {
  await instance?.close();
});

async function start(initStateDown: boolean): Promise<{ host: HaproxyHandle; fleet: HaproxyFleet }> {
  const vars = () => ({ HEALTH_PATH: NEVER_HEALTHY, INIT_STATE_DOWN: initStateDown ? 'yes' : 'no' });
  const host = await startHaproxy(kitHaproxyOptions(initStateDown ? 'kit-initdown' : 'kit-initdefault', { vars }));
  hosts.push(host);
  await waitFor(async () => (await showProc(host)).workers.length === 1, { what: 'the master CLI' });
  return { host, fleet: createFleet({ hosts: [host.hostConfig()], timeouts: { connectMs: 500, commandMs: 3_000 } }) };
}

async function web1(fleet: HaproxyFleet): Promise<ObservedSlot & { version: string }> {
  const [o] = await fleet.observe([BE]);
  const slot = o?.ok ? o.backends.get(BE)?.find((s) => s.server === 'web1') : undefined;
  if (!o?.ok || !slot || !o.version) throw new Error(`observe failed: ${JSON.stringify(o)}`);
  return { ...slot, version: o.version };
}

/**
 * web1 reported at the instance's address, ready: on 3.x `set server addr` is applied after its reply (ARCHITECTURE.md,
 * Planner rule 3), so a request sent the moment the batch is answered can still find the old address.
 */
function applied(fleet: HaproxyFleet): Promise<ObservedSlot> {
  return waitFor(
    async () => {
      const slot = await web1(fleet);
      return slot.address === instance.address && slot.admin === 'ready' ? slot : undefined;
    },
    { timeoutMs: 5_000, what: 'web1 at the instance address, ready' },
  );
}

describe('a slot put straight to ready whose health check never passes', () => {
  it('gets no traffic with INIT_STATE_DOWN=yes where the version has init-state (3.1+), traffic at once where not', async () => {
    const { host, fleet } = await start(true);
    const [result] = await fleet.broadcast([
      setAddr(BE, 'web1', instance.address, instance.port),
      setState(BE, 'web1', 'ready'),
    ]);
    expect(result?.ok, JSON.stringify(result)).toBe(true);
    const { version } = await web1(fleet);
    if (hasInitState(parseVersion(version))) {
      // A check has completed (and failed): from here on only a passing one could bring the slot UP.
      const slot = await waitFor(async () => ((await web1(fleet)).checkStatus === 'L7TOUT' ? web1(fleet) : undefined), {
        timeoutMs: 15_000,
        what: 'a failed health check on web1',
      });
      expect(slot).toMatchObject({ admin: 'ready', statusWord: 'DOWN' });
      expect((await httpGet(host.frontendPort(BE))).status).toBe(503);
    } else {
      // 2.6/3.0: nothing but the functions' drain gate keeps an unchecked slot out of traffic.
      await applied(fleet);
      expect((await httpGet(host.frontendPort(BE))).body).toBe(instance.id);
    }
  });

  it('gets traffic at once without INIT_STATE_DOWN (the default) on every version: the drain gate is what protects', async () => {
    const { host, fleet } = await start(false);
    await fleet.broadcast([setAddr(BE, 'web1', instance.address, instance.port), setState(BE, 'web1', 'ready')]);
    await applied(fleet);
    expect((await httpGet(host.frontendPort(BE))).body).toBe(instance.id);
  });
});
