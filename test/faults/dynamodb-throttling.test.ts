// Fault: DynamoDB throttles and cancels transactions (SDK middleware on the store's client) during concurrent launches
// and terminates; the lifecycle service runs with real HAProxy hosts and DynamoDB Local, events are redelivered on error.
// Each test starts its own hosts, table and fault injector, and launches the members it starts from itself.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { localClient } from '../../bin/harness/dynamodb-local.js';
import { type HaproxyHandle, startFleet, stopAll } from '../../bin/harness/haproxy.js';
import { freePort } from '../../bin/harness/ports.js';
import { AutoScalingLifecycleActions } from '../../functions/lib/adapters/autoscaling.js';
import { Ec2Instances } from '../../functions/lib/adapters/ec2.js';
import { systemClock } from '../../functions/lib/clock.js';
import { type ConfigDocument, parseConfig } from '../../functions/lib/config.js';
import { createFleet } from '../../functions/lib/haproxy/fleet.js';
import { type ServiceDeps, silentLog } from '../../functions/lib/services/deps.js';
import { handleLifecycle, type LifecycleOutcome } from '../../functions/lib/services/lifecycle.js';
import { reconcile } from '../../functions/lib/services/reconcile.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { seededRandom } from '../support/random.js';
import { instanceId, mockAws, newToken } from './support/aws.js';
import { type FaultCounters, injectDynamoDbFaults } from './support/dynamodb-faults.js';
import { fleetDifferences, owners } from './support/fleet-vs-table.js';
import { type Delivery, deliver } from './support/handlers.js';

const SLOTS = 48;
const ids = Array.from({ length: 42 }, (_, i) => instanceId(i + 1, 0xd));
const addressOf = (id: string) => (ids.includes(id) ? `127.0.2.${ids.indexOf(id) + 1}` : undefined);
const aws = mockAws(addressOf);
const tokens = new Map<string, string>();

let ddb: DynamoDbLocal;
let n = 0;
const started: { hosts: HaproxyHandle[]; faulty: ReturnType<typeof localClient> }[] = [];

/** One test's own world: fresh hosts and ports, a fresh table seeded without faults, and fault counters from zero. */
interface Stand {
  readonly hosts: HaproxyHandle[];
  readonly faults: FaultCounters;
  readonly config: ConfigDocument;
  readonly deps: ServiceDeps;
  /** The same table read without faults. */
  readonly clean: DynamoDbSlotStore;
  readonly redelivered: string[];
}

async function standUp(): Promise<Stand> {
  const port = await freePort();
  const hosts = await startFleet(2, { backends: [{ name: 'web', slotPrefix: 'web', slots: SLOTS }] }, `ddbf${++n}-hap`);
  const { slotTable } = await ddb.createTables(`ddbfault${process.pid}-${n}`);
  const faulty = localClient(ddb.endpoint);
  started.push({ hosts, faulty });
  const faults = injectDynamoDbFaults(faulty, {
    throttle: 0.15,
    transactionConflict: 0.3,
    writeConflict: 0.3,
    random: seededRandom(6),
  });
  faults.enabled = false;
  const config = parseConfig({
    hosts: hosts.map((h) => h.hostConfig()),
    // Every member is a loopback address (127.0.0.x), which the address policy refuses unless told.
    allowLoopback: true,
    backends: [{ name: 'web', slotPrefix: 'web', port, autoScalingGroups: ['web-asg'], drainSeconds: 0 }],
  });
  const deps: ServiceDeps = {
    store: new DynamoDbSlotStore({ tableName: slotTable, client: faulty }),
    fleet: createFleet({ hosts: config.hosts, timeouts: config.timeouts }),
    clock: systemClock,
    lifecycle: new AutoScalingLifecycleActions(),
    instances: new Ec2Instances(),
    log: silentLog,
  };
  await reconcile({ backends: config.backends }, config, deps); // seeds the table from the hosts, before faults start
  const clean = new DynamoDbSlotStore({ tableName: slotTable, client: ddb.client });
  return { hosts, faults, config, deps, clean, redelivered: [] };
}

/** One lifecycle event through the service, redelivered while it throws (as EventBridge would). */
async function event(s: Stand, action: 'launch' | 'terminate', id: string): Promise<Delivery<LifecycleOutcome>> {
  const token = newToken();
  tokens.set(`${action} ${id}`, token);
  const ref = { token, hookName: `hook-${action}`, asgName: 'web-asg', instanceId: id };
  const delivery = await deliver(() =>
    handleLifecycle(
      { transition: action, ref, until: Date.now() + 20_000, destination: action === 'terminate' ? 'EC2' : undefined },
      s.config,
      s.deps,
    ),
  );
  s.redelivered.push(...delivery.errors);
  return delivery;
}

/** The table (read without faults) has exactly `live` as owners, each at its own address, and none of `gone`. */
async function expectOwners(s: Stand, live: readonly string[], gone: readonly string[]) {
  const slots = await s.clean.list('web');
  const { members, doubled } = owners(slots);
  expect(doubled).toEqual([]);
  expect(members.sort()).toEqual([...live].sort());
  expect(slots).toHaveLength(SLOTS);
  expect(slots.filter((r) => r.state === 'free')).toHaveLength(SLOTS - live.length);
  for (const id of live) expect((await s.clean.findByMember('web', id))?.address).toBe(addressOf(id));
  for (const id of gone) expect(await s.clean.findByMember('web', id)).toBeUndefined();
}

/** Each token was completed exactly once, with CONTINUE. */
function expectCompletedOnce(keys: readonly string[]) {
  const calls = aws.completions();
  for (const key of keys) {
    const token = tokens.get(key);
    expect(
      calls.filter((c) => c.token === token).map((c) => c.result),
      key,
    ).toEqual(['CONTINUE']);
  }
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
}, 60_000);

afterEach(async () => {
  for (const { hosts, faulty } of started.splice(0)) {
    await stopAll(hosts);
    faulty.destroy();
  }
});

afterAll(async () => {
  await ddb?.stop();
});

describe('DynamoDB throttling and transaction conflicts', () => {
  const first = ids.slice(0, 30);
  const leaving = first.slice(0, 12);
  const later = ids.slice(30);

  it('gives each of 30 concurrent launches exactly one slot, on every host, after retries at both levels', async () => {
    const s = await standUp();
    const { faults } = s;
    faults.enabled = true;
    const outcomes = await Promise.all(first.map((id) => event(s, 'launch', id)));
    expect(outcomes.map((o) => o.result.completion)).toEqual(Array(first.length).fill('CONTINUE'));
    faults.enabled = false;
    await expectOwners(s, first, []);
    expect(await fleetDifferences(s.deps.fleet, s.clean, ['web'])).toEqual([]);
    expectCompletedOnce(first.map((id) => `launch ${id}`));
    // Faults of both kinds were injected, the SDK retried the throttled calls, and the store re-ran cancelled claims.
    expect(faults.injected.throttle).toBeGreaterThan(0);
    expect(faults.injected.transactionConflict).toBeGreaterThan(0);
    expect(sum(faults.attempts) - sum(faults.calls)).toBeGreaterThan(0);
    expect(faults.calls.TransactWriteItemsCommand ?? 0).toBeGreaterThan(first.length);
  });

  it('drains and frees 12 terminating members while 12 others launch, losing and doubling no slot', async () => {
    const s = await standUp();
    const { faults } = s;
    // The 30 members it starts from launch without faults: only what follows is under test.
    const setup = await Promise.all(first.map((id) => event(s, 'launch', id)));
    expect(setup.map((o) => o.result.completion)).toEqual(Array(first.length).fill('CONTINUE'));
    faults.enabled = true;
    const outcomes = await Promise.all([
      ...leaving.map((id) => event(s, 'terminate', id)),
      ...later.map((id) => event(s, 'launch', id)),
    ]);
    expect(outcomes.map((o) => o.result.completion)).toEqual(Array(outcomes.length).fill('CONTINUE'));
    faults.enabled = false;
    const live = [...first.filter((id) => !leaving.includes(id)), ...later];
    await expectOwners(s, live, leaving);
    expect(await fleetDifferences(s.deps.fleet, s.clean, ['web'])).toEqual([]);
    expectCompletedOnce([...leaving.map((id) => `terminate ${id}`), ...later.map((id) => `launch ${id}`)]);
    expect(faults.injected.writeConflict).toBeGreaterThan(0);
    expect(faults.injected.throttle).toBeGreaterThan(0);
    console.info(
      `faults injected: ${JSON.stringify(faults.injected)}; store calls ${sum(faults.calls)}, SDK attempts ` +
        `${sum(faults.attempts)}; events redelivered ${s.redelivered.length}`,
    );
  });
});
