// DynamoDbSlotStore against DynamoDB Local: drain, activate, weight and operator holds, through the port only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleRef, Member } from '../../functions/lib/domain.js';
import { InvalidArgumentError, NoFreeSlotError, NotFoundError } from '../../functions/lib/errors.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';

let local: DynamoDbLocal;
let store: DynamoDbSlotStore;
let n = 0;

/** A backend name of its own per test, so tests share the table but never a partition. */
const backend = () => `be${++n}`;
const member = (id: string, last = 10): Member => ({ id, address: `127.0.0.${last}`, port: 8080 });
const hook: LifecycleRef = { token: 'tok-1', hookName: 'drain-hook', asgName: 'asg-web', instanceId: 'i-1' };

beforeAll(async () => {
  local = await connectDynamoDbLocal();
  const { slotTable } = await local.createTables(`slot-transitions-${process.pid}`);
  store = new DynamoDbSlotStore({ tableName: slotTable, client: local.client });
});

afterAll(async () => {
  await local?.stop();
});

describe('markDraining', () => {
  it('records the deadline and lifecycle action on an active slot', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await store.claim(be, member('i-a'), 1);
    const drained = await store.markDraining(be, 'i-a', 1_000_000, hook);
    expect(drained).toMatchObject({ state: 'draining', drainDeadline: 1_000_000, lifecycle: hook, member: 'i-a' });
  });

  it('is idempotent: a duplicate keeps the earlier deadline and the first lifecycle action, without a write', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await store.claim(be, member('i-a'), 1);
    const first = await store.markDraining(be, 'i-a', 1_000_000, hook);
    const dup = await store.markDraining(be, 'i-a', 2_000_000, { ...hook, token: 'tok-2' });
    expect(dup).toEqual(first);
    const earlier = await store.markDraining(be, 'i-a', 500_000);
    expect(earlier).toMatchObject({ drainDeadline: 500_000, lifecycle: hook, version: first.version + 1 });
  });

  it('adds a lifecycle action to a drain that had none', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await store.claim(be, member('i-a'), 1);
    await store.markDraining(be, 'i-a', 1_000_000);
    expect(await store.markDraining(be, 'i-a', 1_000_000, hook)).toMatchObject({
      lifecycle: hook,
      drainDeadline: 1_000_000,
    });
  });

  it('throws NotFoundError for a member without a slot', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await expect(store.markDraining(be, 'i-none', 1)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('drains a held slot whose member leaves, dropping the hold (a terminated instance goes regardless)', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await store.claim(be, member('i-a'), 1);
    await store.hold(be, 'web1', 'drain');
    const drained = await store.markDraining(be, 'i-a', 1_000, hook);
    expect(drained).toMatchObject({ state: 'draining', member: 'i-a', drainDeadline: 1_000, lifecycle: hook });
    expect(drained.heldAdmin).toBeUndefined();
    expect(drained.heldFrom).toBeUndefined();
  });
});

describe('markActive and setWeight', () => {
  it('brings a draining slot back to active and drops the drain intent', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await store.claim(be, member('i-a'), 1);
    await store.markDraining(be, 'i-a', 1_000_000, hook);
    const active = await store.markActive(be, 'i-a');
    expect(active.state).toBe('active');
    expect(active.drainDeadline).toBeUndefined();
    expect(active.lifecycle).toBeUndefined();
    expect(await store.markActive(be, 'i-a')).toEqual(active);
  });

  it('changes the weight of the member slot, and throws NotFoundError for a member without one', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    const claimed = await store.claim(be, member('i-a'), 1);
    expect(await store.setWeight(be, 'i-a', 200)).toMatchObject({ weight: 200, version: claimed.version + 1 });
    expect((await store.findByMember(be, 'i-a'))?.weight).toBe(200);
    await expect(store.setWeight(be, 'i-b', 5)).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.setWeight(be, 'i-a', 257)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('hold and unhold', () => {
  it('round-trips an active slot: held with the admin state, then active again with its owner', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    const claimed = await store.claim(be, member('i-a'), 9);
    const held = await store.hold(be, 'web1', 'maint');
    expect(held).toMatchObject({ state: 'held', heldAdmin: 'maint', heldFrom: 'active', member: 'i-a', weight: 9 });
    expect(await store.hold(be, 'web1', 'drain')).toMatchObject({
      state: 'held',
      heldAdmin: 'drain',
      heldFrom: 'active',
    });
    const back = await store.unhold(be, 'web1');
    expect(back).toEqual({ ...claimed, version: claimed.version + 3 });
  });

  it('keeps a held free slot out of claims until it is unheld', async () => {
    const be = backend();
    await store.seed(be, ['web1']);
    await store.hold(be, 'web1', 'maint');
    await expect(store.claim(be, member('i-a'), 1)).rejects.toBeInstanceOf(NoFreeSlotError);
    expect((await store.unhold(be, 'web1')).state).toBe('free');
    expect((await store.claim(be, member('i-a'), 1)).slot).toBe('web1');
  });

  it('throws NotFoundError for a slot that was never seeded', async () => {
    await expect(store.hold(backend(), 'web99', 'maint')).rejects.toBeInstanceOf(NotFoundError);
  });
});
