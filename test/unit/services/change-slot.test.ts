// changeSlot with in-memory ports: holds, unholds, weights and `ready` through the machine, then the hosts (cases 2, 3, 7).
import { describe, expect, it } from 'vitest';
import { MemberLeavingError, NotFoundError } from '../../../functions/lib/errors.js';
import type { SlotAddress } from '../../../functions/lib/ports.js';
import { changeSlot, type SlotChangeInput } from '../../../functions/lib/services/change-slot.js';
import { drainMember } from '../../../functions/lib/services/drain.js';
import { registerMember } from '../../../functions/lib/services/register.js';
import { fakeWorld, type World } from '../../support/fakes/world.js';

const FAR = Number.MAX_SAFE_INTEGER;

async function registered(w: World, id: string, address: string) {
  const member = w.member(id, address);
  return (await registerMember({ backend: w.backend(), member, owner: 'asg', until: FAR }, w.config, w.deps)).slot;
}

function change(w: World, at: SlotAddress, event: SlotChangeInput['event']) {
  return changeSlot({ backend: w.backend(), at, event, until: FAR }, w.config, w.deps);
}

const admins = (w: World, slot: string) => w.fleet.hosts.map((h) => w.fleet.slot(h, 'web', slot).admin);

/** The terminate's intent, as the lifecycle service writes it before it drains. */
async function terminating(w: World, id: string) {
  const ref = w.ref(id);
  const now = w.clock.now();
  await w.store.apply('web', { member: id }, { kind: 'terminate', now, deadline: now + 30_000, lifecycle: ref });
  return ref;
}

describe('changeSlot', () => {
  it('holds a member’s slot in DRAIN on every host, and unholds it back to READY', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await registered(w, 'm-1', '10.0.0.1');
    const held = await change(w, { member: 'm-1' }, { kind: 'hold', admin: 'drain' });
    expect(held).toMatchObject({ answer: 'held', slot, record: { state: 'held', heldAdmin: 'drain' } });
    expect(admins(w, slot)).toEqual(['drain', 'drain', 'drain']);
    const back = await change(w, { slot }, { kind: 'unhold' });
    expect(back).toMatchObject({ answer: 'unheld', record: { state: 'active' } });
    expect(admins(w, slot)).toEqual(['ready', 'ready', 'ready']);
  });

  it('sets a new weight on every host', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await registered(w, 'm-1', '10.0.0.1');
    await change(w, { member: 'm-1' }, { kind: 'weight', weight: 42 });
    expect(w.fleet.hosts.map((h) => w.fleet.slot(h, 'web', slot).weight)).toEqual([42, 42, 42]);
    expect(w.fleet.lines('hap1').at(-1)).toBe(`set server web/${slot} weight 42`);
  });

  it('takes a free slot out of the pool: a later claim never gets it', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', slots: 2 }] });
    await w.seed();
    await change(w, { slot: 'web1' }, { kind: 'hold', admin: 'maint' });
    expect(await registered(w, 'm-1', '10.0.0.1')).toBe('web2');
  });

  it('case 2: a hold on a member whose terminate drains is refused, and the drain completes its action', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await registered(w, 'i-1', '10.0.0.1');
    w.fleet.openSession('hap1', 'web', slot, 2_000);
    const ref = await terminating(w, 'i-1');
    const leaving = drainMember(
      { backend: w.backend(), memberId: 'i-1', leave: { kind: 'terminate', lifecycle: ref }, until: FAR },
      w.config,
      w.deps,
    );
    const before = await w.store.get('web', slot);
    await expect(change(w, { member: 'i-1' }, { kind: 'hold', admin: 'drain' })).rejects.toBeInstanceOf(
      MemberLeavingError,
    );
    await expect(change(w, { slot }, { kind: 'hold', admin: 'maint' })).rejects.toBeInstanceOf(MemberLeavingError);
    expect((await w.store.get('web', slot))?.state).toBe(before?.state);
    expect(await leaving).toMatchObject({ status: 'released' });
    expect(w.lifecycle.resultsOf(ref.token)).toEqual(['CONTINUE']);
    expect(await w.store.findByMember('web', 'i-1')).toBeUndefined();
  });

  it('case 3: `ready` for a terminating member is refused, and no host serves it again', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await registered(w, 'i-1', '10.0.0.1');
    w.fleet.openSession('hap1', 'web', slot);
    const ref = await terminating(w, 'i-1');
    await drainMember(
      { backend: w.backend(), memberId: 'i-1', leave: { kind: 'terminate', lifecycle: ref }, until: w.clock.now() },
      w.config,
      w.deps,
    );
    expect(admins(w, slot)).toEqual(['drain', 'drain', 'drain']);
    const sent = w.fleet.sent.length;
    await expect(change(w, { member: 'i-1' }, { kind: 'ready' })).rejects.toBeInstanceOf(MemberLeavingError);
    expect(w.fleet.sent).toHaveLength(sent);
    expect(await w.store.get('web', slot)).toMatchObject({ state: 'draining', lifecycle: ref });
    for (const h of w.fleet.hosts) expect(w.fleet.serving(h, 'web')).toEqual([]);
  });

  it('case 7: a hold never lands on the member that took the slot between the lookup and the write', async () => {
    const w = fakeWorld();
    await w.seed();
    const slot = await registered(w, 'm-a', '10.0.0.1');
    const others = new Set((await w.store.list('web')).map((s) => s.slot).filter((s) => s !== slot));
    let raced = false;
    w.store.beforeWrite = async (at) => {
      if (raced || at.op !== 'apply' || at.slot !== slot) return;
      raced = true;
      await w.store.apply('web', { member: 'm-a' }, { kind: 'release' });
      await w.store.claim('web', w.member('m-b', '10.0.0.2'), { weight: 1, owner: 'webhook', avoid: others });
    };
    await expect(change(w, { member: 'm-a' }, { kind: 'hold', admin: 'maint' })).rejects.toBeInstanceOf(NotFoundError);
    expect(raced).toBe(true);
    expect(await w.store.findByMember('web', 'm-b')).toMatchObject({ slot, state: 'active' });
    expect(await w.store.findByMember('web', 'm-a')).toBeUndefined();
    expect(w.fleet.lines().filter((l) => l === `set server web/${slot} state maint`)).toEqual([]);
  });

  it('case 7: a hold by slot and member is refused once another member owns the slot', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', slots: 1 }] });
    await w.seed();
    await registered(w, 'm-a', '10.0.0.1');
    await w.store.apply('web', { member: 'm-a' }, { kind: 'release' });
    await registered(w, 'm-b', '10.0.0.2');
    const hold = change(w, { slot: 'web1', member: 'm-a' }, { kind: 'hold', admin: 'drain' });
    await expect(hold).rejects.toBeInstanceOf(NotFoundError);
    expect(await w.store.get('web', 'web1')).toMatchObject({ state: 'active', member: 'm-b' });
  });
});
