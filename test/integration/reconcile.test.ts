// The reconcile service against 3 real HAProxy hosts and DynamoDB Local: restarts, dead hosts, idempotent passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../bin/harness/haproxy.js';
import { type BackendConfig, type ConfigDocument, parseConfig } from '../../functions/lib/config.js';
import { setWeight } from '../../functions/lib/domain/commands.js';
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
let config: ConfigDocument;
let backends: readonly BackendConfig[];

let ddb: DynamoDbLocal;
let hosts: HaproxyHandle[];
let store: DynamoDbSlotStore;
let ops: ReturnType<typeof storeOps>;
let deps: ServiceDeps;

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

async function tables() {
  return Object.fromEntries(await Promise.all(backends.map(async (b) => [b.name, await store.list(b.name)] as const)));
}

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
  const { slotTable } = await ddb.createTables(`rc${Date.now()}`);
  hosts = await startFleet(3, {
    backends: [
      { name: 'web', slotPrefix: 'web', slots: 8 },
      { name: 'api', slotPrefix: 'api', slots: 4 },
    ],
  });
  store = new DynamoDbSlotStore({ tableName: slotTable, client: ddb.client });
  ops = storeOps(store);
  config = parseConfig({
    hosts: hosts.map((h) => h.hostConfig()),
    backends: BACKENDS,
    timeouts: { connectMs: 500, commandMs: 3_000, planTtlMs: 1_000, clockSkewMs: 0 },
  });
  backends = config.backends;
  deps = { ...createDeps({ config, env: { SLOT_TABLE: slotTable }, clients: { dynamodb: ddb.client } }), store };
  // First pass seeds the table from the hosts' slot names; then members arrive as the lifecycle handler would add them.
  await reconcile({ backends, until: Date.now() + 10_000 }, config, deps);
  await ops.claim('web', { id: 'i-0a', address: '127.0.0.41', port: 8080 }, 1);
  await ops.claim('web', { id: 'i-0b', address: '127.0.0.42', port: 8080 }, 5);
  await ops.claim('web', { id: 'i-0c', address: '127.0.0.43', port: 8080 }, 1);
  await ops.claim('api', { id: 'i-0a', address: '127.0.0.41', port: 9090 }, 2);
}, 60_000);

afterAll(async () => {
  await stopAll(hosts);
  ddb?.client.destroy();
  await ddb?.stop();
});

describe('reconcile pass', () => {
  it('seeds the table with every slot the hosts agree on', async () => {
    const t = await tables();
    expect(t.web?.map((s) => s.slot)).toEqual(['web1', 'web2', 'web3', 'web4', 'web5', 'web6', 'web7', 'web8']);
    expect(t.api?.map((s) => s.slot)).toEqual(['api1', 'api2', 'api3', 'api4']);
  });

  it('programs every host to the table in one pass, and a second pass right after sends nothing', async () => {
    const first = await reconcile({ backends, until: Date.now() + 10_000 }, config, deps);
    expect(first.failures).toEqual([]);
    expect(first.hosts.every((h) => h.commandsSent > 0)).toBe(true);
    const t = await tables();
    for (const o of await deps.fleet.observe(backends.map((b) => b.name))) expect(differences(o, t)).toEqual([]);
    const second = await reconcile({ backends, until: Date.now() + 10_000 }, config, deps);
    expect(second.hosts.map((h) => h.commandsSent)).toEqual([0, 0, 0]);
    expect(second.drift).toEqual([]);
  });

  it('re-programs a restarted host (runtime state lost) in one pass and touches no other host', async () => {
    await hosts[1]?.restart();
    const t = await tables();
    const before = await deps.fleet.observe(backends.map((b) => b.name));
    expect(differences(before[1] as HostObservation, t).length).toBeGreaterThan(0);
    const report = await reconcile({ backends, until: Date.now() + 10_000 }, config, deps);
    expect(report.hosts.map((h) => h.commandsSent > 0)).toEqual([false, true, false]);
    for (const o of await deps.fleet.observe(backends.map((b) => b.name))) expect(differences(o, t)).toEqual([]);
    expect(
      (await reconcile({ backends, until: Date.now() + 10_000 }, config, deps)).hosts.map((h) => h.commandsSent),
    ).toEqual([0, 0, 0]);
  });

  it('converges the live hosts and names the dead one when a host is down', async () => {
    await hosts[2]?.kill('SIGKILL');
    await ops.drain('web', 'i-0c', Date.now() + 600_000);
    // Drift behind the table's back on host 1, and a new member the hosts have not heard of.
    const web2 = (await store.findByMember('web', 'i-0b'))?.slot ?? '';
    await deps.fleet.run([{ host: hosts[0]?.name ?? '', commands: [setWeight('web', web2, 77)] }]);
    await ops.claim('web', { id: 'i-0d', address: '127.0.0.44', port: 8080 }, 1);
    const report = await reconcile({ backends, until: Date.now() + 10_000 }, config, deps);
    expect(report.failures).toEqual([{ host: hosts[2]?.name, reason: expect.stringMatching(/cannot connect/) }]);
    expect(report.hosts[2]).toMatchObject({ ok: false, commandsSent: 0, error: { code: 'HOST_UNREACHABLE' } });
    const t = await tables();
    const after = await deps.fleet.observe(backends.map((b) => b.name));
    expect(differences(after[0] as HostObservation, t)).toEqual([]);
    expect(differences(after[1] as HostObservation, t)).toEqual([]);
    // The dead host's sessions are unknown, so a drain waits for its deadline instead of finishing early.
    expect(report.releases).toEqual([]);
    expect((await store.findByMember('web', 'i-0c'))?.state).toBe('draining');
  });

  it('brings a host that comes back to the table in one pass, and then finishes the drain it was holding up', async () => {
    await hosts[2]?.restart();
    const report = await reconcile({ backends, until: Date.now() + 10_000 }, config, deps);
    expect(report.failures).toEqual([]);
    // Every host answers and reports 0 sessions for i-0c: its drain is over without waiting for the deadline.
    expect(report.releases).toEqual([
      expect.objectContaining({ backend: 'web', member: 'i-0c', reason: 'drained', released: true }),
    ]);
    expect(await store.findByMember('web', 'i-0c')).toBeUndefined();
    // The released slot went to maint in that same pass; the next pass finds nothing to do.
    const t = await tables();
    for (const o of await deps.fleet.observe(backends.map((b) => b.name))) expect(differences(o, t)).toEqual([]);
    expect(
      (await reconcile({ backends, until: Date.now() + 10_000 }, config, deps)).hosts.map((h) => h.commandsSent),
    ).toEqual([0, 0, 0]);
  });
});
