// syncWithAutoScaling with in-memory ports: the table follows the groups for members the Auto Scaling path owns only.
import { describe, expect, it } from 'vitest';
import { syncWithAutoScaling } from '../../../functions/lib/services/asg-sync.js';
import { registerMember } from '../../../functions/lib/services/register.js';
import { fakeWorld, type World } from '../../support/fakes/world.js';

const FAR = Number.MAX_SAFE_INTEGER;

async function registered(w: World, id: string, address: string, owner: 'asg' | 'webhook') {
  const member = w.member(id, address);
  return (await registerMember({ backend: w.backend(), member, owner, until: FAR }, w.config, w.deps)).slot;
}

describe('syncWithAutoScaling', () => {
  it('drains an ASG member its group no longer has, and never touches a deploy tool’s member', async () => {
    const w = fakeWorld();
    await w.seed();
    await registered(w, 'i-gone', '10.0.0.1', 'asg');
    await registered(w, 'i-kept', '10.0.0.2', 'asg');
    await registered(w, 'm-hook', '10.0.0.3', 'webhook');
    w.lifecycle.setGroup('asg-web', ['i-kept']);
    const report = await syncWithAutoScaling(w.config, w.deps, FAR);
    expect(report.deregistered).toEqual([{ backend: 'web', member: 'i-gone', status: 'released' }]);
    expect(report.registered).toEqual([]);
    expect(await w.store.findByMember('web', 'i-gone')).toBeUndefined();
    expect(await w.store.findByMember('web', 'i-kept')).toMatchObject({ state: 'active' });
    expect(await w.store.findByMember('web', 'm-hook')).toMatchObject({ state: 'active' });
  });

  it('registers an in-service instance that holds no slot (a lost launch event)', async () => {
    const w = fakeWorld();
    await w.seed();
    w.instances.add('i-new', '10.0.0.7');
    w.lifecycle.setGroup('asg-web', ['i-new']);
    const report = await syncWithAutoScaling(w.config, w.deps, FAR);
    const slot = report.registered[0]?.slot ?? '';
    expect(report.registered).toEqual([{ backend: 'web', member: 'i-new', slot }]);
    for (const h of w.fleet.hosts)
      expect(w.fleet.slot(h, 'web', slot)).toMatchObject({ address: '10.0.0.7', admin: 'ready' });
  });

  it('skips instances it cannot register: no address, retired, or no free slot', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', slots: 1 }] });
    await w.seed();
    w.instances.add('i-retired', '10.0.0.2');
    await w.store.retire('web', 'i-retired', w.clock.now() + 60_000);
    w.instances.add('i-a', '10.0.0.3');
    w.instances.add('i-b', '10.0.0.4');
    w.lifecycle.setGroup('asg-web', ['i-noaddr', 'i-retired', 'i-a', 'i-b']);
    const report = await syncWithAutoScaling(w.config, w.deps, FAR);
    expect(report.registered.map((r) => r.member)).toEqual(['i-a']);
    expect(report.skipped).toEqual([
      { backend: 'web', member: 'i-noaddr', reason: 'no private address' },
      { backend: 'web', member: 'i-retired', reason: 'retired' },
      { backend: 'web', member: 'i-b', reason: 'no free slot' },
    ]);
  });

  it('leaves a backend without Auto Scaling groups alone', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', autoScalingGroups: [] }] });
    await w.seed();
    await registered(w, 'i-1', '10.0.0.1', 'asg');
    const report = await syncWithAutoScaling(w.config, w.deps, FAR);
    expect(report).toEqual({ registered: [], deregistered: [], skipped: [] });
    expect(await w.store.findByMember('web', 'i-1')).toMatchObject({ state: 'active' });
  });
});
