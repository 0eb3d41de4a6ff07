// An instance that leaves is retired once per backend: the terminate hook and a retiring EC2 notice retire it in every
// backend before they drain, and the drains they start do not write the same tombstones again.
import { describe, expect, it } from 'vitest';
import type { SlotStore } from '../../../functions/lib/ports.js';
import { handleInstanceNotice } from '../../../functions/lib/services/instance-events.js';
import { handleLifecycle } from '../../../functions/lib/services/lifecycle.js';
import { fakeWorld, type World } from '../../support/fakes/world.js';

const FAR = Number.MAX_SAFE_INTEGER;

/** Two backends, i-1 and i-2 launched into both; `retires` lists every tombstone write from then on. */
async function world() {
  const w = fakeWorld({ backends: [{ name: 'web' }, { name: 'api', autoScalingGroups: ['asg-web'] }] });
  await w.seed('web');
  await w.seed('api');
  for (const [id, address] of [
    ['i-1', '10.0.0.1'],
    ['i-2', '10.0.0.2'],
  ] as const) {
    w.member(id, address);
    const out = await handleLifecycle({ transition: 'launch', ref: w.ref(id), until: FAR }, w.config, w.deps);
    expect(out.completion).toBe('CONTINUE');
  }
  const retires: string[] = [];
  const store: SlotStore = Object.assign(Object.create(w.store), {
    retire: (...args: Parameters<SlotStore['retire']>) => {
      retires.push(`${args[0]}/${args[1]}`);
      return w.store.retire(...args);
    },
  });
  return { w, retires, deps: { ...w.deps, store } };
}

async function retiredEverywhere(w: World, id: string) {
  return Promise.all(['web', 'api'].map((b) => w.store.isRetired(b, id)));
}

describe('retiring a leaving instance', () => {
  it('writes one tombstone per backend for a terminate, however many backends it drains', async () => {
    const { w, retires, deps } = await world();
    const out = await handleLifecycle({ transition: 'terminate', ref: w.ref('i-1'), until: FAR }, w.config, deps);
    expect(out.completion).toBe('CONTINUE');
    expect(retires.sort()).toEqual(['api/i-1', 'web/i-1']);
    expect(await retiredEverywhere(w, 'i-1')).toEqual([true, true]);
  });

  it('writes one tombstone per backend for a Spot interruption warning', async () => {
    const { w, retires, deps } = await world();
    const notice = {
      kind: 'spot-interruption',
      instanceId: 'i-2',
      action: 'terminate',
      actionAt: w.clock.now() + 120_000,
    };
    const out = await handleInstanceNotice(
      { notice, until: FAR } as Parameters<typeof handleInstanceNotice>[0],
      w.config,
      deps,
    );
    expect(out.effect).toBe('leaving');
    expect(retires.sort()).toEqual(['api/i-2', 'web/i-2']);
    expect(await retiredEverywhere(w, 'i-2')).toEqual([true, true]);
  });
});
