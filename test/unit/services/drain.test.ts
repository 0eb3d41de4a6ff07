// drainMember with in-memory ports: intent first, DRAIN everywhere, wait for sessions (bounded), MAINT, free, complete.
import { describe, expect, it } from 'vitest';
import type { HostBatch } from '../../../functions/lib/domain/types.js';
import { type DrainInput, drainMember } from '../../../functions/lib/services/drain.js';
import { registerMember } from '../../../functions/lib/services/register.js';
import { fakeWorld, type World } from '../../support/fakes/world.js';

const FAR = Number.MAX_SAFE_INTEGER;

async function registered(w: World, id: string, address: string, backend = 'web', owner: 'asg' | 'webhook' = 'asg') {
  const b = w.backend(backend);
  const member = w.member(id, address, backend);
  return (await registerMember({ backend: b, member, owner, until: FAR }, w.config, w.deps)).slot;
}

function drain(w: World, id: string, input: Partial<DrainInput> = {}) {
  return drainMember(
    { backend: w.backend(), memberId: id, leave: { kind: 'deregister' }, until: FAR, ...input },
    w.config,
    w.deps,
  );
}

const admins = (w: World, slot: string) => w.fleet.hosts.map((h) => w.fleet.slot(h, 'web', slot).admin);

const fenceMs = (w: World) => w.config.timeouts.planTtlMs + w.config.timeouts.clockSkewMs;

describe('drainMember', () => {
  it('drains on every host, waits out the fence, then MAINT everywhere and frees the slot', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await registered(w, 'm-1', '10.0.0.1');
    const started = w.clock.now();
    const r = await drain(w, 'm-1');
    expect(r).toMatchObject({ status: 'released', slot, completions: [] });
    expect(await w.store.get('web', slot)).toMatchObject({ state: 'free' });
    expect(await w.store.findByMember('web', 'm-1')).toBeUndefined();
    for (const h of w.fleet.hosts) expect(w.fleet.slot(h, 'web', slot).admin).toBe('maint');
    const maint = w.fleet.sent.find((b) => b.lines.includes(`set server web/${slot} state maint`));
    expect(maint?.at).toBeGreaterThanOrEqual(started + fenceMs(w));
    expect(w.fleet.lines('hap1').slice(-2)).toEqual([
      `set server web/${slot} state drain`,
      `set server web/${slot} state maint`,
    ]);
  });

  it('keeps the slot in DRAIN until its last session ended, never re-addressing it', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await registered(w, 'm-1', '10.0.0.1');
    const ends = w.clock.now() + 3_000;
    w.fleet.openSession('hap2', 'web', slot, 3_000);
    const r = await drain(w, 'm-1');
    expect(r.status).toBe('released');
    const maint = w.fleet.sent.find((b) => b.host === 'hap2' && b.lines.includes(`set server web/${slot} state maint`));
    expect(maint?.at).toBeGreaterThanOrEqual(ends);
    expect(w.fleet.violations).toEqual([]);
  });

  it('hands a drain that outlasts the invocation to reconcile: the slot stays draining with its deadline', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', drainSeconds: 60 }] });
    await w.seed();
    const slot = await registered(w, 'm-1', '10.0.0.1');
    w.fleet.openSession('hap1', 'web', slot);
    const now = w.clock.now();
    const r = await drain(w, 'm-1', { until: now + 2_000 });
    expect(r.status).toBe('draining');
    expect(await w.store.get('web', slot)).toMatchObject({
      state: 'draining',
      drainReason: 'deregister',
      drainDeadline: now + 60_000,
    });
    for (const h of w.fleet.hosts) expect(w.fleet.slot(h, 'web', slot).admin).toBe('drain');
  });

  it('frees the slot at the drain deadline even with sessions left', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', drainSeconds: 2 }] });
    await w.seed();
    const slot = await registered(w, 'm-1', '10.0.0.1');
    w.fleet.openSession('hap3', 'web', slot);
    const deadline = w.clock.now() + 2_000;
    const r = await drain(w, 'm-1');
    expect(r.status).toBe('released');
    expect(w.clock.now()).toBeGreaterThanOrEqual(deadline);
    expect(w.fleet.slot('hap3', 'web', slot)).toMatchObject({ admin: 'maint', sessions: 1 });
  });

  it('completes a terminate’s lifecycle action once, with CONTINUE, once the slot is free, and retires the member', async () => {
    const w = fakeWorld();
    await w.seed();
    await registered(w, 'i-1', '10.0.0.1');
    const ref = w.ref('i-1');
    w.lifecycle.onComplete = async () => {
      // AWS hears CONTINUE only once no host can send the instance traffic.
      expect(w.fleet.hosts.flatMap((h) => w.fleet.serving(h, 'web'))).toEqual([]);
    };
    const r = await drain(w, 'i-1', { leave: { kind: 'terminate', lifecycle: ref } });
    expect(r.status).toBe('released');
    expect(r.completions).toEqual([{ token: ref.token, completion: 'CONTINUE' }]);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
    expect(await w.store.isRetired('web', 'i-1')).toBe(true);
  });

  it('waits for the member’s last slot: the first backend’s drain leaves the completion for the second', async () => {
    const w = fakeWorld({ backends: [{ name: 'web' }, { name: 'api', autoScalingGroups: ['asg-web'] }] });
    await w.seed('web');
    await w.seed('api');
    await registered(w, 'i-1', '10.0.0.1', 'web');
    await registered(w, 'i-1', '10.0.0.1', 'api');
    const ref = w.ref('i-1');
    const leave = { kind: 'terminate', lifecycle: ref } as const;
    const first = await drain(w, 'i-1', { leave });
    expect(first.completions).toEqual([{ token: ref.token, completion: 'later' }]);
    expect(w.lifecycle.completions).toEqual([]);
    const second = await drain(w, 'i-1', { backend: w.backend('api'), leave });
    expect(second.completions).toEqual([{ token: ref.token, completion: 'CONTINUE' }]);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
  });

  /** Drains i-1 (deadline 0, a terminate) while hap1 answers the first look, READY, and then nothing at all. */
  async function drainWhileHap1Drops(w: World, slot: string, until: number) {
    const fleet = w.deps.fleet;
    const dropping = Object.assign(Object.create(fleet), {
      run: (batches: readonly HostBatch[]) => {
        // Its batch's connection dropped, the read-back with it, and every look after.
        w.fleet.setMode('hap1', 'down');
        return fleet.run(batches);
      },
    });
    const ref = w.ref('i-1');
    const started = w.clock.now();
    const r = await drainMember(
      { backend: w.backend(), memberId: 'i-1', leave: { kind: 'terminate', lifecycle: ref }, until },
      w.config,
      { ...w.deps, fleet: dropping },
    );
    expect(w.fleet.serving('hap1', 'web')).toEqual([slot]);
    return { r, ref, started };
  }

  it('holds the release while a host that showed the slot serving stops answering, and frees it once it answers', async () => {
    // hap1 may still send the instance traffic: the slot is not freed on the other two hosts' MAINT alone.
    const w = fakeWorld({ backends: [{ name: 'web', drainSeconds: 0 }] });
    await w.seed();
    const slot = await registered(w, 'i-1', '10.0.0.1');
    const lostHostMs = 3 * w.config.timeouts.commandMs;
    const { r, ref } = await drainWhileHap1Drops(w, slot, w.clock.now() + lostHostMs - 500);
    expect(r.status).toBe('draining');
    expect(admins(w, slot)).toEqual(['ready', 'maint', 'maint']);
    expect(await w.store.get('web', slot)).toMatchObject({ state: 'draining', member: 'i-1' });
    expect(w.lifecycle.completions).toEqual([]);
    // It answers again: the next look sees it serving, takes it out, and only then is the slot freed and AWS told.
    w.fleet.setMode('hap1', 'up');
    w.lifecycle.onComplete = async () => {
      expect(w.fleet.hosts.flatMap((h) => w.fleet.serving(h, 'web'))).toEqual([]);
    };
    const again = await drain(w, 'i-1', { leave: { kind: 'terminate', lifecycle: ref } });
    expect(again.status).toBe('released');
    expect(admins(w, slot)).toEqual(['maint', 'maint', 'maint']);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
  });

  it('takes a host silent for three command deadlines for gone, and frees the slot then, not at the deadline of the invocation', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', drainSeconds: 0 }] });
    await w.seed();
    const slot = await registered(w, 'i-1', '10.0.0.1');
    const lostHostMs = 3 * w.config.timeouts.commandMs;
    const { r, ref, started } = await drainWhileHap1Drops(w, slot, FAR);
    expect(r.status).toBe('released');
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
    const at = w.lifecycle.completions[0]?.at ?? 0;
    expect(at).toBeGreaterThanOrEqual(started + lostHostMs);
    expect(at).toBeLessThan(started + lostHostMs + 1_000);
  });

  it('holds the release however long a host keeps accepting connections and cutting them, looks included', async () => {
    // Alive (it accepts), serving, and taking nothing: silence is what ages a host out, not a cut connection.
    const w = fakeWorld({ backends: [{ name: 'web', drainSeconds: 0 }] });
    await w.seed();
    const slot = await registered(w, 'i-1', '10.0.0.1');
    const fleet = w.deps.fleet;
    const cut = { code: 'PROTOCOL_ERROR', message: 'hap1: peer closed the connection after 0 of 2 replies' };
    let looks = 0;
    const cutting = Object.assign(Object.create(fleet), {
      run: async (batches: readonly HostBatch[]) => [
        ...(await fleet.run(batches.filter((b) => b.host !== 'hap1'))),
        ...batches.filter((b) => b.host === 'hap1').map((b) => ({ host: b.host, ok: false, replies: [], error: cut })),
      ],
      observe: async (...args: Parameters<typeof fleet.observe>) => {
        const out = await fleet.observe(...args);
        return looks++ === 0 ? out : out.map((o) => (o.host === 'hap1' ? { host: o.host, ok: false, error: cut } : o));
      },
    });
    const lostHostMs = 3 * w.config.timeouts.commandMs;
    const until = w.clock.now() + 3 * lostHostMs;
    const ref = w.ref('i-1');
    const r = await drainMember(
      { backend: w.backend(), memberId: 'i-1', leave: { kind: 'terminate', lifecycle: ref }, until },
      w.config,
      { ...w.deps, fleet: cutting },
    );
    expect(w.clock.now()).toBeGreaterThanOrEqual(until);
    expect(r.status).toBe('draining');
    expect(w.fleet.serving('hap1', 'web')).toEqual([slot]);
    expect(w.lifecycle.completions).toEqual([]);
  });

  it('answers not-registered for a member without a slot, and tells no host anything', async () => {
    const w = fakeWorld();
    await w.seed();
    const r = await drain(w, 'm-none');
    expect(r).toEqual({ backend: 'web', member: 'm-none', status: 'not-registered', hosts: [], completions: [] });
    expect(w.fleet.sent).toEqual([]);
  });

  it('leaves a terminate’s drain to finish when the caller may not complete lifecycle actions', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await registered(w, 'i-1', '10.0.0.1');
    const ref = w.ref('i-1');
    const now = w.clock.now();
    await w.store.apply('web', { member: 'i-1' }, { kind: 'terminate', now, deadline: now + 30_000, lifecycle: ref });
    const r = await drain(w, 'i-1', { mayComplete: false });
    expect(r.status).toBe('draining');
    expect(await w.store.get('web', slot)).toMatchObject({ state: 'draining', lifecycle: ref });
    expect(w.lifecycle.completions).toEqual([]);
  });
});
