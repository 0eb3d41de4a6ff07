// Reconcile benchmark fixture: H real HAProxy hosts × B backends × S slots, a populated table, and seeded random drift.

import { type DynamoDbLocal, startDynamoDbLocal } from '../bin/harness/dynamodb-local.js';
import { type HaproxyHandle, startFleet, stopAll } from '../bin/harness/haproxy.js';
import { type BackendConfig, type ConfigDocument, parseConfig } from '../functions/lib/config.js';
import { type Command, setAddr, setState, setWeight } from '../functions/lib/domain/commands.js';
import type { SlotRecord } from '../functions/lib/domain/types.js';
import { renderCommand } from '../functions/lib/haproxy/commands.js';
import { createFleet } from '../functions/lib/haproxy/fleet.js';
import { sendBatch } from '../functions/lib/haproxy/transport.js';
import type { HaproxyFleet } from '../functions/lib/ports.js';
import type { ServiceDeps } from '../functions/lib/services/deps.js';
import { DynamoDbSlotStore } from '../functions/lib/slots/dynamodb-store.js';
import { slotNamesFromHosts } from '../functions/lib/slots/seed.js';
import { createDeps } from '../functions/shared/compose.js';
import { seededRandom } from '../test/support/random.js';

/** Size of one reconcile scenario. */
export interface ReconcileShape {
  readonly hosts: number;
  readonly backends: number;
  readonly slotsPerBackend: number;
  /** Share of slots that hold a member (the rest are free). */
  readonly occupancy: number;
}

/** A running scenario: hosts, DynamoDB Local with a populated table, and undecorated ports over them. */
export interface ReconcileFixture {
  readonly backends: readonly BackendConfig[];
  readonly config: Readonly<ConfigDocument>;
  readonly store: DynamoDbSlotStore;
  readonly fleet: HaproxyFleet;
  readonly statsPorts: ReadonlyMap<string, number>;
  readonly deps: ServiceDeps;
  stop(): Promise<void>;
}

const MEMBER_PORT = 8080;
const CLAIM_CONCURRENCY = 16;

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function inPool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Starts the hosts and DynamoDB Local, seeds the table from the hosts and gives `occupancy` of the slots a member. */
export async function startReconcileFixture(shape: ReconcileShape): Promise<ReconcileFixture> {
  const specs = Array.from({ length: shape.backends }, (_, b) => ({
    name: `be${b + 1}`,
    slotPrefix: `s${b + 1}x`,
    slots: shape.slotsPerBackend,
  }));
  let hosts: HaproxyHandle[] = [];
  let ddb: DynamoDbLocal | undefined;
  try {
    [hosts, ddb] = await Promise.all([startFleet(shape.hosts, { backends: specs }, 'rc-hap'), startDynamoDbLocal()]);
    const { slotTable } = await ddb.createTables(`rc${Date.now()}`);
    const store = new DynamoDbSlotStore({ tableName: slotTable, client: ddb.client });
    const config = parseConfig({
      hosts: hosts.map((h) => h.hostConfig()),
      backends: specs.map((s) => ({ name: s.name, slotPrefix: s.slotPrefix, port: MEMBER_PORT })),
      timeouts: { connectMs: 1_000, commandMs: 30_000 },
    });
    const fleet = createFleet(config);
    const backends = config.backends;
    const observed = await fleet.observe(backends.map((b) => b.name));
    const claims: Array<{ backend: string; id: string; address: string; weight: number }> = [];
    for (const [b, backend] of backends.entries()) {
      const names = slotNamesFromHosts(observed, backend.name, backend.slotPrefix).names;
      if (names.length !== shape.slotsPerBackend)
        throw new Error(`${backend.name}: hosts report ${names.length} slots`);
      await store.seed(backend.name, names);
      const members = Math.round(shape.slotsPerBackend * shape.occupancy);
      for (let i = 0; i < members; i++) {
        claims.push({
          backend: backend.name,
          id: `m-${b + 1}-${i + 1}`,
          address: `127.0.${b + 1}.${i + 1}`,
          weight: 1 + (i % 3),
        });
      }
    }
    await inPool(claims, CLAIM_CONCURRENCY, (c) =>
      store.claim(
        c.backend,
        { id: c.id, address: c.address, port: MEMBER_PORT },
        { weight: c.weight, owner: 'webhook' },
      ),
    );
    const deps: ServiceDeps = {
      ...createDeps({ config, env: { SLOT_TABLE: slotTable }, clients: { dynamodb: ddb.client }, fleet }),
      store,
    };
    const statsPorts = new Map(hosts.map((h) => [h.name, h.statsPort]));
    const running = { hosts, ddb };
    return {
      backends,
      config,
      store,
      fleet,
      statsPorts,
      deps,
      async stop() {
        await stopAll(running.hosts);
        await running.ddb.stop();
      },
    };
  } catch (error) {
    await stopAll(hosts);
    await ddb?.stop();
    throw error;
  }
}

/**
 * Picks `share` of each host's slots at random and builds, per host, the commands that make them differ from the
 * table behind its back: another address, another weight, maint or drain for an active slot; ready for a free one.
 */
export function driftCommands(
  hosts: readonly string[],
  records: readonly SlotRecord[],
  share: number,
  seed: number,
): Map<string, Command[]> {
  const random = seededRandom(seed);
  const out = new Map<string, Command[]>();
  const count = Math.round(records.length * share);
  for (const host of hosts) {
    const pool = [...records];
    const commands: Command[] = [];
    for (let i = 0; i < count; i++) {
      const [r] = pool.splice(Math.floor(random() * pool.length), 1) as [SlotRecord];
      if (r.state !== 'active' || r.address === undefined || r.port === undefined) {
        commands.push(setState(r.backend, r.slot, 'ready'));
        continue;
      }
      const kind = Math.floor(random() * 4);
      if (kind === 0) commands.push(setAddr(r.backend, r.slot, `127.0.250.${1 + Math.floor(random() * 250)}`, r.port));
      else if (kind === 1) commands.push(setWeight(r.backend, r.slot, ((r.weight ?? 1) % 200) + 7));
      else commands.push(setState(r.backend, r.slot, kind === 2 ? 'maint' : 'drain'));
    }
    out.set(host, commands);
  }
  return out;
}

/** Applies per-host commands behind the table's back: one pipelined batch per host, all hosts in parallel. */
export async function applyDirect(
  statsPorts: ReadonlyMap<string, number>,
  perHost: ReadonlyMap<string, readonly Command[]>,
): Promise<void> {
  await Promise.all(
    [...perHost].map(async ([host, commands]) => {
      const port = statsPorts.get(host);
      if (port === undefined) throw new Error(`no stats port for ${host}`);
      const endpoint = { kind: 'tcp', host: '127.0.0.1', port } as const;
      await sendBatch(host, endpoint, commands.map(renderCommand), { connectTimeoutMs: 1_000, deadlineMs: 30_000 });
    }),
  );
}
