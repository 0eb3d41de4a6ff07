// The SlotStore contract, run against the in-memory fake (test/support/fakes/) and the DynamoDB adapter on DynamoDB
// Local: the same cases must come out the same, so the fake the service unit tests rely on cannot drift from the table.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SlotEvent } from '../../functions/lib/domain/lifecycle.js';
import type { LifecycleRef, Member } from '../../functions/lib/domain/types.js';
import {
  InvalidArgumentError,
  LaunchSettledError,
  MemberLeavingError,
  MemberRetiredError,
  NoFreeSlotError,
  NotFoundError,
} from '../../functions/lib/errors.js';
import type { SlotAddress, SlotStore } from '../../functions/lib/ports.js';
import { DynamoDbSlotStore, OWED_FOR_MS } from '../../functions/lib/slots/dynamodb-store.js';
import { STRIPED_FROM, stripeOf } from '../../functions/lib/slots/free-slots.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { FakeClock } from '../support/fakes/clock.js';
import { FakeSlotStore } from '../support/fakes/slot-store.js';
import { seededRandom } from '../support/random.js';

let local: DynamoDbLocal;
let tableName: string;
let n = 0;

interface Made {
  readonly store: SlotStore;
  readonly clock: FakeClock;
  readonly backend: string;
}
type Subject = { readonly name: string; readonly make: (clock: FakeClock, random: () => number) => SlotStore };

const SUBJECTS: readonly Subject[] = [
  { name: 'fake', make: (clock, random) => new FakeSlotStore({ now: () => clock.now(), random }) },
  {
    name: 'dynamodb',
    make: (clock, random) => new DynamoDbSlotStore({ tableName, client: local.client, now: () => clock.now(), random }),
  },
];

const member = (id: string, last = 10, port = 8080): Member => ({ id, address: `127.0.0.${last}`, port });
const ref = (instanceId: string, token: string = crypto.randomUUID()): LifecycleRef => ({
  token,
  hookName: 'hook',
  asgName: 'asg',
  instanceId,
});

beforeAll(async () => {
  local = await connectDynamoDbLocal();
  tableName = (await local.createTables(`contract-${process.pid}-${Date.now()}`)).slotTable;
});

afterAll(async () => {
  await local?.stop();
});

describe.each(SUBJECTS)('the $name slot store', (subject) => {
  let t: Made;
  beforeEach(() => {
    // A whole second: tombstone expiry is kept in epoch seconds, so the cases below can name exact boundaries.
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    t = { clock, store: subject.make(clock, seededRandom(42)), backend: `${subject.name}${++n}` };
  });
  const claim = (id: string, weight = 1, last = 10) =>
    t.store.claim(t.backend, member(id, last), { weight, owner: 'webhook' });
  const apply = (at: SlotAddress, event: SlotEvent) => t.store.apply(t.backend, at, event);

  describe('seed and list', () => {
    it('creates each missing name once at version 1 and lists slots in natural order', async () => {
      expect(await t.store.seed(t.backend, ['web10', 'web2', 'web1', 'web2'])).toEqual({
        created: ['web1', 'web2', 'web10'],
      });
      await claim('m-a');
      expect((await t.store.seed(t.backend, ['web1', 'web3'])).created).toEqual(['web3']);
      const slots = await t.store.list(t.backend);
      expect(slots.map((s) => s.slot)).toEqual(['web1', 'web2', 'web3', 'web10']);
      expect(slots.filter((s) => s.state === 'free').map((s) => s.version)).toEqual([1, 1, 1]);
    });

    it('writes nothing when one name is invalid, and lists an unknown backend as empty', async () => {
      await expect(t.store.seed(t.backend, ['web1', 'web 2'])).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(await t.store.list(t.backend)).toEqual([]);
      await expect(t.store.list('bad backend')).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe('getMany', () => {
    it('answers the seeded ones among the names, in the order asked, each once, as get would', async () => {
      await t.store.seed(t.backend, ['web1', 'web2', 'web3']);
      const { record } = await claim('m-a');
      const many = await t.store.getMany(t.backend, ['web3', 'nope', record.slot, 'web3', 'web1']);
      const asked = [...new Set(['web3', record.slot, 'web1'])];
      expect(many.map((r) => r.slot)).toEqual(asked);
      expect(many).toEqual(await Promise.all(asked.map(async (s) => await t.store.get(t.backend, s))));
      expect(many.find((r) => r.slot === record.slot)).toMatchObject({ state: 'active', member: 'm-a' });
      expect(await t.store.getMany(t.backend, [])).toEqual([]);
    });

    it('refuses a bad name before reading anything', async () => {
      await t.store.seed(t.backend, ['web1']);
      await expect(t.store.getMany(t.backend, ['web1', 'web 2'])).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(t.store.getMany('bad backend', ['web1'])).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe('claim', () => {
    it('claims a free slot at version 2 and answers a second claim of the member with the same slot', async () => {
      await t.store.seed(t.backend, ['web1']);
      const first = await claim('m-a', 3, 7);
      expect(first).toEqual({
        claimed: true,
        record: {
          backend: t.backend,
          slot: 'web1',
          state: 'active',
          version: 2,
          member: 'm-a',
          address: '127.0.0.7',
          port: 8080,
          weight: 3,
          owner: 'webhook',
        },
      });
      expect(await claim('m-a', 9, 8)).toEqual({ claimed: false, record: first.record });
      expect(await t.store.findByMember(t.backend, 'm-a')).toEqual(first.record);
      expect(await t.store.get(t.backend, 'web1')).toEqual(first.record);
    });

    it('picks the same slot for the same random numbers (candidates in key order: web10 before web2)', async () => {
      await t.store.seed(t.backend, ['web1', 'web2', 'web10', 'web11']);
      const picks = [];
      for (const id of ['m-a', 'm-b', 'm-c']) picks.push((await claim(id)).record.slot);
      // seededRandom(42) in both stores: the fake draws exactly the numbers the adapter draws, from the same list.
      expect(picks).toEqual(['web10', 'web2', 'web11']);
    });

    it('takes from one stripe of a long free list until it runs out, the same slots in both stores for the same random numbers', async () => {
      const names = Array.from({ length: STRIPED_FROM + 16 }, (_, i) => `web${i + 1}`);
      await t.store.seed(t.backend, names);
      const picks: string[] = [];
      for (const id of ['m-a', 'm-b', 'm-c', 'm-d']) picks.push((await claim(id)).record.slot);
      // seededRandom(42) in both stores: the home stripe is the first draw, then a draw per pick within it.
      expect(picks).toEqual(['web28', 'web73', 'web12', 'web67']);
      // A store stays on its stripe until no free slot of it is left, then moves to another.
      for (let i = 1; i < picks.length; i++) {
        const before = stripeOf(picks[i - 1] as string);
        if (stripeOf(picks[i] as string) === before) continue;
        const left = names.filter((n) => !picks.slice(0, i).includes(n) && stripeOf(n) === before);
        expect(left).toEqual([]);
      }
      expect(stripeOf(picks[1] as string)).toBe(stripeOf(picks[0] as string));
    });

    it('never takes a slot it is told to avoid, and has no free slot when all are avoided or taken', async () => {
      await t.store.seed(t.backend, ['web1', 'web2', 'web3']);
      const avoid = new Set(['web1', 'web3']);
      const got = await t.store.claim(t.backend, member('m-a'), { weight: 1, owner: 'asg', avoid });
      expect(got.record).toMatchObject({ slot: 'web2', owner: 'asg' });
      const none = t.store.claim(t.backend, member('m-b'), { weight: 1, owner: 'asg', avoid });
      await expect(none).rejects.toBeInstanceOf(NoFreeSlotError);
      await claim('m-c');
      await claim('m-d');
      await expect(claim('m-e')).rejects.toBeInstanceOf(NoFreeSlotError);
    });

    it('refuses invalid input before any write', async () => {
      await t.store.seed(t.backend, ['web1']);
      const bad = t.store.claim(t.backend, { id: 'm-a', address: '10.0.0.256', port: 1 }, { weight: 1, owner: 'asg' });
      await expect(bad).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(claim('m a')).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(claim('m-a', 257)).rejects.toBeInstanceOf(InvalidArgumentError);
      expect((await t.store.list(t.backend)).map((s) => s.state)).toEqual(['free']);
    });

    it('refuses a retired member, with or without a slot, until its tombstone expires (epoch seconds)', async () => {
      await t.store.seed(t.backend, ['web1', 'web2']);
      await claim('m-a');
      const until = t.clock.now() + 1_400; // rounded up to whole seconds: expires 2 s from now
      await t.store.retire(t.backend, 'm-a', until);
      await t.store.retire(t.backend, 'm-b', until);
      await expect(claim('m-a')).rejects.toBeInstanceOf(MemberRetiredError);
      await expect(claim('m-b')).rejects.toBeInstanceOf(MemberRetiredError);
      // A shorter retirement never shortens the tombstone.
      await t.store.retire(t.backend, 'm-b', t.clock.now());
      t.clock.advance(1_999);
      expect(await t.store.isRetired(t.backend, 'm-b')).toBe(true);
      t.clock.advance(1);
      expect(await t.store.isRetired(t.backend, 'm-b')).toBe(false);
      expect((await claim('m-b')).claimed).toBe(true);
      await expect(t.store.retire(t.backend, 'm-c', -1)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(t.store.retire(t.backend, 'm-c', 1.5)).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('claims for a launch only while no completion of its token is owed or done, and writes nothing then', async () => {
      await t.store.seed(t.backend, ['web1', 'web2']);
      const launchClaim = (id: string, token: string) =>
        t.store.claim(t.backend, member(id), { weight: 1, owner: 'asg', launch: token });
      const fresh = ref('m-a');
      expect(await t.store.isSettled(fresh.token)).toBe(false);
      expect((await launchClaim('m-a', fresh.token)).claimed).toBe(true);
      const owed = ref('m-b');
      await t.store.owe({ ref: owed, result: 'ABANDON', backend: '' });
      const done = ref('m-c');
      await t.store.oweAndLease({ ref: done, result: 'CONTINUE', backend: '' }, 1_000);
      await t.store.settleCompletion(done.token, true);
      expect([await t.store.isSettled(owed.token), await t.store.isSettled(done.token)]).toEqual([true, true]);
      const before = await t.store.list(t.backend);
      await expect(launchClaim('m-b', owed.token)).rejects.toBeInstanceOf(LaunchSettledError);
      await expect(launchClaim('m-c', done.token)).rejects.toBeInstanceOf(LaunchSettledError);
      // Settled and retired: the settled launch is the answer (its redelivery changes nothing, not even an ABANDON).
      await t.store.retire(t.backend, 'm-c', t.clock.now() + 60_000);
      await expect(launchClaim('m-c', done.token)).rejects.toBeInstanceOf(LaunchSettledError);
      await expect(launchClaim('m-d', 'not a token')).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(await t.store.list(t.backend)).toEqual(before);
      expect(await t.store.findByMember(t.backend, 'm-b')).toBeUndefined();
      // A claim that is not a launch's (the webhook's) is not held back by any token.
      expect((await claim('m-b')).claimed).toBe(true);
    });

    it('refuses a settled launch whose member already holds a slot, also when no slot is free', async () => {
      // The full backend is the case that never reaches the transaction and its check: the member's own slot is found
      // by a read, and a redelivery answered with it would hand the launch over to reconcile a second time.
      await t.store.seed(t.backend, ['web1']);
      const launch = ref('m-a');
      const launchClaim = () =>
        t.store.claim(t.backend, member('m-a'), { weight: 1, owner: 'asg', launch: launch.token });
      expect((await launchClaim()).claimed).toBe(true);
      expect(await launchClaim()).toMatchObject({ claimed: false, record: { slot: 'web1', member: 'm-a' } });
      await t.store.owe({ ref: launch, result: 'CONTINUE', backend: '' });
      const before = await t.store.list(t.backend);
      await expect(launchClaim()).rejects.toBeInstanceOf(LaunchSettledError);
      // With a free slot the transaction refuses it as before.
      await t.store.seed(t.backend, ['web2']);
      await expect(launchClaim()).rejects.toBeInstanceOf(LaunchSettledError);
      expect((await t.store.list(t.backend)).filter((s) => s.slot === 'web1')).toEqual(before);
      // A claim that is not a launch's still finds the member's slot.
      expect((await claim('m-a')).record.slot).toBe('web1');
    });

    it("lets a launch claim again once its token's completion has expired (epoch seconds)", async () => {
      await t.store.seed(t.backend, ['web1']);
      const owed = ref('m-a');
      await t.store.owe({ ref: owed, result: 'CONTINUE', backend: '' });
      t.clock.advance(OWED_FOR_MS - 1_000);
      expect(await t.store.isSettled(owed.token)).toBe(true);
      await expect(
        t.store.claim(t.backend, member('m-a'), { weight: 1, owner: 'asg', launch: owed.token }),
      ).rejects.toBeInstanceOf(LaunchSettledError);
      t.clock.advance(1_000);
      expect(await t.store.isSettled(owed.token)).toBe(false);
      const late = await t.store.claim(t.backend, member('m-a'), { weight: 1, owner: 'asg', launch: owed.token });
      expect(late.claimed).toBe(true);
    });

    it('gives concurrent claims distinct slots, one each, and the rest no free slot', async () => {
      await t.store.seed(t.backend, ['web1', 'web2', 'web3']);
      const ids = ['m-a', 'm-b', 'm-c', 'm-d', 'm-e'];
      const out = await Promise.allSettled(ids.map((id) => claim(id)));
      const won = out.flatMap((o) => (o.status === 'fulfilled' ? [o.value.record.slot] : []));
      expect(new Set(won).size).toBe(3);
      expect(out.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason)).toEqual([
        expect.any(NoFreeSlotError),
        expect.any(NoFreeSlotError),
      ]);
    });

    it('gives concurrent claims of one member a single slot, claimed by exactly one of them', async () => {
      await t.store.seed(t.backend, ['web1', 'web2', 'web3']);
      const out = await Promise.all([claim('m-a'), claim('m-a'), claim('m-a')]);
      expect(new Set(out.map((o) => o.record.slot)).size).toBe(1);
      expect(out.filter((o) => o.claimed)).toHaveLength(1);
      expect((await t.store.list(t.backend)).filter((s) => s.state === 'active')).toHaveLength(1);
    });
  });

  describe('apply', () => {
    it('writes a decision with a version bump and leaves a no-op unwritten', async () => {
      await t.store.seed(t.backend, ['web1']);
      await claim('m-a', 1, 10);
      const same = await apply({ member: 'm-a' }, { kind: 'register', member: member('m-a', 10) });
      expect(same.decision).toMatchObject({ type: 'noop', answer: 'applied' });
      expect(same.record?.version).toBe(2);
      const moved = await apply({ member: 'm-a' }, { kind: 'register', member: member('m-a', 11, 9090) });
      expect(moved.decision).toMatchObject({ type: 'write', answer: 'moved' });
      expect(moved.before).toMatchObject({ address: '127.0.0.10', version: 2 });
      expect(moved.record).toMatchObject({ address: '127.0.0.11', port: 9090, version: 3 });
      expect(await t.store.get(t.backend, 'web1')).toEqual(moved.record);
      const weighted = await apply({ slot: 'web1' }, { kind: 'weight', weight: 7 });
      expect(weighted.record).toMatchObject({ weight: 7, version: 4 });
    });

    it('answers `claim` for a member with no slot and a no-op for events that need none', async () => {
      await t.store.seed(t.backend, ['web1']);
      const reg = await apply({ member: 'm-a' }, { kind: 'register', member: member('m-a') });
      expect(reg).toEqual({ decision: { type: 'claim' }, before: undefined, record: undefined });
      const gone = await apply({ member: 'm-a' }, { kind: 'terminate', now: 1, deadline: 2 });
      expect(gone.decision).toMatchObject({ type: 'noop', answer: 'not-registered' });
      await expect(apply({ member: 'm-a' }, { kind: 'weight', weight: 2 })).rejects.toBeInstanceOf(NotFoundError);
      await expect(apply({ slot: 'web9' }, { kind: 'unhold' })).rejects.toBeInstanceOf(NotFoundError);
    });

    it('lands a slot-and-member address only while that member owns the slot', async () => {
      await t.store.seed(t.backend, ['web1']);
      await claim('m-a');
      await apply({ member: 'm-a' }, { kind: 'release' });
      await claim('m-b');
      const hold = apply({ slot: 'web1', member: 'm-a' }, { kind: 'hold', admin: 'maint' });
      await expect(hold).rejects.toBeInstanceOf(NotFoundError);
      expect(await t.store.get(t.backend, 'web1')).toMatchObject({ state: 'active', member: 'm-b', version: 4 });
    });

    it('drains on terminate, refuses what a leaving member asks, frees the slot and its member item', async () => {
      await t.store.seed(t.backend, ['web1']);
      await claim('m-a');
      await apply({ slot: 'web1' }, { kind: 'hold', admin: 'drain' });
      const now = t.clock.now();
      const r = ref('m-a');
      const drained = await apply({ member: 'm-a' }, { kind: 'terminate', now, deadline: now + 5_000, lifecycle: r });
      expect(drained.record).toEqual({
        backend: t.backend,
        slot: 'web1',
        state: 'draining',
        version: 4,
        member: 'm-a',
        address: '127.0.0.10',
        port: 8080,
        weight: 1,
        owner: 'webhook',
        drainDeadline: now + 5_000,
        drainStartedAt: now,
        drainReason: 'terminate',
        lifecycle: r,
      });
      expect(drained.decision).toMatchObject({ effects: [{ kind: 'retire', member: 'm-a' }] });
      await expect(apply({ member: 'm-a' }, { kind: 'ready' })).rejects.toBeInstanceOf(MemberLeavingError);
      const again = await apply({ member: 'm-a' }, { kind: 'terminate', now: now + 1, deadline: now + 9_000 });
      expect(again.decision).toMatchObject({ type: 'noop', answer: 'draining' });
      const freed = await apply({ member: 'm-a' }, { kind: 'drain-finished' });
      expect(freed.record).toEqual({ backend: t.backend, slot: 'web1', state: 'free', version: 5 });
      expect(await t.store.findByMember(t.backend, 'm-a')).toBeUndefined();
      expect((await claim('m-b')).record).toMatchObject({ slot: 'web1', version: 6 });
    });

    it('owes the completion a freed drain carries, in the same write', async () => {
      await t.store.seed(t.backend, ['web1']);
      await claim('m-a');
      const r = ref('m-a');
      const now = t.clock.now();
      await apply({ member: 'm-a' }, { kind: 'terminate', now, deadline: now, lifecycle: r });
      expect(await owed(r.token)).toBeUndefined();
      await apply({ member: 'm-a' }, { kind: 'drain-deadline' });
      expect(await owed(r.token)).toEqual({
        ref: r,
        result: 'CONTINUE',
        after: 'last-slot',
        backend: t.backend,
        status: 'owed',
      });
    });

    it('gives exactly one of several concurrent releases the write', async () => {
      await t.store.seed(t.backend, ['web1']);
      await claim('m-a');
      const out = await Promise.all([1, 2, 3].map(() => apply({ member: 'm-a' }, { kind: 'release' })));
      expect(out.map((o) => o.decision.type).sort()).toEqual(['noop', 'noop', 'write']);
      expect(await t.store.get(t.backend, 'web1')).toMatchObject({ state: 'free', version: 3 });
    });

    it('decides again on the record as it is now when a concurrent write got in first', async () => {
      await t.store.seed(t.backend, ['web1']);
      await claim('m-a');
      const now = t.clock.now();
      const out = await Promise.allSettled([
        apply({ member: 'm-a' }, { kind: 'weight', weight: 5 }),
        apply({ member: 'm-a' }, { kind: 'terminate', now, deadline: now + 1_000 }),
        apply({ member: 'm-a' }, { kind: 'hold', admin: 'maint' }),
      ]);
      const record = await t.store.get(t.backend, 'web1');
      expect(record).toMatchObject({ state: 'draining', member: 'm-a' });
      // Every write that happened bumped the version once; a write refused after the terminate wrote nothing.
      const written = out.filter((o) => o.status === 'fulfilled' && o.value.decision.type === 'write').length;
      expect(record?.version).toBe(2 + written);
      for (const o of out) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(MemberLeavingError);
    });

    it('validates names before any read', async () => {
      await expect(apply({ slot: 'web 1' }, { kind: 'unhold' })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(apply({ member: 'm a' }, { kind: 'ready' })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(t.store.get(t.backend, 'web/1')).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(t.store.findByMember(t.backend, '')).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe('owed completions', () => {
    it('keeps the first CONTINUE, lets an ABANDON override it, and never reopens one that is done', async () => {
      const r = ref('i-1');
      await t.store.owe({ ref: r, result: 'CONTINUE', after: 'last-launch', backend: 'a' });
      await t.store.owe({ ref: r, result: 'CONTINUE', after: 'last-slot', backend: 'b' });
      expect(await owed(r.token)).toEqual({
        ref: r,
        result: 'CONTINUE',
        after: 'last-launch',
        backend: 'a',
        status: 'owed',
      });
      await t.store.owe({ ref: r, result: 'ABANDON', backend: 'c' });
      expect(await owed(r.token)).toEqual({ ref: r, result: 'ABANDON', backend: 'c', status: 'owed' });
      expect(await t.store.leaseCompletion(r.token, 1_000)).toMatchObject({ result: 'ABANDON' });
      await t.store.settleCompletion(r.token, true);
      await t.store.owe({ ref: r, result: 'CONTINUE', backend: 'd' });
      expect(await owed(r.token)).toBeUndefined();
      expect(await t.store.leaseCompletion(r.token, 1_000)).toBeUndefined();
    });

    it('leases to one caller at a time until the lease expires or is given back', async () => {
      const r = ref('i-2');
      await t.store.owe({ ref: r, result: 'CONTINUE', backend: '' });
      expect(await t.store.leaseCompletion(r.token, 1_000)).toEqual({
        ref: r,
        result: 'CONTINUE',
        backend: '',
        status: 'owed',
      });
      expect(await t.store.leaseCompletion(r.token, 1_000)).toBeUndefined();
      t.clock.advance(1_000);
      expect(await t.store.leaseCompletion(r.token, 1_000)).toBeUndefined();
      t.clock.advance(1);
      expect(await t.store.leaseCompletion(r.token, 1_000)).toBeDefined();
      await t.store.settleCompletion(r.token, false);
      expect(await t.store.leaseCompletion(r.token, 1_000)).toBeDefined();
      // A lease does not hide it from reconcile's list: only `done` does.
      expect(await owed(r.token)).toMatchObject({ status: 'owed' });
    });

    it('owes and leases in one call: leased to the caller when new, to nobody when leased or done, owed either way', async () => {
      const r = ref('i-5');
      const leased = await t.store.oweAndLease({ ref: r, result: 'CONTINUE', backend: '' }, 1_000);
      expect(leased).toEqual({ ref: r, result: 'CONTINUE', backend: '', status: 'owed' });
      expect(await t.store.leaseCompletion(r.token, 1_000)).toBeUndefined();
      // Leased by the first caller: a second gets nothing, but its ABANDON is still recorded over the CONTINUE.
      expect(await t.store.oweAndLease({ ref: r, result: 'ABANDON', backend: 'x' }, 1_000)).toBeUndefined();
      expect(await owed(r.token)).toEqual({ ref: r, result: 'ABANDON', backend: 'x', status: 'owed' });
      t.clock.advance(1_001);
      expect(await t.store.oweAndLease({ ref: r, result: 'CONTINUE', backend: 'y' }, 1_000)).toMatchObject({
        result: 'ABANDON',
        backend: 'x',
      });
      await t.store.settleCompletion(r.token, true);
      t.clock.advance(1_001);
      expect(await t.store.oweAndLease({ ref: r, result: 'CONTINUE', backend: '' }, 1_000)).toBeUndefined();
      expect(await owed(r.token)).toBeUndefined();
      await expect(
        t.store.oweAndLease({ ref: ref('i-6', 'bad token'), result: 'CONTINUE', backend: '' }, 1_000),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('leases nothing for a token never owed, and a token settled done before it is owed stays done', async () => {
      const r = ref('i-3');
      expect(await t.store.leaseCompletion(r.token, 1_000)).toBeUndefined();
      await t.store.settleCompletion(r.token, true);
      await t.store.owe({ ref: r, result: 'CONTINUE', backend: '' });
      expect(await owed(r.token)).toBeUndefined();
      await expect(
        t.store.owe({ ref: ref('i-4', 'bad token'), result: 'CONTINUE', backend: '' }),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(t.store.leaseCompletion('bad/token', 1)).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });

  async function owed(token: string) {
    return (await t.store.owedCompletions()).find((o) => o.ref.token === token);
  }
});

/** What one step came to, comparable across the two stores: the record(s) written or the error's code. */
async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await run() };
  } catch (error) {
    return { error: (error as { code?: string }).code ?? String(error) };
  }
}

describe('the fake and the adapter, step by step', () => {
  it('come out the same over 200 random operations on 4 slots and 5 members', async () => {
    const stores = SUBJECTS.map((s) => {
      const clock = new FakeClock(Date.UTC(2030, 0, 1));
      return { clock, store: s.make(clock, seededRandom(9)) };
    });
    const backend = `diff${++n}`;
    const pick = seededRandom(1234);
    const one = <T>(xs: readonly T[]): T => xs[Math.floor(pick() * xs.length)] as T;
    const ids = ['m-1', 'm-2', 'm-3', 'm-4', 'm-5'];
    const tokens = ids.map((id) => ref(id, `tok-${backend}-${id}`));
    const steps: ((s: SlotStore, now: number) => Promise<unknown>)[] = [];
    for (let i = 0; i < 200; i++) {
      // Every random choice is drawn here, once: both stores then get the very same operation.
      const id = one(ids);
      const r = tokens[ids.indexOf(id)] as LifecycleRef;
      const slot = one(['web1', 'web2', 'web3', 'web4']);
      const at: SlotAddress = one([{ member: id }, { slot }, { slot, member: id }]);
      const who = member(id, one([10, 11]));
      const owner = one(['asg', 'webhook'] as const);
      const done = pick() < 0.5;
      const event = one<(now: number) => SlotEvent>([
        () => ({ kind: 'register', member: who }),
        () => ({ kind: 'weight', weight: who.address.endsWith('0') ? 1 : 2 }),
        () => ({ kind: 'ready' }),
        () => ({ kind: 'hold', admin: done ? 'drain' : 'maint' }),
        () => ({ kind: 'unhold' }),
        (now) => ({ kind: 'terminate', now, deadline: now + 5_000, lifecycle: done ? r : undefined }),
        (now) => ({ kind: 'deregister', now, deadline: now + 5_000 }),
        () => ({ kind: 'drain-finished' }),
        () => ({ kind: 'drain-deadline' }),
        () => ({ kind: 'release' }),
        (now) => ({ kind: 'heartbeat-due', now }),
        (now) => ({ kind: 'launch-pending', now, lifecycle: r, deadline: now + 3_000 }),
        () => ({ kind: 'launch-ready' }),
        (now) => ({ kind: 'launch-timeout', now: now + 4_000 }),
      ]);
      const kind = one([
        'claim',
        'claim',
        'apply',
        'apply',
        'apply',
        'apply',
        'retire',
        'lease',
        'settle',
        'seed',
        'owe',
      ]);
      steps.push(async (s, now) => {
        switch (kind) {
          case 'claim':
            return s.claim(backend, who, { weight: 1, owner });
          case 'apply':
            return s.apply(backend, at, event(now));
          case 'retire':
            return s.retire(backend, id, now + 2_000);
          case 'lease':
            return s.leaseCompletion(r.token, 500);
          case 'settle':
            return s.settleCompletion(r.token, done);
          case 'owe':
            return s.oweAndLease({ ref: r, result: done ? 'CONTINUE' : 'ABANDON', backend: '' }, 300);
          default:
            return s.seed(backend, ['web1', 'web2', 'web3', 'web4']);
        }
      });
    }
    const advances = steps.map(() => Math.floor(pick() * 400));
    for (const [i, step] of steps.entries()) {
      const results = [];
      for (const { clock, store } of stores) {
        results.push(await outcome(() => step(store, clock.now())));
        clock.advance(advances[i] as number);
      }
      expect(results[0], `step ${i}`).toEqual(results[1]);
    }
    const lists = await Promise.all(stores.map(({ store }) => store.list(backend)));
    expect(lists[0]).toEqual(lists[1]);
    const mine = (all: readonly { ref: LifecycleRef }[]) =>
      all.filter((o) => tokens.some((t) => t.token === o.ref.token));
    const owedLists = await Promise.all(stores.map(async ({ store }) => mine(await store.owedCompletions())));
    expect(owedLists[0]).toEqual(owedLists[1]);
  }, 60_000);
});
