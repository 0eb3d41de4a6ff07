// converge with in-memory ports: the observe → read → plan → send loop every slot-changing service runs, its fence,
// its bounds, and what it reports per host.
import { describe, expect, it } from 'vitest';
import { type ConvergeOptions, type ConvergeTarget, converge } from '../../../functions/lib/services/converge.js';
import { fakeWorld, type World, type WorldOptions } from '../../support/fakes/world.js';

const FAR = Number.MAX_SAFE_INTEGER;

async function claimed(w: World, id: string, address: string) {
  return (await w.store.claim('web', w.member(id, address), { weight: 1, owner: 'webhook' })).record.slot;
}

function run(w: World, slots: string[], options: Partial<ConvergeOptions> = {}, member?: string) {
  const target: ConvergeTarget = { backend: w.backend(), slots, member };
  return converge([target], w.config, w.deps, { until: FAR, pollMs: 50, ...options });
}

const GATED: WorldOptions = {
  backends: [{ name: 'web', check: true, healthGate: { enabled: true, timeoutSeconds: 5 } }],
};

describe('converge', () => {
  it('brings every host to the record and reports each one applied', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await claimed(w, 'm-1', '10.0.0.1');
    const out = await run(w, [slot]);
    expect(out.settled).toBe(true);
    expect(out.slots).toEqual([
      expect.objectContaining({ backend: 'web', slot, record: expect.objectContaining({ member: 'm-1' }) }),
    ]);
    expect(out.slots[0]?.hosts.map((h) => [h.host, h.applied, h.error])).toEqual([
      ['hap1', true, undefined],
      ['hap2', true, undefined],
      ['hap3', true, undefined],
    ]);
  });

  it('on a 3.x host re-addresses first and changes the admin state only once the read-back shows the address', async () => {
    const w = fakeWorld({ version: '3.0.11' });
    await w.seed();
    const slot = await claimed(w, 'm-1', '10.0.0.1');
    await run(w, [slot]);
    // The second batch repeats the address in front of the state change (`nothing changed` here): a reload between
    // the two batches must not leave the ready alone on a new worker that never got the address.
    expect(w.fleet.sent.filter((b) => b.host === 'hap1').map((b) => b.lines)).toEqual([
      [`set server web/${slot} addr 10.0.0.1 port 8080`],
      [`set server web/${slot} addr 10.0.0.1 port 8080`, `set server web/${slot} state ready`],
    ]);
  });

  it('never writes a batch later than planTtlMs after the read it was planned from', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await claimed(w, 'm-1', '10.0.0.1');
    w.fleet.setLatency('hap2', w.config.timeouts.planTtlMs + 1);
    const out = await run(w, [slot]);
    expect(out.settled).toBe(false);
    const hap2 = out.slots[0]?.hosts.find((h) => h.host === 'hap2');
    expect(hap2).toMatchObject({ applied: false, error: { code: 'STALE_PLAN' } });
    expect(w.fleet.lines('hap2')).toEqual([]);
    expect(w.fleet.slot('hap1', 'web', slot).admin).toBe('ready');
  });

  it('reports a host that is down with its error and applies the others', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await claimed(w, 'm-1', '10.0.0.1');
    w.fleet.setMode('hap1', 'down');
    const out = await run(w, [slot]);
    expect(out.slots[0]?.hosts.map((h) => [h.host, h.applied, h.error?.code])).toEqual([
      ['hap1', false, 'HOST_UNREACHABLE'],
      ['hap2', true, undefined],
      ['hap3', true, undefined],
    ]);
  });

  it('stops at `until` while a host waits for the first passing check, saying so', async () => {
    const w = fakeWorld(GATED);
    await w.seed();
    const slot = await claimed(w, 'm-1', '10.0.0.1');
    w.fleet.setHealth('10.0.0.1', 'pending');
    const until = w.clock.now() + 1_000;
    const out = await run(w, [slot], { until });
    expect(out.settled).toBe(false);
    expect(w.clock.now()).toBeGreaterThanOrEqual(until);
    expect(w.clock.now()).toBeLessThan(until + 500);
    expect(out.slots[0]?.hosts.every((h) => h.awaitingHealth && !h.applied)).toBe(true);
  });

  it('leaves the loop when the slot stops being the member’s, instead of converging it for the new owner', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await claimed(w, 'm-1', '10.0.0.1');
    w.fleet.setHealth('10.0.0.1', 'pending');
    await w.store.apply('web', { member: 'm-1' }, { kind: 'release' });
    const out = await run(w, [slot], {}, 'm-1');
    expect(out.settled).toBe(true);
    expect(out.slots[0]?.record).toBeUndefined();
    expect(w.fleet.sent).toEqual([]);
  });

  it('hands due transitions to the caller, and ends when the caller says it is done', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await claimed(w, 'm-1', '10.0.0.1');
    await run(w, [slot]);
    const now = w.clock.now();
    await w.store.apply('web', { member: 'm-1' }, { kind: 'deregister', now: now - 10_000, deadline: now + 60_000 });
    const seen: string[] = [];
    const out = await run(w, [slot], {
      untilReleased: true,
      onTransitions: async (transitions) => {
        seen.push(...transitions.map((t) => t.kind));
        return true;
      },
    });
    expect(out.settled).toBe(true);
    expect(seen).toEqual(['drain-finished']);
    // Freed only once every host shows MAINT: the transition came after the planner had sent it.
    for (const h of w.fleet.hosts) expect(w.fleet.slot(h, 'web', slot).admin).toBe('maint');
  });
});
