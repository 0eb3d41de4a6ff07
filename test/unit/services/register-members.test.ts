// registerMembers with in-memory ports: a batch of members registered together costs one member's observations and
// host batches, and every member still gets its own result or its own error (issue 10 §2).
import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  MemberRetiredError,
  QuorumNotMetError,
  StoreUnavailableError,
} from '../../../functions/lib/errors.js';
import {
  type RegisterInput,
  type RegisterResult,
  registerMember,
  registerMembers,
} from '../../../functions/lib/services/register.js';
import { fakeWorld, type World } from '../../support/fakes/world.js';

const FAR = Number.MAX_SAFE_INTEGER;
const GATED = { name: 'web', slots: 8, check: true, healthGate: { enabled: true, timeoutSeconds: 5 } } as const;

function input(w: World, id: string, address: string, backend?: string): RegisterInput {
  const b = w.backend(backend);
  return { backend: b, member: w.member(id, address, b.name), owner: 'asg', until: FAR };
}

/** The addresses of the slots a host serves in a backend, sorted. */
function addressesServing(w: World, host: string, backend: string): (string | null)[] {
  return w.fleet
    .serving(host, backend)
    .map((slot) => w.fleet.slot(host, backend, slot).address)
    .sort();
}

/** A gated world whose checks pass from the 4th observation on, for every address given. */
async function gatedWorld(addresses: readonly string[]): Promise<World> {
  const w = fakeWorld({ backends: [GATED] });
  await w.seed();
  for (const a of addresses) w.fleet.setHealth(a, 'pending');
  w.fleet.onObserve = (call) => {
    if (call === 4) for (const a of addresses) w.fleet.setHealth(a, 'passing');
  };
  return w;
}

describe('registerMembers', () => {
  it('registers five members with the observations and host batches of one: every slot in each batch', async () => {
    const addresses = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'];
    const alone = await gatedWorld(['10.0.0.1']);
    await registerMember(input(alone, 'm-1', '10.0.0.1'), alone.config, alone.deps);

    const w = await gatedWorld(addresses);
    const out = await registerMembers(
      addresses.map((a, i) => input(w, `m-${i + 1}`, a)),
      w.config,
      w.deps,
    );
    const results = out.map((r) => {
      if (r instanceof Error) throw r;
      return r;
    });
    expect(results.map((r) => [r.answer, r.health, r.quorumMet])).toEqual(
      addresses.map(() => ['claimed', 'passed', true]),
    );
    expect(new Set(results.map((r) => r.slot)).size).toBe(5);
    for (const [i, r] of results.entries())
      for (const h of w.fleet.hosts)
        expect(w.fleet.slot(h, 'web', r.slot)).toMatchObject({ address: addresses[i], admin: 'ready' });
    // One observation beside the claims and one health-gate loop: exactly what one member alone costs.
    expect(w.fleet.observeCalls).toBe(alone.fleet.observeCalls);
    const batches = (world: World) => world.fleet.sent.filter((b) => b.host === 'hap1');
    expect(batches(w)).toHaveLength(batches(alone).length);
    // The first batch addresses all five slots; the last makes all five READY.
    const first = batches(w)[0]?.lines ?? [];
    const last = batches(w).at(-1)?.lines ?? [];
    for (const r of results) {
      expect(first.filter((l) => l.startsWith(`set server web/${r.slot} addr`))).toHaveLength(1);
      expect(last).toContain(`set server web/${r.slot} state ready`);
    }
  });

  it('answers each member alone: a bad port, a retired member and a failed claim fail only themselves', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', slots: 8 }] });
    await w.seed();
    await w.store.retire('web', 'm-retired', w.clock.now() + 60_000);
    const inputs = [
      input(w, 'm-1', '10.0.0.1'),
      { ...input(w, 'm-port', '10.0.0.2'), member: { id: 'm-port', address: '10.0.0.2', port: 0 } },
      input(w, 'm-retired', '10.0.0.3'),
      input(w, 'm-store', '10.0.0.4'),
      input(w, 'm-5', '10.0.0.5'),
    ];
    // The claims go out in input order, so the fourth live claim (m-store's) is the one that fails.
    let claims = 0;
    const claim = w.store.claim.bind(w.store);
    w.store.claim = (...args: Parameters<typeof claim>) => {
      if (++claims === 3) throw new StoreUnavailableError('DynamoDB throttled this claim');
      return claim(...args);
    };
    const out = await registerMembers(inputs, w.config, w.deps);
    expect(out[1]).toBeInstanceOf(InvalidArgumentError);
    expect(out[2]).toBeInstanceOf(MemberRetiredError);
    expect(out[3]).toBeInstanceOf(StoreUnavailableError);
    for (const i of [0, 4]) expect(out[i]).toMatchObject({ answer: 'claimed', quorumMet: true, rolledBack: false });
    // The failed ones hold nothing; the others serve on every host.
    for (const id of ['m-port', 'm-retired', 'm-store']) expect(await w.store.findByMember('web', id)).toBeUndefined();
    for (const h of w.fleet.hosts) expect(addressesServing(w, h, 'web')).toEqual(['10.0.0.1', '10.0.0.5']);
  });

  it('changes nothing when no host answers: every claim of the batch is released', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', slots: 8 }] });
    await w.seed();
    const before = await w.store.list('web');
    for (const h of w.fleet.hosts) w.fleet.setMode(h, 'down');
    const out = await registerMembers([input(w, 'm-1', '10.0.0.1'), input(w, 'm-2', '10.0.0.2')], w.config, w.deps);
    for (const r of out) expect(r).toBeInstanceOf(QuorumNotMetError);
    expect((await w.store.list('web')).map((s) => [s.slot, s.state])).toEqual(before.map((s) => [s.slot, s.state]));
  });

  it('seeds a fresh backend once for the batch, then every member claims a slot of it', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', slots: 8 }] });
    const out = await registerMembers(
      ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((a, i) => input(w, `m-${i}`, a)),
      w.config,
      w.deps,
    );
    expect(out.map((r) => (r instanceof Error ? r.message : r.answer))).toEqual(['claimed', 'claimed', 'claimed']);
    expect(await w.store.list('web')).toHaveLength(8);
  });

  it('registers members of two backends side by side, each in its own slots', async () => {
    const w = fakeWorld({ backends: [{ name: 'web' }, { name: 'api' }] });
    await w.seed('web');
    await w.seed('api');
    const out = await registerMembers(
      [input(w, 'm-1', '10.0.0.1', 'web'), input(w, 'm-1', '10.0.0.1', 'api'), input(w, 'm-2', '10.0.0.2', 'web')],
      w.config,
      w.deps,
    );
    expect(out.map((r) => (r instanceof Error ? r.message : `${r.backend}:${r.member}:${r.quorumMet}`))).toEqual([
      'web:m-1:true',
      'api:m-1:true',
      'web:m-2:true',
    ]);
    for (const h of w.fleet.hosts) {
      expect(addressesServing(w, h, 'web')).toEqual(['10.0.0.1', '10.0.0.2']);
      expect(addressesServing(w, h, 'api')).toEqual(['10.0.0.1']);
    }
  });

  it('answers each member as soon as its slot is READY everywhere; one failing its check holds no other', async () => {
    const w = fakeWorld({ backends: [GATED] });
    await w.seed();
    for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) w.fleet.setHealth(a, 'passing');
    w.fleet.setHealth('10.0.0.9', 'failing');
    const started = w.clock.now();
    const answeredAt = new Map<string, number>();
    let sentAtRelease = Number.POSITIVE_INFINITY;
    const out = await registerMembers(
      [
        input(w, 'm-1', '10.0.0.1'),
        input(w, 'm-bad', '10.0.0.9'),
        input(w, 'm-2', '10.0.0.2'),
        input(w, 'm-3', '10.0.0.3'),
      ],
      w.config,
      w.deps,
      (i, r) => {
        answeredAt.set(`${i}:${r.member}`, w.clock.now());
        if (r.member !== 'm-1') return;
        sentAtRelease = w.fleet.sent.length;
        void w.store.apply('web', { slot: r.slot, member: 'm-1' }, { kind: 'release' });
      },
    );
    expect(out.map((r) => (r instanceof Error ? r.message : [r.member, r.health, r.quorumMet]))).toEqual([
      ['m-1', 'passed', true],
      ['m-bad', 'waiting', false],
      ['m-2', 'passed', true],
      ['m-3', 'passed', true],
    ]);
    // The healthy three were answered early, long before the gate's 5 s ran out for the failing one.
    expect([...answeredAt.keys()].sort()).toEqual(['0:m-1', '2:m-2', '3:m-3']);
    const lastAnswer = Math.max(...answeredAt.values());
    expect(lastAnswer - started).toBeLessThan(1_000);
    expect(w.clock.now() - started).toBeGreaterThanOrEqual(5_000);
    // Answered, a slot leaves the loop: m-1's slot, released as soon as it was answered (its instance terminated at
    // once), is left to whoever released it; the loop, still polling for m-bad, sends it nothing.
    const released = (out[0] as RegisterResult).slot;
    const later = w.fleet.sent.slice(sentAtRelease).flatMap((b) => b.lines);
    expect(later.filter((l) => l.includes(`web/${released} `))).toEqual([]);
    expect(await w.store.get('web', released)).toMatchObject({ state: 'free' });
  });
});
