// DynamoDbSlotStore.apply against DynamoDB Local: the lifecycle machine's decisions written under guards, refusals writing nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleRef, Member } from '../../functions/lib/domain/types.js';
import {
  InvalidArgumentError,
  MemberLeavingError,
  NoFreeSlotError,
  NotFoundError,
} from '../../functions/lib/errors.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { storeOps } from '../support/store-ops.js';

let local: DynamoDbLocal;
let store: DynamoDbSlotStore;
let ops: ReturnType<typeof storeOps>;
let n = 0;

/** A backend name of its own per test, so tests share the table but never a partition. */
const backend = () => `be${++n}`;
const member = (id: string, last = 10): Member => ({ id, address: `127.0.0.${last}`, port: 8080 });
const hook: LifecycleRef = { token: 'tok-1', hookName: 'drain-hook', asgName: 'asg-web', instanceId: 'i-1' };

beforeAll(async () => {
  local = await connectDynamoDbLocal();
  const { slotTable } = await local.createTables(`slot-transitions-${process.pid}`);
  store = new DynamoDbSlotStore({ tableName: slotTable, client: local.client });
  ops = storeOps(store);
});

afterAll(async () => {
  await local?.stop();
});

describe('markDraining', () => {
  it('records the deadline and lifecycle action on an active slot', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await ops.claim(be, member('i-a'), 1);
    const drained = await ops.drain(be, 'i-a', 1_000_000, hook);
    expect(drained).toMatchObject({ state: 'draining', drainDeadline: 1_000_000, lifecycle: hook, member: 'i-a' });
  });

  it('is idempotent: a duplicate keeps the earlier deadline and the first lifecycle action, without a write', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await ops.claim(be, member('i-a'), 1);
    const first = await ops.drain(be, 'i-a', 1_000_000, hook);
    const dup = await ops.drain(be, 'i-a', 2_000_000, { ...hook, token: 'tok-2' });
    expect(dup).toEqual(first);
    const earlier = await ops.drain(be, 'i-a', 500_000);
    expect(earlier).toMatchObject({ drainDeadline: 500_000, lifecycle: hook, version: first.version + 1 });
  });

  it('adds a lifecycle action to a drain that had none', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await ops.claim(be, member('i-a'), 1);
    await ops.drain(be, 'i-a', 1_000_000);
    expect(await ops.drain(be, 'i-a', 1_000_000, hook)).toMatchObject({
      lifecycle: hook,
      drainDeadline: 1_000_000,
    });
  });

  it('answers not-registered for a member without a slot and writes nothing', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    const before = await store.list(be);
    const out = await store.apply(be, { member: 'i-none' }, { kind: 'terminate', now: 0, deadline: 1 });
    expect(out.decision).toEqual({ type: 'noop', answer: 'not-registered', effects: [] });
    expect(await store.list(be)).toEqual(before);
  });

  it('drains a held slot whose member leaves, dropping the hold (a terminated instance goes regardless)', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await ops.claim(be, member('i-a'), 1);
    await ops.hold(be, 'web1', 'drain');
    const drained = await ops.drain(be, 'i-a', 1_000, hook);
    expect(drained).toMatchObject({ state: 'draining', member: 'i-a', drainDeadline: 1_000, lifecycle: hook });
    expect(drained.heldAdmin).toBeUndefined();
    expect(drained.heldFrom).toBeUndefined();
  });
});

describe('refusals and bad input', () => {
  it('refuses `ready` for a draining member with MemberLeavingError, and the record stays as it was', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await ops.claim(be, member('i-a'), 1);
    const drained = await ops.drain(be, 'i-a', 1_000_000, hook);
    await expect(ops.ready(be, 'i-a')).rejects.toBeInstanceOf(MemberLeavingError);
    await expect(ops.hold(be, 'web1', 'maint')).rejects.toBeInstanceOf(MemberLeavingError);
    expect(await store.findByMember(be, 'i-a')).toEqual(drained);
  });

  it('never lands a member-guarded event on a slot another member took since (the hold that found web1 for i-a)', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await ops.claim(be, member('i-a'), 1);
    await ops.drain(be, 'i-a', 0, hook);
    expect(await ops.release(be, 'i-a')).toBe(true);
    const taken = await ops.claim(be, member('i-b', 11), 1);
    expect(taken.slot).toBe('web1');
    await expect(
      store.apply(be, { slot: 'web1', member: 'i-a' }, { kind: 'hold', admin: 'maint' }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.findByMember(be, 'i-b')).toEqual(taken);
  });

  it('frees a drained slot together with its member item: the member may claim again afterwards', async () => {
    const be = backend();
    await store.seed(be, ['web1', 'web2']);
    await ops.claim(be, member('i-a'), 1);
    await ops.deregister(be, 'i-a', 0);
    const out = await store.apply(be, { member: 'i-a' }, { kind: 'drain-finished' });
    expect(out.record).toMatchObject({ state: 'free', version: 4 });
    expect(await store.findByMember(be, 'i-a')).toBeUndefined();
    expect((await ops.claim(be, member('i-a'), 1)).member).toBe('i-a');
  });

  it('changes the weight of the member slot, and throws NotFoundError for a member without one', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    const claimed = await ops.claim(be, member('i-a'), 1);
    expect(await ops.weight(be, 'i-a', 200)).toMatchObject({ weight: 200, version: claimed.version + 1 });
    expect((await store.findByMember(be, 'i-a'))?.weight).toBe(200);
    await expect(ops.weight(be, 'i-b', 5)).rejects.toBeInstanceOf(NotFoundError);
    await expect(ops.weight(be, 'i-a', 257)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect((await store.findByMember(be, 'i-a'))?.weight).toBe(200);
  });
});

describe('hold and unhold', () => {
  it('round-trips an active slot: held with the admin state, then active again with its owner', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    const claimed = await ops.claim(be, member('i-a'), 9);
    const held = await ops.hold(be, 'web1', 'maint');
    expect(held).toMatchObject({ state: 'held', heldAdmin: 'maint', heldFrom: 'active', member: 'i-a', weight: 9 });
    expect(await ops.hold(be, 'web1', 'drain')).toMatchObject({
      state: 'held',
      heldAdmin: 'drain',
      heldFrom: 'active',
    });
    const back = await ops.unhold(be, 'web1');
    expect(back).toEqual({ ...claimed, version: claimed.version + 3 });
  });

  it('keeps a held free slot out of claims until it is unheld', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await ops.hold(be, 'web1', 'maint');
    await expect(ops.claim(be, member('i-a'), 1)).rejects.toBeInstanceOf(NoFreeSlotError);
    expect((await ops.unhold(be, 'web1')).state).toBe('free');
    expect((await ops.claim(be, member('i-a'), 1)).slot).toBe('web1');
  });

  it('throws NotFoundError for a slot that was never seeded', async () => {
    await expect(ops.hold(backend(), 'web99', 'maint')).rejects.toBeInstanceOf(NotFoundError);
  });
});
