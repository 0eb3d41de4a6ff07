// Reconcile benchmark fixture: H real HAProxy hosts × B backends × S slots, a populated table, and seeded random drift.

import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type DynamoDbLocal, startDynamoDbLocal } from '../bin/harness/dynamodb-local.js';
import { type HaproxyHandle, startFleet, stopAll } from '../bin/harness/haproxy.js';
import { type BackendConfig, type ConfigDocument, parseConfig } from '../functions/lib/config.js';
import { type Command, setAddr, setState, setWeight } from '../functions/lib/domain/commands.js';
import { decide } from '../functions/lib/domain/lifecycle.js';
import type { Member, SlotRecord } from '../functions/lib/domain/types.js';
import { renderCommand } from '../functions/lib/haproxy/commands.js';
import { createFleet } from '../functions/lib/haproxy/fleet.js';
import { sendBatch } from '../functions/lib/haproxy/transport.js';
import type { HaproxyFleet } from '../functions/lib/ports.js';
import type { ServiceDeps } from '../functions/lib/services/deps.js';
import { DynamoDbSlotStore } from '../functions/lib/slots/dynamodb-store.js';
import { memberKey, slotKey } from '../functions/lib/slots/keys.js';
import { slotNamesFromHosts } from '../functions/lib/slots/seed.js';
import { SlotTableIo } from '../functions/lib/slots/table-io.js';
import { slotUpdate } from '../functions/lib/slots/update-expression.js';
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
  /** The running HAProxy processes (their pids, for memory readings) and DynamoDB Local's port and tables. */
  readonly hosts: readonly HaproxyHandle[];
  readonly dynamoPort: number;
  readonly slotTable: string;
  readonly idempotencyTable: string;
  /** Wall time of each setup step, ms: hosts and DynamoDB Local (started together), seeding, claims. */
  readonly setupMs: { readonly start: number; readonly seed: number; readonly claims: number };
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

/** How the fixture fills the table. */
export interface FixtureOptions {
  /**
   * Member i takes the i-th slot, written as the claim transaction writes it (the lifecycle machine's claim patch and
   * the member item), instead of `store.claim`'s random pick: each real claim first queries the backend's free slots,
   * and with 500-slot backends those 1,600 queries make DynamoDB Local take ~15 s. Default false (`store.claim`).
   */
  readonly directClaims?: boolean;
}

/** Starts the hosts and DynamoDB Local, seeds the table from the hosts and gives `occupancy` of the slots a member. */
export async function startReconcileFixture(
  shape: ReconcileShape,
  options: FixtureOptions = {},
): Promise<ReconcileFixture> {
  const specs = Array.from({ length: shape.backends }, (_, b) => ({
    name: `be${b + 1}`,
    slotPrefix: `s${b + 1}x`,
    slots: shape.slotsPerBackend,
  }));
  let hosts: HaproxyHandle[] = [];
  let ddb: DynamoDbLocal | undefined;
  try {
    const started = performance.now();
    [hosts, ddb] = await Promise.all([startFleet(shape.hosts, { backends: specs }, 'rc-hap'), startDynamoDbLocal()]);
    const { slotTable, idempotencyTable } = await ddb.createTables(`rc${Date.now()}`);
    const startMs = performance.now() - started;
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
    const seeding = performance.now();
    const slotNames = new Map<string, string[]>();
    await Promise.all(
      backends.map(async (backend, b) => {
        const names = slotNamesFromHosts(observed, backend.name, backend.slotPrefix).names;
        if (names.length !== shape.slotsPerBackend)
          throw new Error(`${backend.name}: hosts report ${names.length} slots`);
        slotNames.set(backend.name, names);
        await store.seed(backend.name, names);
        const members = Math.round(shape.slotsPerBackend * shape.occupancy);
        for (let i = 0; i < members; i++) {
          claims.push({
            backend: backend.name,
            id: `m-${b + 1}-${i + 1}`,
            // 127.0.b.1-250 for the first 250 members (as before), then 127.1.b.…: every address stays on loopback.
            address: `127.${Math.floor(i / 250)}.${b + 1}.${(i % 250) + 1}`,
            weight: 1 + (i % 3),
          });
        }
      }),
    );
    const seedMs = performance.now() - seeding;
    const claiming = performance.now();
    const table = new SlotTableIo(DynamoDBDocumentClient.from(ddb.client), slotTable);
    await inPool(claims, CLAIM_CONCURRENCY, (c) => {
      const member = { id: c.id, address: c.address, port: MEMBER_PORT };
      if (!options.directClaims) return store.claim(c.backend, member, { weight: c.weight, owner: 'webhook' });
      const index = Number(c.id.slice(c.id.lastIndexOf('-') + 1)) - 1;
      return claimDirect(table, c.backend, slotNames.get(c.backend)?.[index] ?? '', member, c.weight);
    });
    const claimsMs = performance.now() - claiming;
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
      hosts,
      dynamoPort: ddb.port,
      slotTable,
      idempotencyTable,
      setupMs: { start: startMs, seed: seedMs, claims: claimsMs },
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

/** The claim transaction for a given free slot (version 1, as seeded): the machine's patch and the member item. */
async function claimDirect(table: SlotTableIo, backend: string, slot: string, member: Member, weight: number) {
  const free: SlotRecord = { backend, slot, state: 'free', version: 1 };
  const decision = decide(free, { kind: 'claim', member, weight, owner: 'webhook' });
  if (decision.type !== 'write') throw new Error(`claim of ${backend}/${slot}: the machine answers ${decision.type}`);
  const rejected = await table.transact(`claim ${backend}/${slot}`, [
    {
      Update: {
        TableName: table.tableName,
        Key: slotKey(backend, slot),
        ...slotUpdate(decision.patch, { state: 'free', version: 1 }),
      },
    },
    {
      Put: {
        TableName: table.tableName,
        Item: { ...memberKey(backend, member.id), member: member.id, slot },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ]);
  if (rejected) throw new Error(`claim of ${backend}/${slot} for ${member.id} was rejected`);
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
