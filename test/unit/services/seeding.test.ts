// seedMissing with in-memory ports: slot names come from the hosts (those every answering host has), never guessed.
import { describe, expect, it } from 'vitest';
import { seedMissing } from '../../../functions/lib/services/seeding.js';
import { fakeWorld } from '../../support/fakes/world.js';

describe('seedMissing', () => {
  it('creates every slot the hosts report, once', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', slots: 3 }] });
    const first = await seedMissing(w.backend(), w.deps);
    expect(first).toMatchObject({ created: ['web1', 'web2', 'web3'], someMissing: true });
    expect(first.slots.map((s) => [s.slot, s.state, s.version])).toEqual([
      ['web1', 'free', 1],
      ['web2', 'free', 1],
      ['web3', 'free', 1],
    ]);
    const again = await seedMissing(w.backend(), w.deps);
    expect(again).toMatchObject({ created: [], someMissing: false });
  });

  it('seeds only the names every answering host has, and ignores a host that is down', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', slots: 3 }] });
    w.fleet.dropServer('hap2', 'web', 'web3');
    w.fleet.setMode('hap3', 'down');
    expect((await seedMissing(w.backend(), w.deps)).created).toEqual(['web1', 'web2']);
  });

  it('creates nothing when no host answers', async () => {
    const w = fakeWorld();
    for (const h of w.fleet.hosts) w.fleet.setMode(h, 'down');
    expect(await seedMissing(w.backend(), w.deps)).toEqual({
      slots: [],
      created: [],
      someMissing: false,
      disagreements: [],
    });
  });

  it('uses an observation the caller already made instead of asking the hosts again', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', slots: 2 }] });
    const observed = await w.fleet.observe(['web']);
    const calls = w.fleet.observeCalls;
    expect((await seedMissing(w.backend(), w.deps, observed)).created).toEqual(['web1', 'web2']);
    expect(w.fleet.observeCalls).toBe(calls);
  });

  it('leaves claimed slots as they are when it adds new ones', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', slots: 2 }] });
    await w.store.seed('web', ['web1']);
    const { record } = await w.store.claim('web', w.member('m-1', '10.0.0.1'), { weight: 1, owner: 'webhook' });
    const out = await seedMissing(w.backend(), w.deps);
    expect(out.created).toEqual(['web2']);
    expect(out.slots[0]).toEqual(record);
  });
});
