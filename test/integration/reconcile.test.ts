// The reconcile service against 3 real HAProxy hosts and DynamoDB Local: restarts, dead hosts, idempotent passes.
// Every test starts its own hosts and table and builds the state it needs: none depends on another.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../bin/harness/haproxy.js';
import { type BackendConfig, type ConfigDocument, parseConfig } from '../../functions/lib/config.js';
import { setAddr, setWeight } from '../../functions/lib/domain/commands.js';
import type { HostObservation, SlotRecord } from '../../functions/lib/domain/types.js';
import type { ServiceDeps } from '../../functions/lib/services/deps.js';
import { reconcile } from '../../functions/lib/services/reconcile.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import { createDeps } from '../../functions/shared/compose.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { storeOps } from '../support/store-ops.js';

const BACKENDS = [
  { name: 'web', slotPrefix: 'web', port: 8080, drainSeconds: 60 },
  { name: 'api', slotPrefix: 'api', port: 9090, drainSeconds: 60 },
];

/** One test's own world: 3 fresh HAProxy hosts on fresh ports and a fresh slot table. No test sees another's. */
interface Stand {
  readonly hosts: HaproxyHandle[];
  readonly store: DynamoDbSlotStore;
  readonly ops: ReturnType<typeof storeOps>;
  readonly deps: ServiceDeps;
  readonly config: ConfigDocument;
  readonly backends: readonly BackendConfig[];
}

let ddb: DynamoDbLocal;
let n = 0;
const stands: Stand[] = [];

/** Differences between what a host reports and what the table wants, per slot (empty = the host equals the table). */
function differences(observation: HostObservation, tables: Record<string, readonly SlotRecord[]>): string[] {
  if (!observation.ok) return [`${observation.host} unreachable`];
  const out: string[] = [];
  for (const [backend, slots] of Object.entries(tables)) {
    const seen = new Map((observation.backends.get(backend) ?? []).map((s) => [s.server, s]));
    for (const slot of slots) {
      const o = seen.get(slot.slot);
      if (!o) out.push(`${backend}/${slot.slot} missing`);
      else if (slot.state === 'free' && o.admin !== 'maint') out.push(`${backend}/${slot.slot} free but ${o.admin}`);
      else if (slot.state === 'draining' && o.admin !== 'drain')
        out.push(`${backend}/${slot.slot} draining but ${o.admin}`);
      else if (slot.state === 'active') {
        const got = `${o.address}:${o.port} w${o.weight} ${o.admin}`;
        const want = `${slot.address}:${slot.port} w${slot.weight} ready`;
        if (got !== want) out.push(`${backend}/${slot.slot} ${got} != ${want}`);
      }
    }
  }
  return out;
}

async function tables(s: Stand) {
  return Object.fromEntries(
    await Promise.all(s.backends.map(async (b) => [b.name, await s.store.list(b.name)] as const)),
  );
}

async function standUp(): Promise<Stand> {
  const { slotTable } = await ddb.createTables(`rc${process.pid}-${++n}`);
  const hosts = await startFleet(
    3,
    {
      backends: [
        { name: 'web', slotPrefix: 'web', slots: 8 },
        { name: 'api', slotPrefix: 'api', slots: 4 },
      ],
    },
    `rc${n}-hap`,
  );
  const store = new DynamoDbSlotStore({ tableName: slotTable, client: ddb.client });
  const config = parseConfig({
    hosts: hosts.map((h) => h.hostConfig()),
    backends: BACKENDS,
    timeouts: { connectMs: 500, commandMs: 3_000, planTtlMs: 1_000, clockSkewMs: 0 },
  });
  const deps = { ...createDeps({ config, env: { SLOT_TABLE: slotTable }, clients: { dynamodb: ddb.client } }), store };
  const s = { hosts, store, ops: storeOps(store), deps, config, backends: config.backends };
  stands.push(s);
  return s;
}

/** A pass, as the schedule runs one. */
const pass = (s: Stand) => reconcile({ backends: s.backends, until: Date.now() + 10_000 }, s.config, s.deps);

/** The table seeded by a first pass, then members as the lifecycle handler would add them (the hosts not told yet). */
async function withMembers(): Promise<Stand> {
  const s = await standUp();
  await pass(s);
  await s.ops.claim('web', { id: 'i-0a', address: '127.0.0.41', port: 8080 }, 1);
  await s.ops.claim('web', { id: 'i-0b', address: '127.0.0.42', port: 8080 }, 5);
  await s.ops.claim('web', { id: 'i-0c', address: '127.0.0.43', port: 8080 }, 1);
  await s.ops.claim('api', { id: 'i-0a', address: '127.0.0.41', port: 9090 }, 2);
  return s;
}

/** Every host of the stand equals the table. */
async function expectInStep(s: Stand, only?: readonly number[]) {
  const t = await tables(s);
  const observed = await s.deps.fleet.observe(s.backends.map((b) => b.name));
  for (const [i, o] of observed.entries()) if (!only || only.includes(i)) expect(differences(o, t)).toEqual([]);
}

/** Host 2 dies; a drain starts, host 0 drifts behind the table's back, and a member arrives: one pass over the rest. */
async function withDeadHost() {
  const s = await withMembers();
  await pass(s);
  await s.hosts[2]?.kill('SIGKILL');
  await s.ops.drain('web', 'i-0c', Date.now() + 600_000);
  const web2 = (await s.store.findByMember('web', 'i-0b'))?.slot ?? '';
  await s.deps.fleet.run([{ host: s.hosts[0]?.name ?? '', commands: [setWeight('web', web2, 77)] }]);
  await s.ops.claim('web', { id: 'i-0d', address: '127.0.0.44', port: 8080 }, 1);
  return { s, report: await pass(s) };
}

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
}, 60_000);

afterEach(async () => {
  await stopAll(stands.splice(0).flatMap((s) => s.hosts));
});

afterAll(async () => {
  await ddb?.stop();
});

describe('reconcile pass', () => {
  it('seeds the table with every slot the hosts agree on', async () => {
    const s = await standUp();
    const report = await pass(s);
    expect(report.seeded).toEqual([
      { backend: 'web', created: ['web1', 'web2', 'web3', 'web4', 'web5', 'web6', 'web7', 'web8'] },
      { backend: 'api', created: ['api1', 'api2', 'api3', 'api4'] },
    ]);
    const t = await tables(s);
    expect(t.web?.map((r) => r.slot)).toEqual(['web1', 'web2', 'web3', 'web4', 'web5', 'web6', 'web7', 'web8']);
    expect(t.api?.map((r) => r.slot)).toEqual(['api1', 'api2', 'api3', 'api4']);
  });

  it('programs every host to the table in one pass, and a second pass right after sends nothing', async () => {
    const s = await withMembers();
    const first = await pass(s);
    expect(first.failures).toEqual([]);
    expect(first.hosts.every((h) => h.commandsSent > 0)).toBe(true);
    await expectInStep(s);
    const second = await pass(s);
    expect(second.hosts.map((h) => h.commandsSent)).toEqual([0, 0, 0]);
    expect(second.drift).toEqual([]);
  });

  it('re-programs a restarted host (runtime state lost) in one pass and touches no other host', async () => {
    const s = await withMembers();
    await pass(s);
    await s.hosts[1]?.restart();
    const before = await s.deps.fleet.observe(s.backends.map((b) => b.name));
    expect(differences(before[1] as HostObservation, await tables(s)).length).toBeGreaterThan(0);
    const report = await pass(s);
    expect(report.hosts.map((h) => h.commandsSent > 0)).toEqual([false, true, false]);
    await expectInStep(s);
    expect((await pass(s)).hosts.map((h) => h.commandsSent)).toEqual([0, 0, 0]);
  });

  it('moves a slot a host serves at another address back to its member in one pass (MAINT first)', async () => {
    const s = await withMembers();
    await pass(s);
    const web1 = (await s.store.findByMember('web', 'i-0a'))?.slot ?? '';
    const host = s.hosts[1]?.name ?? '';
    await s.deps.fleet.run([{ host, commands: [setAddr('web', web1, '127.0.0.99', 8080)] }]);
    const report = await pass(s);
    expect(report.failures).toEqual([]);
    expect(report.drift).toEqual([expect.objectContaining({ host, backend: 'web', slot: web1, kind: 'address' })]);
    expect(report.rounds).toBeGreaterThan(1);
    await expectInStep(s);
    expect((await pass(s)).hosts.map((h) => h.commandsSent)).toEqual([0, 0, 0]);
  });

  it('converges the live hosts and names the dead one when a host is down', async () => {
    const { s, report } = await withDeadHost();
    expect(report.failures).toEqual([{ host: s.hosts[2]?.name, reason: expect.stringMatching(/cannot connect/) }]);
    expect(report.hosts[2]).toMatchObject({ ok: false, commandsSent: 0, error: { code: 'HOST_UNREACHABLE' } });
    await expectInStep(s, [0, 1]);
    // The dead host's sessions are unknown, so a drain waits for its deadline instead of finishing early.
    expect(report.releases).toEqual([]);
    expect((await s.store.findByMember('web', 'i-0c'))?.state).toBe('draining');
  });

  it('brings a host that comes back to the table in one pass, and then finishes the drain it was holding up', async () => {
    const { s } = await withDeadHost();
    await s.hosts[2]?.restart();
    const report = await pass(s);
    expect(report.failures).toEqual([]);
    // Every host answers and reports 0 sessions for i-0c: its drain is over without waiting for the deadline.
    expect(report.releases).toEqual([
      expect.objectContaining({ backend: 'web', member: 'i-0c', reason: 'drained', released: true }),
    ]);
    expect(await s.store.findByMember('web', 'i-0c')).toBeUndefined();
    // The released slot went to maint in that same pass; the next pass finds nothing to do.
    await expectInStep(s);
    expect((await pass(s)).hosts.map((h) => h.commandsSent)).toEqual([0, 0, 0]);
  });
});
