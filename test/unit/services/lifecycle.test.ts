// handleLifecycle with in-memory ports: launches complete only once served (cases 9, 10), terminates drain and complete
// once, the warm-pool rules, and the races between a launch and its terminate.
import { describe, expect, it } from 'vitest';
import type { LifecycleRef } from '../../../functions/lib/domain/types.js';
import { NotFoundError } from '../../../functions/lib/errors.js';
import { handleLifecycle, type LifecycleInput } from '../../../functions/lib/services/lifecycle.js';
import { reconcile } from '../../../functions/lib/services/reconcile.js';
import { fakeWorld, type World } from '../../support/fakes/world.js';

const FAR = Number.MAX_SAFE_INTEGER;

function run(w: World, transition: 'launch' | 'terminate', ref: LifecycleRef, extra: Partial<LifecycleInput> = {}) {
  return handleLifecycle({ transition, ref, until: FAR, ...extra }, w.config, w.deps);
}

function launchOf(w: World, id: string, address: string, backend?: string) {
  w.member(id, address, backend);
  return w.ref(id, backend);
}

/** A gated backend whose instance's checks are `health`: its launch, given `ms` of invocation, is handed over. */
async function handedOver(health: 'pending' | 'failing', ms: number) {
  const gate = { enabled: true, timeoutSeconds: 60 };
  const w = fakeWorld({ backends: [{ name: 'web', check: true, healthGate: gate }] });
  await w.seed();
  const ref = launchOf(w, 'i-1', '10.0.0.1');
  w.fleet.setHealth('10.0.0.1', health);
  return { w, ref, out: await run(w, 'launch', ref, { until: w.clock.now() + ms }) };
}

/** Whether every host sends new requests to the member's slot right now (READY, at its address, check passing). */
async function servedEverywhere(w: World, backend: string, id: string): Promise<boolean> {
  const r = await w.store.findByMember(backend, id);
  if (!r) return false;
  return w.fleet.hosts.every(
    (h) => w.fleet.serving(h, backend).includes(r.slot) && w.fleet.slot(h, backend, r.slot).address === r.address,
  );
}

describe('handleLifecycle: launch', () => {
  it('registers the instance on every host and completes CONTINUE once it is served everywhere', async () => {
    const w = fakeWorld();
    await w.seed();
    const ref = launchOf(w, 'i-1', '10.0.0.1');
    const seen: boolean[] = [];
    w.lifecycle.onComplete = async () => {
      seen.push(await servedEverywhere(w, 'web', 'i-1'));
    };
    const out = await run(w, 'launch', ref);
    expect(out).toMatchObject({ action: 'register', completion: 'CONTINUE', backends: ['web'] });
    expect(seen).toEqual([true]);
    expect(await w.store.findByMember('web', 'i-1')).toMatchObject({ state: 'active', owner: 'asg' });
  });

  it('case 9: two concurrent launches into a fresh, unseeded backend of 8 slots both get a slot and CONTINUE', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', slots: 8 }] });
    const refs = [launchOf(w, 'i-1', '10.0.0.1'), launchOf(w, 'i-2', '10.0.0.2')];
    const out = await Promise.all(refs.map((r) => run(w, 'launch', r)));
    expect(out.map((o) => o.completion)).toEqual(['CONTINUE', 'CONTINUE']);
    expect(w.lifecycle.completions.map((c) => c.result)).toEqual(['CONTINUE', 'CONTINUE']);
    const slots = await Promise.all(['i-1', 'i-2'].map(async (id) => (await w.store.findByMember('web', id))?.slot));
    expect(new Set(slots).size).toBe(2);
    expect(await w.store.list('web')).toHaveLength(8);
  });

  it('case 10: under 20 concurrent launches every CONTINUE comes only once the slot is READY everywhere', async () => {
    const gate = { enabled: true, timeoutSeconds: 20 };
    const w = fakeWorld({ backends: [{ name: 'web', slots: 24, check: true, healthGate: gate }] });
    await w.seed();
    const start = w.clock.now();
    const ids = Array.from({ length: 20 }, (_, i) => `i-${i + 1}`);
    const refs = ids.map((id, i) => launchOf(w, id, `10.0.1.${i + 1}`));
    // Each instance's first check passes at its own time, up to 4 s after the launches begin: the invocations (2 s)
    // see some of them pass and hand the others over to reconcile.
    const passesAt = new Map(ids.map((_, i) => [`10.0.1.${i + 1}`, start + ((i * 397) % 4_000)]));
    for (const address of passesAt.keys()) w.fleet.setHealth(address, 'pending');
    w.fleet.onObserve = () => {
      for (const [address, at] of passesAt) if (w.clock.now() >= at) w.fleet.setHealth(address, 'passing');
    };
    const atCompletion: { id: string; served: boolean }[] = [];
    w.lifecycle.onComplete = async (ref) => {
      atCompletion.push({ id: ref.instanceId, served: await servedEverywhere(w, 'web', ref.instanceId) });
    };
    const out = await Promise.all(refs.map((r) => run(w, 'launch', r, { until: start + 2_000 })));
    const completions = out.map((o) => o.completion);
    expect(completions.filter((c) => c === 'CONTINUE').length).toBeGreaterThan(0);
    expect(completions.filter((c) => c === 'pending').length).toBeGreaterThan(0);
    expect(completions.filter((c) => c !== 'CONTINUE' && c !== 'pending')).toEqual([]);
    // Reconcile completes the handed-over ones once their checks have passed.
    w.clock.advance(4_000);
    await reconcile({ backends: w.config.backends, until: w.clock.now() + 10_000 }, w.config, w.deps);
    expect(w.lifecycle.completions.map((c) => c.result)).toEqual(Array(20).fill('CONTINUE'));
    expect(atCompletion).toHaveLength(20);
    expect(atCompletion.filter((c) => !c.served)).toEqual([]);
  });

  it('case 10: a launch not READY within its invocation is handed to reconcile, never completed CONTINUE', async () => {
    const { w, ref, out } = await handedOver('pending', 3_000);
    expect(out.completion).toBe('pending');
    expect(w.lifecycle.completions).toEqual([]);
    expect(await w.store.findByMember('web', 'i-1')).toMatchObject({
      state: 'active',
      launch: ref,
      launchDeadline: expect.any(Number),
    });
    for (const h of w.fleet.hosts) expect(w.fleet.serving(h, 'web')).toEqual([]);
  });

  it('abandons a launch that finds no free slot (onNoSlot ABANDON), and continues it with onNoSlot CONTINUE', async () => {
    for (const onNoSlot of ['ABANDON', 'CONTINUE'] as const) {
      const w = fakeWorld({ backends: [{ name: 'web', slots: 1 }], config: { lifecycle: { onNoSlot } } });
      await w.seed();
      await run(w, 'launch', launchOf(w, 'i-1', '10.0.0.1'));
      const ref = launchOf(w, 'i-2', '10.0.0.2');
      const out = await run(w, 'launch', ref);
      expect(out, onNoSlot).toMatchObject({ noSlot: ['web'], completion: onNoSlot });
      expect(w.lifecycle.resultsOf(ref.token)).toEqual([onNoSlot]);
      expect(w.log.messages('error')).toEqual([expect.stringContaining('no free slot in web for i-2')]);
    }
  });

  it('puts nothing in service for a launch into the warm pool, and completes it at once', async () => {
    const w = fakeWorld();
    await w.seed();
    const ref = launchOf(w, 'i-1', '10.0.0.1');
    const out = await run(w, 'launch', ref, { origin: 'EC2', destination: 'WarmPool' });
    expect(out).toMatchObject({ action: 'skip', completion: 'CONTINUE', registered: [] });
    expect(await w.store.findByMember('web', 'i-1')).toBeUndefined();
    expect(w.fleet.sent).toEqual([]);
  });

  it('abandons a launch delivered after its terminate, and claims nothing for it', async () => {
    const w = fakeWorld();
    await w.seed();
    const launch = launchOf(w, 'i-1', '10.0.0.1');
    const terminate = w.ref('i-1');
    expect((await run(w, 'terminate', terminate)).completion).toBe('CONTINUE');
    const late = await run(w, 'launch', launch);
    expect(late.completion).toBe('ABANDON');
    expect(await w.store.findByMember('web', 'i-1')).toBeUndefined();
    expect(w.lifecycle.resultsOf(launch.token)).toEqual(['ABANDON']);
  });

  it("holds a retired member's ABANDON until the slot its terminate still drains is free", async () => {
    // Found by the simulation (seed 20261212): a terminate retired i-1 and recorded its drain, then its invocation died
    // before telling the hosts. A launch of i-1 delivered now is refused; abandoning it at once would let the ASG
    // terminate an instance that every host still sends new requests to.
    const w = fakeWorld({ config: { allowLoopback: true } });
    await w.seed();
    await run(w, 'launch', launchOf(w, 'i-1', '127.0.0.11'));
    const slot = (await w.store.findByMember('web', 'i-1'))?.slot ?? '';
    const now = w.clock.now();
    const terminate = w.ref('i-1');
    await w.store.retire('web', 'i-1', now + 3_600_000);
    await w.store.apply(
      'web',
      { member: 'i-1' },
      { kind: 'terminate', now, deadline: now + 1_000, lifecycle: terminate, reason: 'terminate' },
    );
    const heldAtAbandon: unknown[] = [];
    w.lifecycle.onComplete = async (ref, result) => {
      if (result === 'ABANDON') heldAtAbandon.push(await w.store.findByMember('web', ref.instanceId));
    };
    const late = w.ref('i-1');
    const out = await run(w, 'launch', late);
    expect(out).toMatchObject({ completion: 'pending', abandoned: expect.stringContaining('retired') });
    expect(w.lifecycle.resultsOf(late.token)).toEqual([]);
    expect(await servedEverywhere(w, 'web', 'i-1')).toBe(true);

    // Reconcile drains the slot, frees it at the deadline, completes the terminate and then the owed ABANDON.
    await reconcile({ backends: w.config.backends, until: w.clock.now() + 10_000 }, w.config, w.deps);
    w.clock.advance(2_000);
    await reconcile({ backends: w.config.backends, until: w.clock.now() + 10_000 }, w.config, w.deps);
    expect(await w.store.get('web', slot)).toMatchObject({ state: 'free' });
    expect(w.lifecycle.resultsOf(terminate.token)).toEqual(['CONTINUE']);
    expect(w.lifecycle.resultsOf(late.token)).toEqual(['ABANDON']);
    expect(heldAtAbandon).toEqual([undefined]);
  });

  it('abandons a late launch EC2 has forgotten when it was terminated, and retries one it never knew', async () => {
    const w = fakeWorld();
    await w.seed();
    const ref = w.ref('i-unknown');
    await expect(run(w, 'launch', ref)).rejects.toBeInstanceOf(NotFoundError);
    expect(w.lifecycle.completions).toEqual([]);
    await run(w, 'terminate', w.ref('i-unknown'));
    expect((await run(w, 'launch', ref)).completion).toBe('ABANDON');
  });
});

describe('handleLifecycle: a launch delivered again (no idempotency record: the claim checks its token)', () => {
  /** What a redelivery must leave as it found: the table, the completions, and every line sent to the hosts. */
  async function unchanged(w: World, backend = 'web') {
    return {
      slots: await w.store.list(backend),
      completions: w.lifecycle.completions.length,
      sent: w.fleet.sent.length,
    };
  }

  it('answers `duplicate` once CONTINUE is done, and sends no command', async () => {
    const w = fakeWorld();
    await w.seed();
    const ref = launchOf(w, 'i-1', '10.0.0.1');
    expect((await run(w, 'launch', ref)).completion).toBe('CONTINUE');
    const before = await unchanged(w);
    const lines = w.fleet.lines().length;
    const again = await run(w, 'launch', ref);
    expect(again).toMatchObject({ action: 'register', completion: 'duplicate' });
    const after = await unchanged(w);
    expect(after.slots).toEqual(before.slots);
    expect(after.completions).toBe(before.completions);
    // It may look at the hosts (the member's own slot, found), but changes nothing on them.
    expect(
      w.fleet
        .lines()
        .slice(lines)
        .filter((l) => !l.startsWith('show ')),
    ).toEqual([]);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
  });

  it('claims nothing after an ABANDON for want of a slot, even once a slot is free, nor once EC2 forgot it', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', slots: 1 }], config: { lifecycle: { onNoSlot: 'ABANDON' } } });
    await w.seed();
    const first = launchOf(w, 'i-1', '10.0.0.1');
    await run(w, 'launch', first);
    const ref = launchOf(w, 'i-2', '10.0.0.2');
    expect((await run(w, 'launch', ref)).completion).toBe('ABANDON');
    expect((await run(w, 'terminate', w.ref('i-1'))).completion).toBe('CONTINUE');
    expect((await w.store.list('web')).map((s) => s.state)).toEqual(['free']);
    const before = await unchanged(w);
    expect(await run(w, 'launch', ref)).toMatchObject({ completion: 'duplicate', registered: [] });
    expect(await unchanged(w)).toEqual(before);
    // The ASG terminated the abandoned instance: EC2 no longer knows its address. Still a duplicate, not a retry.
    w.instances.forget('i-2');
    expect(await run(w, 'launch', ref)).toMatchObject({ completion: 'duplicate', registered: [] });
    expect(await unchanged(w)).toEqual(before);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['ABANDON']);
  });

  it('claims nothing for an instance back in the warm pool, which holds no slot and is not retired', async () => {
    const w = fakeWorld();
    await w.seed();
    const ref = launchOf(w, 'i-1', '10.0.0.1');
    await run(w, 'launch', ref, { origin: 'WarmPool', destination: 'AutoScalingGroup' });
    const toPool = w.ref('i-1');
    expect(
      (await run(w, 'terminate', toPool, { origin: 'AutoScalingGroup', destination: 'WarmPool' })).completion,
    ).toBe('CONTINUE');
    expect(await w.store.isRetired('web', 'i-1')).toBe(false);
    const before = await unchanged(w);
    expect(await run(w, 'launch', ref, { origin: 'WarmPool', destination: 'AutoScalingGroup' })).toMatchObject({
      completion: 'duplicate',
      registered: [],
    });
    expect(await unchanged(w)).toEqual(before);
    expect(await w.store.findByMember('web', 'i-1')).toBeUndefined();
  });

  it('takes out again a slot it claimed in one backend while the first delivery decided the launch', async () => {
    // Two deliveries of one launch at once: the first decides (ABANDON owed) between this one's two claims, so its
    // claim in `web` lands and its claim in `api` is refused. The `web` slot is not the decision's: it is freed.
    const w = fakeWorld({ backends: [{ name: 'web' }, { name: 'api' }] });
    await w.seed('web');
    await w.seed('api');
    const ref = launchOf(w, 'i-1', '10.0.0.1');
    let decided = false;
    w.store.beforeWrite = async (at) => {
      if (at.op !== 'claim' || at.backend !== 'api' || decided) return;
      // Once the claim in `web` has landed (a few turns of the event loop at most).
      for (let i = 0; i < 20 && !(await w.store.findByMember('web', 'i-1')); i++) await Promise.resolve();
      decided = (await w.store.findByMember('web', 'i-1')) !== undefined;
      await w.store.owe({ ref, result: 'ABANDON', backend: '', after: 'last-slot' });
    };
    const out = await run(w, 'launch', ref, { backends: ['web', 'api'] });
    expect(decided).toBe(true);
    expect(out).toMatchObject({ completion: 'duplicate', registered: [{ backend: 'web', answer: 'claimed' }] });
    expect(out.deregistered).toMatchObject([{ backend: 'web', status: 'released' }]);
    expect(await w.store.findByMember('web', 'i-1')).toBeUndefined();
    expect(await w.store.findByMember('api', 'i-1')).toBeUndefined();
    expect(await w.store.isRetired('web', 'i-1')).toBe(false);
    for (const h of w.fleet.hosts) expect(w.fleet.serving(h, 'web')).toEqual([]);
    // The owed ABANDON is the first delivery's; with no slot left, reconcile's pass completes it.
    await reconcile({ backends: w.config.backends, until: w.clock.now() + 10_000 }, w.config, w.deps);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['ABANDON']);
  });

  it('answers `duplicate` for a launch whose completion is owed, when its member’s slot is found without a claim', async () => {
    // A full backend: the claim finds the member's own slot by a read, not by its transaction. Before the fix the
    // redelivery took that slot and handed the launch over to reconcile again (launch-pending written back).
    const gate = { enabled: true, timeoutSeconds: 60 };
    const w = fakeWorld({ backends: [{ name: 'web', slots: 1, check: true, healthGate: gate }] });
    await w.seed();
    const ref = launchOf(w, 'i-1', '10.0.0.1');
    w.fleet.setHealth('10.0.0.1', 'pending');
    expect((await run(w, 'launch', ref, { until: w.clock.now() + 3_000 })).completion).toBe('pending');
    // Decided meanwhile (reconcile owed the CONTINUE; AWS has not heard it yet).
    await w.store.apply('web', { member: 'i-1' }, { kind: 'launch-ready' });
    const before = await unchanged(w);
    const lines = w.fleet.lines().length;
    expect(await run(w, 'launch', ref, { until: w.clock.now() + 3_000 })).toMatchObject({ completion: 'duplicate' });
    expect(await unchanged(w)).toEqual(before);
    expect((await w.store.findByMember('web', 'i-1'))?.launch).toBeUndefined();
    expect(w.fleet.lines().slice(lines)).toEqual([]);
  });

  it('goes on with a launch handed over to reconcile (nothing owed yet), and completes it once', async () => {
    const { w, ref, out } = await handedOver('pending', 3_000);
    expect(out.completion).toBe('pending');
    const slot = (await w.store.findByMember('web', 'i-1'))?.slot;
    w.fleet.setHealth('10.0.0.1', 'passing');
    expect(await run(w, 'launch', ref)).toMatchObject({ completion: 'CONTINUE', registered: [{ slot }] });
    expect(await run(w, 'launch', ref)).toMatchObject({ completion: 'duplicate' });
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
    expect(await servedEverywhere(w, 'web', 'i-1')).toBe(true);
  });
});

describe('handleLifecycle: terminate', () => {
  it('drains the slot everywhere, frees it and completes CONTINUE once; a duplicate delivery sends nothing more', async () => {
    const w = fakeWorld();
    await w.seed();
    await run(w, 'launch', launchOf(w, 'i-1', '10.0.0.1'));
    const slot = (await w.store.findByMember('web', 'i-1'))?.slot ?? '';
    w.fleet.openSession('hap2', 'web', slot, 1_500);
    const ref = w.ref('i-1');
    const out = await run(w, 'terminate', ref);
    expect(out).toMatchObject({ action: 'deregister', completion: 'CONTINUE' });
    expect(await w.store.get('web', slot)).toMatchObject({ state: 'free' });
    expect(await w.store.isRetired('web', 'i-1')).toBe(true);
    const again = await run(w, 'terminate', ref);
    expect(again.completion).toBe('duplicate');
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
  });

  it('answers the CONTINUE its last backend made, and makes no further completion attempt', async () => {
    // Two backends drain side by side: the first to free its slot answers `later`, the other completes the action.
    const w = fakeWorld({ backends: [{ name: 'web' }, { name: 'api', autoScalingGroups: ['asg-web'] }] });
    await w.seed('web');
    await w.seed('api');
    await run(w, 'launch', launchOf(w, 'i-1', '10.0.0.1'));
    const ref = w.ref('i-1');
    let attempts = 0;
    const store = Object.assign(Object.create(w.store), {
      oweAndLease: (...args: Parameters<World['store']['oweAndLease']>) => {
        attempts++;
        return w.store.oweAndLease(...args);
      },
    });
    const out = await handleLifecycle({ transition: 'terminate', ref, until: FAR }, w.config, { ...w.deps, store });
    expect(out.deregistered?.flatMap((d) => d.completions.map((c) => c.completion)).sort()).toEqual([
      'CONTINUE',
      'later',
    ]);
    expect(out.completion).toBe('CONTINUE');
    expect(attempts).toBe(0);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
  });

  it('leaves the completion pending when the drain outlasts the invocation', async () => {
    const w = fakeWorld();
    await w.seed();
    await run(w, 'launch', launchOf(w, 'i-1', '10.0.0.1'));
    const slot = (await w.store.findByMember('web', 'i-1'))?.slot ?? '';
    w.fleet.openSession('hap1', 'web', slot);
    const ref = w.ref('i-1');
    const out = await run(w, 'terminate', ref, { until: w.clock.now() + 2_000 });
    expect(out.completion).toBe('pending');
    expect(w.lifecycle.completions.filter((c) => c.ref.token === ref.token)).toEqual([]);
    expect(await w.store.get('web', slot)).toMatchObject({ state: 'draining', lifecycle: ref });
  });

  it('does not retire an instance that goes back to the warm pool', async () => {
    const w = fakeWorld();
    await w.seed();
    await run(w, 'launch', launchOf(w, 'i-1', '10.0.0.1'));
    const out = await run(w, 'terminate', w.ref('i-1'), { origin: 'AutoScalingGroup', destination: 'WarmPool' });
    expect(out.completion).toBe('CONTINUE');
    expect(await w.store.isRetired('web', 'i-1')).toBe(false);
    expect(await w.store.findByMember('web', 'i-1')).toBeUndefined();
  });

  it('abandons a launch still pending when its terminate arrives, and completes the terminate', async () => {
    const { w, ref: launch, out } = await handedOver('failing', 2_000);
    expect(out.completion).toBe('pending');
    const terminate = w.ref('i-1');
    expect((await run(w, 'terminate', terminate)).completion).toBe('CONTINUE');
    expect(w.lifecycle.resultsOf(launch.token)).toEqual(['ABANDON']);
    expect(w.lifecycle.resultsOf(terminate.token)).toEqual(['CONTINUE']);
  });
});
