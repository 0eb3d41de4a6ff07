// EC2 notices against a launch under way: a claim that lands while a notice retires the instance is drained by the
// notice or refused, never left serving after the notice returned.
import { describe, expect, it } from 'vitest';
import type { SlotRecord } from '../../../functions/lib/domain/types.js';
import type { SlotStore } from '../../../functions/lib/ports.js';
import { handleInstanceNotice } from '../../../functions/lib/services/instance-events.js';
import { fakeWorld } from '../../support/fakes/world.js';

const BACKENDS = [
  { name: 'web', drainSeconds: 1, onRebalance: 'drain' },
  { name: 'app', drainSeconds: 1, onRebalance: 'drain' },
];

describe('a retiring notice and a launch claiming at the same time', () => {
  it("drains a claim that lands in a backend right after the notice found the instance's slot only elsewhere", async () => {
    const w = fakeWorld({ backends: BACKENDS });
    await w.seed('web');
    await w.seed('app');
    const id = 'i-00000000000000041';
    await w.store.claim('web', w.member(id, '127.0.0.41', 'web'), { weight: 1, owner: 'asg' });
    // The launch's claim in app, made the moment the notice has looked there (by whichever read) and found nothing.
    let raced: 'claimed' | Error | undefined;
    const race = async () => {
      raced ??= await w.store.claim('app', w.member(id, '127.0.0.41', 'app'), { weight: 1, owner: 'asg' }).then(
        () => 'claimed' as const,
        (error: Error) => error,
      );
    };
    const store: SlotStore = Object.assign(Object.create(w.store), {
      findByMember: async (backend: string, member: string) => {
        const r = await w.store.findByMember(backend, member);
        if (backend === 'app' && r === undefined) await race();
        return r;
      },
      apply: async (...args: Parameters<SlotStore['apply']>) => {
        const out = await w.store.apply(...args);
        if (args[0] === 'app' && out.record === undefined) await race();
        return out;
      },
    });
    const notice = { kind: 'rebalance', instanceId: id } as const;
    const out = await handleInstanceNotice({ notice, until: w.clock.now() }, w.config, { ...w.deps, store });

    expect(raced, 'the launch claimed in app after the notice looked there').toBe('claimed');
    expect(out.effect).toBe('leaving');
    expect(out.drained.map((d) => d.backend).sort()).toEqual(['app', 'web']);
    const app = (await w.store.findByMember('app', id)) as SlotRecord;
    expect(app.state).toBe('draining');
    // A launch delivered later still finds the instance retired in every backend.
    expect(await Promise.all(['web', 'app'].map((b) => w.store.isRetired(b, id)))).toEqual([true, true]);
  });
});

describe('a Spot warning read late', () => {
  it('keeps the drain deadline inside the notice however long the table calls before the drain took', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', drainSeconds: 60 }] });
    await w.seed('web');
    const id = 'i-00000000000000042';
    await w.store.claim('web', w.member(id, '127.0.0.42', 'web'), { weight: 1, owner: 'asg' });
    // 15.3 s left inside the notice when it is read: whole seconds from then is 15 s, but the drain reads its clock
    // after the look-ups, 0.7 s later, so a deadline of its now + 15 s would land 0.4 s past the margin.
    const notAfter = w.clock.now() + 15_300;
    const actionAt = notAfter + w.config.lifecycle.spotMarginSeconds * 1000;
    const store: SlotStore = Object.assign(Object.create(w.store), {
      findByMember: async (backend: string, member: string) => {
        w.clock.advance(700);
        return w.store.findByMember(backend, member);
      },
    });
    const notice = { kind: 'spot-interruption', instanceId: id, action: 'terminate', actionAt } as const;
    const out = await handleInstanceNotice({ notice, until: w.clock.now() }, w.config, { ...w.deps, store });

    expect(out.effect).toBe('leaving');
    const drained = (await w.store.findByMember('web', id)) as SlotRecord;
    expect(drained).toMatchObject({ state: 'draining', drainReason: 'spot-interruption' });
    expect(drained.drainDeadline).toBe(notAfter);
  });
});
