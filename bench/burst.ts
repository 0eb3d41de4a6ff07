// Benchmark (issue 6): 200 concurrent launch events through the real lifecycle handler, 3 hosts, 256 slots: wall time,
// latency, transaction races retried, and proof that no slot or member was handed out twice.
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { setState } from '../functions/lib/domain/commands.js';
import { DynamoDbSlotStore } from '../functions/lib/slots/dynamodb-store.js';
import { slotNamesFromHosts } from '../functions/lib/slots/seed.js';
import launch from '../test/fixtures/events/launch.json' with { type: 'json' };
import { lambdaContext, lifecycleEvent } from '../test/support/lambda.js';
import { cpuDuring, cpuRows } from './cpu.js';
import { log } from './lib.js';
import { type LifecycleStack, startLifecycleStack } from './lifecycle-stack.js';
import { allPass, atMost, distribution, exactly, info, type MetricRow } from './report.js';
import { LAUNCH_WRITES, tableFloorMs } from './table-floor.js';

const EVENTS = 200;
const HOSTS = 3;
const SLOTS = 256;
const BACKEND = 'burst';
// Issue 10: 200 concurrent launches in 2 s (8.4 s before batching and one connection per host per invocation).
const GOAL_MS = 2_000;
const WARM_ID = 'i-0fffffffffffffff1';

const idOf = (i: number) => `i-0b${(i + 1).toString(16).padStart(15, '0')}`;

/** A DynamoDB client like the handler's, plus a middleware counting the conditional races each call lost. */
function countingClient(races: Record<string, number>): DynamoDBClient {
  // One process stands in for 200 Lambdas, each with its own connection: do not queue them behind 50 sockets.
  const client = new DynamoDBClient({ requestHandler: { httpAgent: { keepAlive: true, maxSockets: 512 } } });
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const name = (error as Error).name;
        races[name] = (races[name] ?? 0) + 1;
        throw error;
      }
    },
    { step: 'initialize', name: 'benchCountRaces' },
  );
  return client;
}

/** Members owning more than one slot (table) plus addresses in more than one ready slot (any host), and mismatches. */
async function audit(stack: LifecycleStack): Promise<{ duplicates: number; mismatches: number; active: number }> {
  const active = (await stack.store.list(BACKEND)).filter((s) => s.state === 'active');
  const owners = new Map<string, number>();
  for (const s of active) owners.set(s.member ?? '', (owners.get(s.member ?? '') ?? 0) + 1);
  let duplicates = [...owners.values()].reduce((n, c) => n + c - 1, 0);
  let mismatches = 0;
  for (const host of await stack.fleet.observe([BACKEND])) {
    if (!host.ok) throw new Error(`audit: ${host.host} did not answer: ${host.error.message}`);
    const rows = host.backends.get(BACKEND) ?? [];
    const ready = new Map<string, number>();
    for (const row of rows.filter((r) => r.admin === 'ready')) {
      const key = `${row.address}:${row.port}`;
      ready.set(key, (ready.get(key) ?? 0) + 1);
    }
    duplicates += [...ready.values()].reduce((n, c) => n + c - 1, 0);
    for (const s of active) {
      const row = rows.find((r) => r.server === s.slot);
      if (row?.address !== s.address || row?.port !== s.port || row?.admin !== 'ready') mismatches++;
    }
  }
  return { duplicates, mismatches, active: active.length };
}

/** 200 launch events at once (after one warm-up event that loads the handler), against a seeded 256-slot backend. */
export async function benchBurst(): Promise<object> {
  const addresses = new Map(Array.from({ length: EVENTS }, (_, i) => [idOf(i), `127.0.1.${i + 1}`]));
  addresses.set(WARM_ID, '127.0.2.1');
  const races: Record<string, number> = {};
  const client = countingClient(races);
  const stack = await startLifecycleStack({
    hosts: HOSTS,
    specs: [{ name: BACKEND, slotPrefix: 'b', slots: SLOTS }],
    backends: [{ name: BACKEND, slotPrefix: 'b', port: 8080, autoScalingGroups: ['web-asg'], drainSeconds: 30 }],
    addressOf: (id) => addresses.get(id),
  });
  try {
    // A deployed table is seeded by the first reconcile; seeding is not what this measures.
    const seen = slotNamesFromHosts(await stack.fleet.observe([BACKEND]), BACKEND, 'b');
    await stack.store.seed(BACKEND, seen.names);
    const store = new DynamoDbSlotStore({ tableName: stack.slotTable, client });
    stack.seam = (deps) => ({ ...deps, store });
    const event = (id: string) => lifecycleEvent(launch, { EC2InstanceId: id, LifecycleActionToken: randomUUID() });
    const warm = (await stack.handler(event(WARM_ID), lambdaContext(60_000))) as { slots?: Array<{ slot?: string }> };
    await stack.store.apply(BACKEND, { member: WARM_ID }, { kind: 'release' });
    await stack.fleet.broadcast([setState(BACKEND, warm.slots?.[0]?.slot ?? 'b1', 'maint')]);
    for (const key of Object.keys(races)) delete races[key];
    log(`burst: ${EVENTS} concurrent launch events`);
    const start = performance.now();
    const { result: outcomes, cpu } = await cpuDuring(
      () =>
        Promise.all(
          Array.from({ length: EVENTS }, async (_, i) => {
            const t = performance.now();
            try {
              const r = (await stack.handler(event(idOf(i)), lambdaContext(60_000))) as { completion?: string };
              return { ms: performance.now() - t, ok: r.completion === 'CONTINUE', error: r.completion };
            } catch (error) {
              return { ms: performance.now() - t, ok: false, error: (error as Error).message };
            }
          }),
        ),
      stack.hosts.flatMap((h) => h.pids()),
    );
    const wallMs = performance.now() - start;
    const latency = distribution(outcomes.map((o) => o.ms));
    const failed = outcomes.filter((o) => !o.ok);
    const { duplicates, mismatches, active } = await audit(stack);
    // The limit here: the writes these launches cannot do without, bare, all at once.
    const { result: floorMs, cpu: floorCpu } = await cpuDuring(() =>
      tableFloorMs(client, stack.slotTable, EVENTS, EVENTS),
    );
    const canceled = races.TransactionCanceledException ?? 0;
    const metrics: MetricRow[] = [
      atMost(`wall time, ${EVENTS} concurrent launch events`, wallMs, GOAL_MS),
      info('per-event latency, p50 / p99', `${latency.p50} / ${latency.p99}`, 'ms'),
      info(
        `table floor: each launch's ${LAUNCH_WRITES.length} writes, bare, all ${EVENTS} at once (no handler, no HAProxy)`,
        floorMs,
        'ms',
      ),
      info('wall time ÷ table floor', Math.round((wallMs / floorMs) * 100) / 100, '×'),
      ...cpuRows(cpu, wallMs, floorCpu),
      info('transaction conflicts retried (TransactionCanceledException)', canceled),
      info(
        'other lost conditions (ConditionalCheckFailed / TransactionConflict)',
        (races.ConditionalCheckFailedException ?? 0) + (races.TransactionConflictException ?? 0),
      ),
      exactly('duplicate slots (member in 2 slots, or address in 2 ready slots on a host)', duplicates, 0),
      exactly('slots whose host state differs from the table', mismatches, 0),
      exactly('events not completed with CONTINUE', failed.length, 0),
      exactly('active slots in the table', active, EVENTS),
    ];
    return {
      events: EVENTS,
      hosts: HOSTS,
      slots: SLOTS,
      wallMs,
      tableFloorMs: floorMs,
      latency,
      cpu,
      floorCpu,
      races,
      failures: failed.slice(0, 5).map((f) => f.error),
      metrics,
      pass: allPass(metrics),
    };
  } finally {
    client.destroy();
    await stack.stop();
  }
}
