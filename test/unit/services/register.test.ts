// registerMember with in-memory ports: claims, re-registrations (case 1), seeding races (case 9), rollbacks, refusals.
import { describe, expect, it } from 'vitest';
import { MemberLeavingError, MemberRetiredError, QuorumNotMetError } from '../../../functions/lib/errors.js';
import { registerMember } from '../../../functions/lib/services/register.js';
import { fakeWorld, type World } from '../../support/fakes/world.js';

const FAR = Number.MAX_SAFE_INTEGER;

function register(w: World, id: string, address: string, options: { until?: number; backend?: string } = {}) {
  const backend = w.backend(options.backend);
  const member = w.member(id, address, backend.name);
  return registerMember({ backend, member, owner: 'webhook', until: options.until ?? FAR }, w.config, w.deps);
}

function everyHost(w: World, backend: string, slot: string) {
  return w.fleet.hosts.map((h) => w.fleet.slot(h, backend, slot));
}

describe('registerMember', () => {
  it('claims a free slot and makes it READY at the member on every host', async () => {
    const w = fakeWorld();
    await w.seed();
    const r = await register(w, 'm-1', '10.0.0.1');
    expect(r).toMatchObject({ answer: 'claimed', quorumMet: true, health: 'not-gated', rolledBack: false });
    expect(r.record).toMatchObject({ state: 'active', member: 'm-1', address: '10.0.0.1', port: 8080 });
    for (const s of everyHost(w, 'web', r.slot))
      expect(s).toMatchObject({ address: '10.0.0.1', port: 8080, admin: 'ready', weight: 1 });
    // Addressed while in MAINT, then READY: no host ever pointed a serving slot elsewhere.
    expect(w.fleet.lines('hap1')).toEqual([
      `set server web/${r.slot} addr 10.0.0.1 port 8080`,
      `set server web/${r.slot} state ready`,
    ]);
  });

  it('sends nothing and answers `applied` when the member registers again at the same endpoint', async () => {
    const w = fakeWorld();
    await w.seed();
    const first = await register(w, 'm-1', '10.0.0.1');
    const sent = w.fleet.sent.length;
    const again = await register(w, 'm-1', '10.0.0.1');
    expect(again).toMatchObject({ answer: 'applied', slot: first.slot, quorumMet: true });
    expect(w.fleet.sent).toHaveLength(sent);
    expect(again.record?.version).toBe(first.record?.version);
  });

  it('a duplicate delivery whose claim finds the slot taken by its twin plans from a fresh look, not from the look beside its claim', async () => {
    // SQS may deliver the same launch twice at once. The first delivery claims and programs the slot, and traffic
    // starts; the second looked at the hosts beside its claim, before any of that, then found the slot its twin took.
    const w = fakeWorld();
    await w.seed();
    const store = w.deps.store;
    let letClaimGo: () => void = () => {};
    const claimHeld = new Promise<void>((resolve) => {
      letClaimGo = resolve;
    });
    const late = Object.assign(Object.create(store), {
      claim: async (...args: Parameters<typeof store.claim>) => {
        await claimHeld;
        return store.claim(...args);
      },
    });
    const backend = w.backend();
    const member = w.member('i-1', '10.0.0.1', backend.name);
    const input = { backend, member, owner: 'asg', until: FAR } as const;
    const second = registerMember(input, w.config, { ...w.deps, store: late });
    const first = await registerMember(input, w.config, w.deps);
    expect(first.answer).toBe('claimed');
    for (const h of w.fleet.hosts) w.fleet.openSession(h, 'web', first.slot);
    letClaimGo();
    const again = await second;
    expect(again).toMatchObject({ slot: first.slot, quorumMet: true });
    // Its look beside the claim showed the slot in MAINT with no session: planning from it re-addresses a serving slot.
    expect(w.fleet.violations).toEqual([]);
    for (const s of everyHost(w, 'web', first.slot)) expect(s).toMatchObject({ address: '10.0.0.1', admin: 'ready' });
  });

  it('case 1: re-registering at a new address moves the slot, and re-addresses it only once its session ended', async () => {
    const w = fakeWorld();
    await w.seed();
    const { slot } = await register(w, 'm-1', '10.0.0.1');
    const sessionEnds = w.clock.now() + 2_000;
    w.fleet.openSession('hap1', 'web', slot, 2_000);
    const moved = await register(w, 'm-1', '10.0.0.2');
    expect(moved).toMatchObject({ answer: 'moved', slot, quorumMet: true });
    expect(await w.store.findByMember('web', 'm-1')).toMatchObject({ address: '10.0.0.2', state: 'active' });
    for (const s of everyHost(w, 'web', slot)) expect(s).toMatchObject({ address: '10.0.0.2', admin: 'ready' });
    const addr = w.fleet.sent.filter((b) => b.host === 'hap1' && b.lines.some((l) => l.includes('addr 10.0.0.2')));
    expect(addr).toHaveLength(1);
    expect(addr[0]?.at).toBeGreaterThanOrEqual(sessionEnds);
    expect(w.fleet.violations).toEqual([]);
  });

  it('case 1: a move that cannot finish in time is reported blocked, never re-addressed with the session open', async () => {
    const w = fakeWorld();
    await w.seed();
    const { slot } = await register(w, 'm-1', '10.0.0.1');
    w.fleet.openSession('hap2', 'web', slot);
    const moved = await register(w, 'm-1', '10.0.0.2', { until: w.clock.now() + 1_000 });
    expect(moved).toMatchObject({ answer: 'moved', health: 'blocked', quorumMet: false });
    expect(w.fleet.slot('hap2', 'web', slot)).toMatchObject({ address: '10.0.0.1', admin: 'maint', sessions: 1 });
    expect(w.fleet.slot('hap1', 'web', slot)).toMatchObject({ address: '10.0.0.2', admin: 'ready' });
    expect(w.fleet.violations).toEqual([]);
  });

  it('case 9: two concurrent registrations into an unseeded backend of 8 slots both get a slot', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', slots: 8 }] });
    expect(await w.store.list('web')).toEqual([]);
    const out = await Promise.all([register(w, 'm-1', '10.0.0.1'), register(w, 'm-2', '10.0.0.2')]);
    expect(out.map((r) => r.answer)).toEqual(['claimed', 'claimed']);
    expect(new Set(out.map((r) => r.slot)).size).toBe(2);
    expect(await w.store.list('web')).toHaveLength(8);
  });

  it('waits behind the health gate for the first passing check before it answers READY', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', check: true, healthGate: { enabled: true, timeoutSeconds: 5 } }] });
    await w.seed();
    w.fleet.setHealth('10.0.0.1', 'pending');
    w.fleet.onObserve = (call) => {
      if (call === 4) w.fleet.setHealth('10.0.0.1', 'passing');
    };
    const r = await register(w, 'm-1', '10.0.0.1');
    expect(r).toMatchObject({ health: 'passed', quorumMet: true });
    for (const s of everyHost(w, 'web', r.slot)) expect(s).toMatchObject({ admin: 'ready', checkStatus: 'L7OK' });
    // DRAIN first: checks run while no new traffic arrives.
    expect(w.fleet.lines('hap1')).toEqual([
      `set server web/${r.slot} addr 10.0.0.1 port 8080`,
      `set server web/${r.slot} state drain`,
      `set server web/${r.slot} state ready`,
    ]);
  });

  it('reports `waiting` and no quorum when the check never passes within the gate, keeping the slot in DRAIN', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', check: true, healthGate: { enabled: true, timeoutSeconds: 2 } }] });
    await w.seed();
    w.fleet.setHealth('10.0.0.1', 'failing');
    const started = w.clock.now();
    const r = await register(w, 'm-1', '10.0.0.1');
    expect(r).toMatchObject({ health: 'waiting', quorumMet: false, rolledBack: false });
    expect(w.clock.now() - started).toBeGreaterThanOrEqual(2_000);
    for (const s of everyHost(w, 'web', r.slot)) expect(s.admin).toBe('drain');
  });

  it('rolls the claim back when the hosts have no such slot, so the table is as it was', async () => {
    const w = fakeWorld();
    await w.store.seed('web', ['web9']);
    const r = await register(w, 'm-1', '10.0.0.1');
    expect(r).toMatchObject({ slot: 'web9', rolledBack: true, quorumMet: false });
    expect(await w.store.get('web', 'web9')).toMatchObject({ state: 'free' });
    expect(await w.store.findByMember('web', 'm-1')).toBeUndefined();
  });

  it('changes nothing and says so when no host answers', async () => {
    const w = fakeWorld();
    await w.seed();
    for (const h of w.fleet.hosts) w.fleet.setMode(h, 'down');
    await expect(register(w, 'm-1', '10.0.0.1')).rejects.toBeInstanceOf(QuorumNotMetError);
    expect((await w.store.list('web')).every((s) => s.state === 'free')).toBe(true);
  });

  it('counts a quorum over the hosts that applied: one host down fails `all` but meets `majority`', async () => {
    for (const [quorum, met] of [
      ['all', false],
      ['majority', true],
    ] as const) {
      const w = fakeWorld({ config: { quorum } });
      await w.seed();
      w.fleet.setMode('hap3', 'down');
      const r = await register(w, 'm-1', '10.0.0.1');
      expect(r.quorumMet, quorum).toBe(met);
      expect(r.hosts.map((h) => [h.host, h.applied])).toEqual([
        ['hap1', true],
        ['hap2', true],
        ['hap3', false],
      ]);
    }
  });

  it('refuses a retired member and a draining one, and writes nothing', async () => {
    const w = fakeWorld();
    await w.seed();
    await w.store.retire('web', 'i-gone', w.clock.now() + 60_000);
    await expect(register(w, 'i-gone', '10.0.0.9')).rejects.toBeInstanceOf(MemberRetiredError);
    await register(w, 'm-1', '10.0.0.1');
    const now = w.clock.now();
    await w.store.apply('web', { member: 'm-1' }, { kind: 'deregister', now, deadline: now + 10_000 });
    const before = await w.store.list('web');
    await expect(register(w, 'm-1', '10.0.0.2')).rejects.toBeInstanceOf(MemberLeavingError);
    expect(await w.store.list('web')).toEqual(before);
  });
});
