// reconcile with in-memory ports: hosts converged to the table, drains finished, handed-over launches completed,
// heartbeats (case 4), one pass bringing a restarted host back (case 5), owed completions settled, seeding, dry runs.
import { describe, expect, it } from 'vitest';
import { setAddr } from '../../../functions/lib/domain/commands.js';
import type { HostBatch, HostResult, LifecycleRef } from '../../../functions/lib/domain/types.js';
import type { ObserveOptions } from '../../../functions/lib/ports.js';
import { handleLifecycle } from '../../../functions/lib/services/lifecycle.js';
import { type ReconcileInput, reconcile } from '../../../functions/lib/services/reconcile.js';
import { fakeWorld, type World, type WorldOptions } from '../../support/fakes/world.js';

const FAR = Number.MAX_SAFE_INTEGER;
const GATED: WorldOptions = {
  backends: [{ name: 'web', check: true, healthGate: { enabled: true, timeoutSeconds: 20 } }],
};

function pass(w: World, input: Partial<ReconcileInput> = {}) {
  return reconcile({ backends: w.config.backends, until: w.clock.now() + 25_000, ...input }, w.config, w.deps);
}

/** An instance launched (CONTINUE) through the lifecycle service; its slot. */
async function launched(w: World, id: string, address: string): Promise<string> {
  w.member(id, address);
  const out = await handleLifecycle({ transition: 'launch', ref: w.ref(id), until: FAR }, w.config, w.deps);
  expect(out.completion).toBe('CONTINUE');
  return (await w.store.findByMember('web', id))?.slot ?? '';
}

/** A terminate whose invocation ended `agoMs` ago with the drain still running (intent in the table only). */
async function handedOverDrain(w: World, id: string, agoMs: number, deadlineInMs: number): Promise<LifecycleRef> {
  const ref = w.ref(id);
  const now = w.clock.now();
  await w.store.apply(
    'web',
    { member: id },
    { kind: 'terminate', now: now - agoMs, deadline: now + deadlineInMs, lifecycle: ref },
  );
  return ref;
}

const admins = (w: World, slot: string) => w.fleet.hosts.map((h) => w.fleet.slot(h, 'web', slot).admin);

describe('reconcile', () => {
  it('seeds a fresh backend from the hosts and puts every free slot in MAINT', async () => {
    const w = fakeWorld();
    const report = await pass(w);
    expect(report.seeded).toEqual([{ backend: 'web', created: ['web1', 'web2', 'web3', 'web4'] }]);
    expect(report.freeSlots).toEqual({ web: 4 });
    expect(w.fleet.sent).toEqual([]);
  });

  it('repairs a host that lost its runtime state, and reports what it fixed', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await launched(w, 'i-1', '10.0.0.1');
    w.fleet.restart('hap3');
    const report = await pass(w);
    expect(w.fleet.slot('hap3', 'web', slot)).toMatchObject({ address: '10.0.0.1', admin: 'ready' });
    const hap3 = report.hosts.find((h) => h.host === 'hap3');
    expect(hap3).toMatchObject({ ok: true, commandsSent: 2, fixed: 2 });
    expect(report.drift.filter((d) => d.host === 'hap3').map((d) => d.kind)).toEqual(['address']);
    expect(report.hosts.filter((h) => h.host !== 'hap3').map((h) => h.commandsSent)).toEqual([0, 0]);
  });

  it('case 5: one pass brings a restarted host back to serving its health-gated slot', async () => {
    const w = fakeWorld(GATED);
    await w.seed();
    const slot = await launched(w, 'i-1', '10.0.0.1');
    w.fleet.restart('hap2');
    expect(w.fleet.slot('hap2', 'web', slot).admin).toBe('maint');
    const report = await pass(w);
    expect(report.promoted).toBeGreaterThanOrEqual(1);
    expect(report.rounds).toBeGreaterThan(1);
    expect(w.fleet.slot('hap2', 'web', slot)).toMatchObject({
      address: '10.0.0.1',
      admin: 'ready',
      checkStatus: 'L7OK',
    });
    expect(w.fleet.serving('hap2', 'web')).toEqual([slot]);
  });

  it('case 5: stops waiting for a check that never passes at the gate’s timeout, leaving the slot in DRAIN', async () => {
    const w = fakeWorld(GATED);
    await w.seed();
    const slot = await launched(w, 'i-1', '10.0.0.1');
    w.fleet.restart('hap2');
    w.fleet.setHealth('10.0.0.1', 'failing');
    const started = w.clock.now();
    const report = await pass(w, { until: started + 60_000 });
    expect(w.clock.now() - started).toBeGreaterThanOrEqual(20_000);
    expect(w.clock.now() - started).toBeLessThan(25_000);
    expect(report.promoted).toBe(0);
    expect(w.fleet.slot('hap2', 'web', slot).admin).toBe('drain');
  });

  it('case 4: heartbeats the lifecycle action of a drain handed over to it, once per period', async () => {
    const w = fakeWorld({ config: { lifecycle: { heartbeatSeconds: 10 } } });
    await w.seed();
    const slot = await launched(w, 'i-1', '10.0.0.1');
    w.fleet.openSession('hap1', 'web', slot);
    const ref = await handedOverDrain(w, 'i-1', 20_000, 600_000);
    const first = await pass(w);
    expect(first.heartbeats).toBe(1);
    expect(w.lifecycle.heartbeats.map((h) => h.ref.token)).toEqual([ref.token]);
    expect((await w.store.get('web', slot))?.heartbeatAt).toBe(w.lifecycle.heartbeats[0]?.at);
    expect((await pass(w)).heartbeats).toBe(0);
    w.clock.advance(10_000);
    expect((await pass(w)).heartbeats).toBe(1);
    expect(w.lifecycle.heartbeats).toHaveLength(2);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual([]);
  });

  it('frees a handed-over drain once its sessions ended and completes its action', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await launched(w, 'i-1', '10.0.0.1');
    w.fleet.openSession('hap1', 'web', slot);
    const ref = await handedOverDrain(w, 'i-1', 5_000, 600_000);
    const during = await pass(w);
    expect(during.releases).toEqual([]);
    expect(admins(w, slot)).toEqual(['drain', 'drain', 'drain']);
    w.fleet.closeSessions('hap1', 'web', slot);
    const after = await pass(w);
    expect(after.releases).toEqual([
      { backend: 'web', slot, member: 'i-1', reason: 'drained', released: true, lifecycleCompleted: true },
    ]);
    expect(after.freeSlots).toEqual({ web: 4 });
    expect(admins(w, slot)).toEqual(['maint', 'maint', 'maint']);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
  });

  it('frees a drain at its deadline even with sessions left', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await launched(w, 'i-1', '10.0.0.1');
    w.fleet.openSession('hap1', 'web', slot);
    await handedOverDrain(w, 'i-1', 5_000, 1_000);
    w.clock.advance(1_000);
    const report = await pass(w);
    expect(report.releases).toEqual([expect.objectContaining({ reason: 'deadline', released: true })]);
    expect(await w.store.get('web', slot)).toMatchObject({ state: 'free' });
  });

  it('does not free a drain while a host it saw serving the slot stops answering later in the pass', async () => {
    // The terminate died before telling any host; the pass sees the slot READY everywhere, sends MAINT, and hap1 drops
    // that batch and every look after it. Freed on hap2 and hap3's MAINT alone, AWS would terminate an instance hap1
    // may still send requests to.
    const w = fakeWorld();
    await w.seed();
    const slot = await launched(w, 'i-1', '10.0.0.1');
    const ref = await handedOverDrain(w, 'i-1', 5_000, -1);
    const fleet = w.deps.fleet;
    const dropping = Object.assign(Object.create(fleet), {
      run: (batches: readonly HostBatch[]) => {
        w.fleet.setMode('hap1', 'down');
        return fleet.run(batches);
      },
    });
    const report = await reconcile({ backends: w.config.backends, until: w.clock.now() + 25_000 }, w.config, {
      ...w.deps,
      fleet: dropping,
    });
    expect(admins(w, slot)).toEqual(['ready', 'maint', 'maint']);
    expect(report.releases).toEqual([]);
    expect(report.failures.map((f) => f.host)).toEqual(['hap1']);
    expect(await w.store.get('web', slot)).toMatchObject({ state: 'draining', member: 'i-1' });
    expect(w.lifecycle.resultsOf(ref.token)).toEqual([]);
    // Back: the next pass sees it serving, takes it out, then frees the slot.
    w.fleet.setMode('hap1', 'up');
    expect((await pass(w)).releases).toEqual([expect.objectContaining({ slot, released: true })]);
    expect(admins(w, slot)).toEqual(['maint', 'maint', 'maint']);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
  });

  it('goes on past a lifecycle action AWS refuses to complete, reporting it, and settles the others', async () => {
    // An owed completion AWS refuses every time (the role lost autoscaling:CompleteLifecycleAction on that group) must
    // not stop the pass, nor the completions owed after it: each would wait for its hook's timeout.
    const w = fakeWorld();
    await w.seed();
    const stuck = w.ref('i-1');
    const fine = w.ref('i-2');
    await w.store.owe({ ref: stuck, result: 'CONTINUE', backend: '' });
    await w.store.owe({ ref: fine, result: 'CONTINUE', backend: '' });
    const denied = Object.assign(
      new Error(
        'User: arn:aws:sts::1:assumed-role/x is not authorized to perform: autoscaling:CompleteLifecycleAction',
      ),
      { name: 'AccessDenied' },
    );
    const lifecycle = w.deps.lifecycle;
    const refusing = Object.assign(Object.create(lifecycle), {
      complete: (ref: LifecycleRef, result: 'CONTINUE' | 'ABANDON') =>
        ref.instanceId === 'i-1' ? Promise.reject(denied) : lifecycle.complete(ref, result),
    });
    const report = await reconcile({ backends: w.config.backends, until: w.clock.now() + 25_000 }, w.config, {
      ...w.deps,
      lifecycle: refusing,
    });
    expect(report.settled).toEqual([{ token: fine.token, completion: 'CONTINUE' }]);
    expect(report.errors).toEqual([
      { what: `completion of ${stuck.instanceId} (${stuck.token})`, code: 'AccessDenied', message: denied.message },
    ]);
    expect(w.lifecycle.resultsOf(fine.token)).toEqual(['CONTINUE']);
    // Still owed, lease given back: the next pass that may complete it does.
    expect((await pass(w)).settled).toEqual([{ token: stuck.token, completion: 'CONTINUE' }]);
  });

  it('completes a handed-over launch with CONTINUE once it is served everywhere', async () => {
    const w = fakeWorld(GATED);
    await w.seed();
    w.fleet.setHealth('10.0.0.1', 'pending');
    w.member('i-1', '10.0.0.1');
    const ref = w.ref('i-1');
    const input = { transition: 'launch', ref, until: w.clock.now() + 2_000 } as const;
    expect((await handleLifecycle(input, w.config, w.deps)).completion).toBe('pending');
    w.fleet.setHealth('10.0.0.1', 'passing');
    const report = await pass(w);
    expect(report.launches).toEqual([expect.objectContaining({ member: 'i-1', result: 'CONTINUE' })]);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
    expect(await w.store.findByMember('web', 'i-1')).not.toHaveProperty('launch');
  });

  it('abandons a handed-over launch past its deadline once the instance has drained out for good', async () => {
    const w = fakeWorld({ ...GATED, config: { lifecycle: { launchTimeoutSeconds: 30 } } });
    await w.seed();
    w.fleet.setHealth('10.0.0.1', 'failing');
    w.member('i-1', '10.0.0.1');
    const ref = w.ref('i-1');
    const input = { transition: 'launch', ref, until: w.clock.now() + 2_000 } as const;
    expect((await handleLifecycle(input, w.config, w.deps)).completion).toBe('pending');
    w.clock.advance(30_000);
    const timedOut = await pass(w);
    expect(timedOut.launches).toEqual([expect.objectContaining({ member: 'i-1', result: 'none' })]);
    // Draining first, retired at once: the action is completed when the drain ends (after the fence), on a later pass.
    expect(await w.store.findByMember('web', 'i-1')).toMatchObject({ state: 'draining', drainReason: 'abandon' });
    expect(await w.store.isRetired('web', 'i-1')).toBe(true);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual([]);
    w.clock.advance(w.config.timeouts.planTtlMs + w.config.timeouts.clockSkewMs);
    await pass(w);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['ABANDON']);
    expect(await w.store.findByMember('web', 'i-1')).toBeUndefined();
    expect(await w.store.isRetired('web', 'i-1')).toBe(true);
    for (const h of w.fleet.hosts) expect(w.fleet.serving(h, 'web')).toEqual([]);
  });

  it('settles a completion an invocation owed and died before sending', async () => {
    const w = fakeWorld();
    await w.seed();
    const ref = w.ref('i-9');
    await w.store.owe({ ref, result: 'CONTINUE', backend: 'web' });
    const report = await pass(w);
    expect(report.settled).toEqual([{ token: ref.token, completion: 'CONTINUE' }]);
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
    expect((await pass(w)).settled).toEqual([]);
  });

  /** The slot on `host` pointed at 10.0.0.9 behind the table's back, serving a session that lasts `sessionMs`. */
  async function misaddressed(w: World, host: string, slot: string, sessionMs: number): Promise<void> {
    const port = w.fleet.slot(host, 'web', slot).port as number;
    await w.fleet.run([{ host, commands: [setAddr('web', slot, '10.0.0.9', port)] }]);
    w.fleet.openSession(host, 'web', slot, sessionMs);
  }

  it('moves a slot a host serves at another address in the same pass, once its sessions have ended', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await launched(w, 'i-1', '10.0.0.1');
    await misaddressed(w, 'hap2', slot, 400);
    const report = await pass(w);
    expect(report.drift.filter((d) => d.host === 'hap2').map((d) => d.kind)).toEqual(['blocked-by-sessions']);
    expect(report.rounds).toBeGreaterThan(1);
    expect(w.fleet.slot('hap2', 'web', slot)).toMatchObject({ address: '10.0.0.1', admin: 'ready' });
    // MAINT first, the address only once the session had ended: never a slot re-addressed with sessions.
    expect(w.fleet.violations).toEqual([]);
    const hap2 = w.fleet.sent.filter((b) => b.host === 'hap2').map((b) => b.lines);
    expect(hap2.slice(-2)).toEqual([
      [`set server web/${slot} state maint`],
      expect.arrayContaining([expect.stringMatching(/^set server web\/\S+ addr 10\.0\.0\.1 /)]),
    ]);
  });

  it('looks again, for a move, only at the host that has it', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await launched(w, 'i-1', '10.0.0.1');
    await misaddressed(w, 'hap2', slot, 400);
    const { deps, looks } = recordingLooks(w);
    await reconcile({ backends: w.config.backends, until: w.clock.now() + 25_000 }, w.config, deps);
    expect(looks[0]).toBeUndefined();
    expect(looks.slice(1).length).toBeGreaterThan(0);
    expect(looks.slice(1).every((hosts) => hosts?.join() === 'hap2')).toBe(true);
    expect(w.fleet.slot('hap2', 'web', slot)).toMatchObject({ address: '10.0.0.1', admin: 'ready' });
  });

  it('completes no handed-over launch from a look at the hosts with moves alone', async () => {
    // 6 hosts, 3 of them down: no launch can meet the majority (4) until they are seen.
    const w = fakeWorld({ hosts: ['hap1', 'hap2', 'hap3', 'hap4', 'hap5', 'hap6'], config: { quorum: 'majority' } });
    await w.seed();
    for (const h of ['hap1', 'hap5', 'hap6']) w.fleet.setMode(h, 'down');
    const launches = [];
    for (const [id, host] of [
      ['i-1', 'hap2'],
      ['i-2', 'hap3'],
      ['i-3', 'hap4'],
    ] as const) {
      w.member(id, `10.0.0.${id.slice(2)}`);
      const ref = w.ref(id);
      const input = { transition: 'launch', ref, until: w.clock.now() + 2_000 } as const;
      expect((await handleLifecycle(input, w.config, w.deps)).completion).toBe('pending');
      const slot = (await w.store.findByMember('web', id))?.slot ?? '';
      launches.push({ ref, slot, host });
    }
    // Each launch's slot moves on one host: the pass looks at hap2, hap3 and hap4 alone, where each slot is served on
    // 2 of the 3 (a majority of what it looked at) but only 2 of the 6 hosts.
    for (const l of launches) await misaddressed(w, l.host, l.slot, 400);
    const report = await pass(w);
    for (const l of launches) expect(w.fleet.slot(l.host, 'web', l.slot)).toMatchObject({ admin: 'ready' });
    expect(report.launches).toEqual([]);
    for (const l of launches) expect(w.lifecycle.resultsOf(l.ref.token)).toEqual([]);
  });

  /** A fleet observe that records which hosts each look asked (undefined: every host). */
  function recordingLooks(w: World): { deps: World['deps']; looks: (string[] | undefined)[] } {
    const looks: (string[] | undefined)[] = [];
    const fleet = w.deps.fleet;
    const observing = Object.assign(Object.create(fleet), {
      observe: (backends: readonly string[], options?: ObserveOptions) => {
        looks.push(options?.hosts && [...options.hosts]);
        return fleet.observe(backends, options);
      },
    });
    return { deps: { ...w.deps, fleet: observing }, looks };
  }

  it.each([
    ['2.6.12', 'the address and the state in one batch'],
    ['3.0.11', 'the state once a read-back shows the address'],
  ])('moves a slot on more than 4 hosts in the same pass, 4 hosts a look (%s: %s)', async (version) => {
    const hosts = ['hap1', 'hap2', 'hap3', 'hap4', 'hap5', 'hap6', 'hap7'];
    const w = fakeWorld({ hosts, version });
    await w.seed();
    const slot = await launched(w, 'i-1', '10.0.0.1');
    const moving = hosts.slice(1);
    for (const h of moving) await misaddressed(w, h, slot, 400);
    const { deps, looks } = recordingLooks(w);
    await reconcile({ backends: w.config.backends, until: w.clock.now() + 25_000 }, w.config, deps);
    for (const h of hosts) expect(w.fleet.slot(h, 'web', slot)).toMatchObject({ address: '10.0.0.1', admin: 'ready' });
    expect(w.fleet.violations).toEqual([]);
    // The first look is fleet-wide; every later one asks at most 4 hosts, and every moving host is asked.
    expect(looks[0]).toBeUndefined();
    const later = looks.slice(1);
    expect(later.every((h) => h !== undefined && h.length >= 1 && h.length <= 4)).toBe(true);
    expect(new Set(later.flat())).toEqual(new Set(moving));
  });

  it('gives every host with moves its turn while sessions hold 4 others', async () => {
    const hosts = ['hap1', 'hap2', 'hap3', 'hap4', 'hap5', 'hap6'];
    const w = fakeWorld({ hosts });
    await w.seed();
    const slot = await launched(w, 'i-1', '10.0.0.1');
    const held = ['hap2', 'hap3', 'hap4', 'hap5'];
    for (const h of held) await misaddressed(w, h, slot, Number.POSITIVE_INFINITY);
    await misaddressed(w, 'hap6', slot, 400);
    await pass(w);
    // hap6 comes after the four held hosts: always looking at the first four, it would wait for the next pass.
    expect(w.fleet.slot('hap6', 'web', slot)).toMatchObject({ address: '10.0.0.1', admin: 'ready' });
    for (const h of held) expect(w.fleet.slot(h, 'web', slot)).toMatchObject({ address: '10.0.0.9', admin: 'maint' });
    expect(w.fleet.violations).toEqual([]);
  });

  it('leaves a slot whose session outlives the pass in MAINT, and moves it on the pass after the session ends', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await launched(w, 'i-1', '10.0.0.1');
    await misaddressed(w, 'hap2', slot, Number.POSITIVE_INFINITY);
    const start = w.clock.now();
    await pass(w);
    // Waited no longer than a command deadline for the session, then left the slot out of rotation, still unmoved.
    expect(w.clock.now() - start).toBeLessThanOrEqual(w.config.timeouts.commandMs + w.config.timeouts.pollMs);
    expect(w.fleet.slot('hap2', 'web', slot)).toMatchObject({ address: '10.0.0.9', admin: 'maint' });
    w.fleet.closeSessions('hap2', 'web', slot);
    await pass(w);
    expect(w.fleet.slot('hap2', 'web', slot)).toMatchObject({ address: '10.0.0.1', admin: 'ready' });
    expect(w.fleet.violations).toEqual([]);
  });

  it('reports a host that is down and converges the others', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await launched(w, 'i-1', '10.0.0.1');
    w.fleet.restart('hap1');
    w.fleet.setMode('hap3', 'down');
    const report = await pass(w);
    expect(report.failures).toEqual([{ host: 'hap3', reason: 'hap3: connect ECONNREFUSED' }]);
    expect(w.fleet.slot('hap1', 'web', slot)).toMatchObject({ admin: 'ready', address: '10.0.0.1' });
  });

  it("names a host's real failure in its report even when a stale round (never written) came first", async () => {
    // 3.x behind the gate: the address round, then the drain; the drain's plan expires unsent on every host, the next
    // round is refused by hap2 alone, and later rounds go through.
    const w = fakeWorld({ version: '3.0.11', ...GATED });
    await w.seed();
    const member = w.member('m-1', '10.0.0.1');
    w.fleet.setHealth('10.0.0.1', 'passing');
    const claimed = await w.store.claim('web', member, { weight: 1, owner: 'webhook' });
    let runs = 0;
    const fleet = w.deps.fleet;
    const stale = { code: 'STALE_PLAN', message: 'plan expired before it could be written; not sent' };
    const refused = { code: 'COMMAND_FAILED', message: 'hap2 refused the batch' };
    const deps = {
      ...w.deps,
      fleet: Object.assign(Object.create(fleet), {
        run: async (batches: readonly HostBatch[]): Promise<readonly HostResult[]> => {
          runs++;
          if (runs === 2) return batches.map((b) => ({ host: b.host, ok: false, replies: [], error: stale }));
          if (runs !== 3) return fleet.run(batches);
          const others = await fleet.run(batches.filter((b) => b.host !== 'hap2'));
          return batches.map(
            (b) => others.find((r) => r.host === b.host) ?? { host: b.host, ok: false, replies: [], error: refused },
          );
        },
      }),
    };
    const report = await reconcile({ backends: w.config.backends, until: w.clock.now() + 25_000 }, w.config, deps);
    expect(runs).toBeGreaterThan(3);
    const codes = Object.fromEntries(report.hosts.map((h) => [h.host, h.error?.code]));
    // hap1 and hap3 lost nothing: a later round planned the slot afresh and wrote it. hap2 refused a batch.
    expect(codes).toEqual({ hap1: undefined, hap2: 'COMMAND_FAILED', hap3: undefined });
    expect(report.failures.map((f) => f.host)).toEqual(['hap2']);
    expect(admins(w, claimed.record.slot)).toEqual(['ready', 'ready', 'ready']);
  });

  it('reports stale rounds as failures when every later round on those hosts went stale too', async () => {
    // 3.x behind the gate: the address round is written, then every plan expires unsent until the pass gives up.
    const w = fakeWorld({ version: '3.0.11', ...GATED });
    await w.seed();
    w.fleet.setHealth('10.0.0.1', 'passing');
    const claimed = await w.store.claim('web', w.member('m-1', '10.0.0.1'), { weight: 1, owner: 'webhook' });
    let runs = 0;
    const fleet = w.deps.fleet;
    const stale = { code: 'STALE_PLAN', message: 'plan expired before it could be written; not sent' };
    const deps = {
      ...w.deps,
      fleet: Object.assign(Object.create(fleet), {
        run: async (batches: readonly HostBatch[]): Promise<readonly HostResult[]> =>
          ++runs === 1
            ? fleet.run(batches)
            : batches.map((b) => ({ host: b.host, ok: false, replies: [], error: stale })),
      }),
    };
    const report = await reconcile({ backends: w.config.backends, until: w.clock.now() + 25_000 }, w.config, deps);
    expect(runs).toBeGreaterThan(2);
    expect(report.failures.map((f) => [f.host, f.reason])).toEqual(
      ['hap1', 'hap2', 'hap3'].map((h) => [h, stale.message]),
    );
    expect(admins(w, claimed.record.slot)).not.toContain('ready');
  });

  it('reports a stale first round as a failure of its host when no later round looked at what it left', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await launched(w, 'i-1', '10.0.0.1');
    w.fleet.restart('hap1');
    const stale = { code: 'STALE_PLAN', message: 'plan expired before it could be written; not sent' };
    const fleet = w.deps.fleet;
    const deps = {
      ...w.deps,
      fleet: Object.assign(Object.create(fleet), {
        run: async (batches: readonly HostBatch[]) =>
          batches.map((b) => ({ host: b.host, ok: false, replies: [], error: stale })),
      }),
    };
    const report = await reconcile({ backends: w.config.backends, until: w.clock.now() + 25_000 }, w.config, deps);
    // Nothing waits behind a gate: the pass has one round, so hap1's repair is left to the next pass, and the alarm
    // counts it.
    expect(report.rounds).toBe(1);
    expect(report.failures).toEqual([{ host: 'hap1', reason: stale.message }]);
    expect(w.fleet.slot('hap1', 'web', slot)?.admin).not.toBe('ready');
  });

  it('with dryRun plans the commands but sends and writes nothing', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await launched(w, 'i-1', '10.0.0.1');
    w.fleet.restart('hap2');
    const sent = w.fleet.sent.length;
    const before = await w.store.list('web');
    const report = await pass(w, { dryRun: true });
    expect(report.dryRun).toBe(true);
    expect(report.plan.batches.map((b) => b.host)).toEqual(['hap2']);
    expect(w.fleet.sent).toHaveLength(sent);
    expect(await w.store.list('web')).toEqual(before);
    expect(w.fleet.slot('hap2', 'web', slot).admin).toBe('maint');
  });
});
