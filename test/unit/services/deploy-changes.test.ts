// applyDeploy with in-memory ports: desired sets that leave ASG members alone (case 6), the time budget (case 8), and
// requests checked whole against the machine before the first write.
import { describe, expect, it } from 'vitest';
import type { HostBatch, Member } from '../../../functions/lib/domain/types.js';
import {
  NoFreeSlotError,
  NotFoundError,
  RequestRefusedError,
  StoreUnavailableError,
  ValidationError,
} from '../../../functions/lib/errors.js';
import type { HaproxyFleet } from '../../../functions/lib/ports.js';
import { applyDeploy, type DeployRequest, type MemberChange } from '../../../functions/lib/services/deploy-changes.js';
import { registerMember } from '../../../functions/lib/services/register.js';
import { fakeWorld, type World } from '../../support/fakes/world.js';

const FAR = Number.MAX_SAFE_INTEGER;

function deploy(w: World, request: DeployRequest, until = FAR) {
  return applyDeploy(request, w.config, w.deps, { until });
}

const changes = (...list: MemberChange[]): DeployRequest => ({ kind: 'changes', changes: list });

async function asgMember(w: World, id: string, address: string) {
  const member = w.member(id, address);
  await registerMember({ backend: w.backend(), member, owner: 'asg', until: FAR }, w.config, w.deps);
}

describe('applyDeploy', () => {
  it('answers a deregister while one host cuts every batch: the others drain, then MAINT, and never go back', async () => {
    // hap1 answers every look but drops each batch's connection, the look that shares it (the read-back) included.
    const w = fakeWorld({ backends: [{ name: 'web', drainSeconds: 1 }] });
    await w.seed();
    const m = w.member('m-1', '10.0.0.1');
    const { slot } = await registerMember(
      { backend: w.backend(), member: m, owner: 'webhook', until: FAR },
      w.config,
      w.deps,
    );
    const fleet = w.deps.fleet;
    const cut = { code: 'PROTOCOL_ERROR', message: 'hap1: peer closed the connection after 0 of 2 replies' };
    let inBatch = false;
    const flapping = Object.assign(Object.create(fleet), {
      run: async (batches: readonly HostBatch[]) => {
        inBatch = true;
        const out = await fleet.run(batches.filter((b) => b.host !== 'hap1'));
        inBatch = false;
        const dropped = batches.filter((b) => b.host === 'hap1');
        return [...out, ...dropped.map((b) => ({ host: b.host, ok: false, replies: [], error: cut }))];
      },
      observe: async (...args: Parameters<HaproxyFleet['observe']>) => {
        const shared = inBatch;
        const out = await fleet.observe(...args);
        return shared ? out.map((o) => (o.host === 'hap1' ? { host: o.host, ok: false, error: cut } : o)) : out;
      },
    });
    const request = changes({ action: 'deregister', backend: 'web', member: m });
    const sentBefore = w.fleet.sent.length;
    const out = await applyDeploy(request, w.config, { ...w.deps, fleet: flapping }, { until: w.clock.now() + 2_500 });
    expect(out.nothingApplied).toBe(false);
    expect(out.results[0]).toMatchObject({ status: 'draining' });
    expect(out.results[0]?.hosts.map((h) => [h.host, h.ok])).toEqual([
      ['hap1', false],
      ['hap2', true],
      ['hap3', true],
    ]);
    // Each good host: DRAIN, then MAINT once the drain is over, and never DRAIN again while hap1 keeps failing.
    for (const h of ['hap2', 'hap3']) {
      const lines = w.fleet.sent.slice(sentBefore).flatMap((b) => (b.host === h ? b.lines : []));
      expect(lines).toEqual([`set server web/${slot} state drain`, `set server web/${slot} state maint`]);
    }
    // hap1 still serves the member: the slot is not freed.
    expect(w.fleet.serving('hap1', 'web')).toEqual([slot]);
    expect(await w.store.get('web', slot)).toMatchObject({ state: 'draining', member: 'm-1' });
  });

  it('answers a deregister no host could take as draining, not as nothing applied: the table recorded the drain', async () => {
    const w = fakeWorld();
    await w.seed();
    const m = w.member('m-1', '10.0.0.1');
    await registerMember({ backend: w.backend(), member: m, owner: 'webhook', until: FAR }, w.config, w.deps);
    for (const h of w.fleet.hosts) w.fleet.setMode(h, 'down');
    const out = await deploy(w, changes({ action: 'deregister', backend: 'web', member: m }), w.clock.now() + 2_000);
    expect(out.nothingApplied).toBe(false);
    expect(out.results).toEqual([
      expect.objectContaining({ action: 'deregister', status: 'draining', hosts: expect.any(Array) }),
    ]);
    expect(out.results[0]?.hosts.every((h) => !h.ok)).toBe(true);
    expect(await w.store.findByMember('web', 'm-1')).toMatchObject({ state: 'draining', drainReason: 'deregister' });
  });

  it('answers a weight the table recorded but the hosts never got as partial, with why, not as an error', async () => {
    const w = fakeWorld();
    const m = w.member('m-1', '10.0.0.1');
    await asgMember(w, 'm-1', '10.0.0.1');
    // The write lands; the read converge plans from (throttled past the SDK's retries) does not.
    w.store.failNext('getMany', new StoreUnavailableError('batch get web (1 slots): ThrottlingException'));
    const out = await deploy(w, changes({ action: 'weight', backend: 'web', member: m, weight: 9 }));
    expect(out.nothingApplied).toBe(false);
    expect(out.results).toEqual([
      expect.objectContaining({
        action: 'weight',
        status: 'partial',
        hosts: [],
        error: {
          code: 'STORE_UNAVAILABLE',
          message: expect.stringMatching(
            /^recorded in the table, but converging the hosts failed \(batch get .*reconcile/,
          ),
        },
      }),
    ]);
    const record = await w.store.findByMember('web', 'm-1');
    expect(record?.weight).toBe(9);
    expect(w.fleet.hosts.map((h) => w.fleet.slot(h, 'web', record?.slot ?? '').weight)).toEqual([1, 1, 1]);
  });

  it('answers a register whose claim landed but whose converge failed as partial, naming its slot', async () => {
    const w = fakeWorld();
    await w.seed();
    const m = w.member('m-1', '10.0.0.1');
    // The claim is written; the table read of the loop's second round is throttled past the SDK's retries.
    w.store.failNext('getMany', new StoreUnavailableError('batch get web (1 slots): ThrottlingException'));
    const out = await deploy(w, changes({ action: 'register', backend: 'web', member: m }));
    const record = await w.store.findByMember('web', 'm-1');
    expect(record).toMatchObject({ state: 'active', address: '10.0.0.1' });
    expect(out.results).toEqual([
      expect.objectContaining({
        action: 'register',
        slot: record?.slot,
        status: 'partial',
        hosts: [],
        error: { code: 'STORE_UNAVAILABLE', message: expect.stringContaining('recorded in the table') },
      }),
    ]);
  });

  it('still fails a register that recorded nothing: its claim never landed', async () => {
    const w = fakeWorld();
    await w.seed();
    const m = w.member('m-1', '10.0.0.1');
    w.store.failNext('claim', new StoreUnavailableError('claim: ThrottlingException'));
    await expect(deploy(w, changes({ action: 'register', backend: 'web', member: m }))).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(await w.store.findByMember('web', 'm-1')).toBeUndefined();
  });

  it('registers members of a batch in order, a weight after its register included', async () => {
    const w = fakeWorld();
    const m = w.member('m-1', '10.0.0.1');
    const out = await deploy(
      w,
      changes(
        { action: 'register', backend: 'web', member: m },
        { action: 'weight', backend: 'web', member: m, weight: 9 },
      ),
    );
    expect(out.nothingApplied).toBe(false);
    expect(out.results.map((r) => [r.action, r.status])).toEqual([
      ['register', 'applied'],
      ['weight', 'applied'],
    ]);
    const slot = out.results[0]?.slot ?? '';
    expect(w.fleet.hosts.map((h) => w.fleet.slot(h, 'web', slot))).toEqual(
      Array(3).fill(expect.objectContaining({ address: '10.0.0.1', admin: 'ready', weight: 9 })),
    );
  });

  it('case 6: a desired member set leaves the Auto Scaling members of its backend alone', async () => {
    const w = fakeWorld();
    await w.seed();
    await asgMember(w, 'i-1', '10.0.0.1');
    const old = w.member('m-old', '10.0.0.2');
    await deploy(w, changes({ action: 'register', backend: 'web', member: old }));
    const fresh = w.member('m-new', '10.0.0.3');
    const out = await deploy(w, { kind: 'desired', backend: 'web', members: [fresh] });
    expect(out.results.map((r) => [r.action, r.member, r.status])).toEqual([
      ['deregister', 'm-old', 'released'],
      ['register', 'm-new', 'applied'],
    ]);
    expect(await w.store.findByMember('web', 'i-1')).toMatchObject({ state: 'active', owner: 'asg' });
    expect(await w.store.findByMember('web', 'm-new')).toMatchObject({ state: 'active', owner: 'webhook' });
    expect(await w.store.findByMember('web', 'm-old')).toBeUndefined();
  });

  it('moves a listed member to its new address, and sends nothing for one already in place', async () => {
    const w = fakeWorld();
    const a = w.member('m-a', '10.0.0.1');
    const b = w.member('m-b', '10.0.0.2');
    await deploy(w, { kind: 'desired', backend: 'web', members: [a, b] });
    const moved: Member = { ...b, address: '10.0.0.9' };
    const out = await deploy(w, { kind: 'desired', backend: 'web', members: [a, moved] });
    expect(out.results.map((r) => [r.member, r.status])).toEqual([['m-b', 'moved']]);
    expect(await w.store.findByMember('web', 'm-b')).toMatchObject({ address: '10.0.0.9' });
  });

  it('case 8: against a slow host, answers every change within the budget, the rest not-attempted, in order', async () => {
    const w = fakeWorld({ hosts: ['hap1', 'slow'] });
    const m = w.member('m-1', '10.0.0.1');
    await deploy(w, changes({ action: 'register', backend: 'web', member: m }));
    w.fleet.setMode('slow', 'silent');
    const list = Array.from({ length: 500 }, (_, i) => ({
      action: 'weight' as const,
      backend: 'web',
      member: m,
      weight: 1 + (i % 9),
    }));
    const until = w.clock.now() + 10_000;
    const out = await deploy(w, changes(...list), until);
    expect(out.results).toHaveLength(500);
    expect(out.nothingApplied).toBe(false);
    const attempted = out.results.filter((r) => r.status !== 'not-attempted');
    expect(attempted.length).toBeGreaterThan(0);
    expect(attempted.length).toBeLessThan(500);
    for (const r of attempted) {
      expect(r.status).toBe('partial');
      expect(r.hosts.map((h) => [h.host, h.ok])).toEqual([
        ['hap1', true],
        ['slow', false],
      ]);
    }
    const firstSkipped = out.results.findIndex((r) => r.status === 'not-attempted');
    expect(out.results.slice(firstSkipped).every((r) => r.status === 'not-attempted')).toBe(true);
    // No change starts without a full command deadline left: the request ends within one change of its budget.
    expect(w.clock.now()).toBeLessThanOrEqual(until + 2 * w.config.timeouts.commandMs);
    const last = attempted.at(-1) as { member: string };
    expect(last.member).toBe('m-1');
    expect(w.fleet.slot('hap1', 'web', out.results[0]?.slot ?? '').weight).toBe(1 + ((attempted.length - 1) % 9));
  });

  it('case 8: answers nothing-applied, with every change not-attempted, when the budget allows none', async () => {
    const w = fakeWorld();
    const m = w.member('m-1', '10.0.0.1');
    await deploy(w, changes({ action: 'register', backend: 'web', member: m }));
    const before = await w.store.list('web');
    const weight = { action: 'weight' as const, backend: 'web', member: m, weight: 42 };
    const out = await deploy(w, changes(weight, weight), w.clock.now() + w.config.timeouts.commandMs - 1);
    expect(out).toMatchObject({ nothingApplied: true });
    expect(out.results.map((r) => r.status)).toEqual(['not-attempted', 'not-attempted']);
    expect(await w.store.list('web')).toEqual(before);
  });

  it('refuses a whole batch when one change is refused, and writes nothing', async () => {
    const w = fakeWorld();
    await w.seed();
    const leaving = w.member('m-1', '10.0.0.1');
    await deploy(w, changes({ action: 'register', backend: 'web', member: leaving }));
    const now = w.clock.now();
    await w.store.apply('web', { member: 'm-1' }, { kind: 'deregister', now, deadline: now + 60_000 });
    const before = await w.store.list('web');
    const sent = w.fleet.sent.length;
    const request = changes(
      { action: 'register', backend: 'web', member: w.member('m-2', '10.0.0.2') },
      { action: 'ready', backend: 'web', member: leaving },
    );
    const refused = deploy(w, request);
    await expect(refused).rejects.toBeInstanceOf(RequestRefusedError);
    await expect(refused).rejects.toMatchObject({ refusals: [{ index: 1, code: 'MEMBER_LEAVING' }] });
    expect(await w.store.list('web')).toEqual(before);
    expect(w.fleet.sent).toHaveLength(sent);
  });

  it('answers a single refused change with its own error', async () => {
    const w = fakeWorld();
    await w.seed();
    const request = changes({ action: 'weight', backend: 'web', member: w.member('m-9', '10.0.0.9'), weight: 2 });
    await expect(deploy(w, request)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses more new members than free slots before writing anything', async () => {
    const w = fakeWorld({ backends: [{ name: 'web', slots: 1 }] });
    await w.seed();
    const request = changes(
      { action: 'register', backend: 'web', member: w.member('m-1', '10.0.0.1') },
      { action: 'register', backend: 'web', member: w.member('m-2', '10.0.0.2') },
    );
    await expect(deploy(w, request)).rejects.toBeInstanceOf(NoFreeSlotError);
    expect((await w.store.list('web')).map((s) => s.state)).toEqual(['free']);
  });

  it('rejects a backend the config does not have', async () => {
    const w = fakeWorld();
    const request = changes({ action: 'register', backend: 'nope', member: w.member('m-1', '10.0.0.1') });
    await expect(deploy(w, request)).rejects.toBeInstanceOf(ValidationError);
  });

  it('refuses only the change a terminate overtook between the check and its turn', async () => {
    const w = fakeWorld();
    await w.seed();
    const a = w.member('i-a', '10.0.0.1');
    const b = w.member('i-b', '10.0.0.2');
    await asgMember(w, 'i-a', '10.0.0.1');
    await asgMember(w, 'i-b', '10.0.0.2');
    const slotA = (await w.store.findByMember('web', 'i-a'))?.slot;
    let raced = false;
    w.store.beforeWrite = async (at) => {
      if (raced || at.slot !== slotA) return;
      raced = true;
      const now = w.clock.now();
      await w.store.apply('web', { member: 'i-b' }, { kind: 'terminate', now, deadline: now + 60_000 });
    };
    const out = await deploy(
      w,
      changes(
        { action: 'weight', backend: 'web', member: a, weight: 3 },
        { action: 'weight', backend: 'web', member: b, weight: 3 },
      ),
    );
    expect(out.results.map((r) => [r.member, r.status, r.error?.code])).toEqual([
      ['i-a', 'applied', undefined],
      ['i-b', 'refused', 'MEMBER_LEAVING'],
    ]);
    expect(await w.store.findByMember('web', 'i-b')).toMatchObject({ state: 'draining', weight: 1 });
  });
});
