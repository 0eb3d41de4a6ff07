// Benchmark (issue 10 §2): a scale-out storm. 1,000 launch events into 3 real hosts × 1,024 slots, delivered as the
// lifecycle queue's SQS batches to `CONCURRENCY` simulated Lambda containers (each with its own ports, as each
// container has), through the real handler. Counted at the sockets: the most concurrent stats connections any host saw.
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { connectionCount } from '../bin/harness/connection-count.js';
import { freePort } from '../bin/harness/ports.js';
import { parseConfig } from '../functions/lib/config.js';
import type { ServiceDeps } from '../functions/lib/services/deps.js';
import { slotNamesFromHosts } from '../functions/lib/slots/seed.js';
import { createDeps } from '../functions/shared/compose.js';
import launch from '../test/fixtures/events/launch.json' with { type: 'json' };
import { lambdaContext, lifecycleEvent, sqsBatch } from '../test/support/lambda.js';
import { cpuDuring, cpuRows } from './cpu.js';
import { log } from './lib.js';
import { type LifecycleStack, startLifecycleStack } from './lifecycle-stack.js';
import { allPass, atMost, distribution, exactly, info, type MetricRow } from './report.js';
import { LAUNCH_WRITES, tableFloorMs } from './table-floor.js';
import { CallLog, programmedOnEveryHost, timedPort } from './timing-ports.js';

const EVENTS = 1_000;
const HOSTS = 3;
const SLOTS = 1_024;
const BATCH = 10;
/** Reserved concurrency of the lifecycle function in the stack's defaults (infra/concurrency.cjs). */
const CONCURRENCY = 10;
/** The stage's per-host connection budget (serverless.yml `hostConnections`): lifecycle + webhook + reconcile. */
const HOST_CONNECTION_BUDGET = 20;
const GOAL_MS = 5_000;
/** The stage's `lifecycleMaxReceiveCount` default: receives before a record goes to the DLQ. */
const MAX_RECEIVES = 5;
const BACKEND = 'storm';

const idOf = (i: number) => `i-05${(i + 1).toString(16).padStart(15, '0')}`;
const addressOf = (i: number) => `127.3.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`;

/** A TCP relay in front of a stats socket that counts the connections open through it at once. */
async function countingRelay(
  target: number,
): Promise<{ port: number; max: () => number; total: () => number; bytes: () => number; close(): Promise<void> }> {
  const count = connectionCount();
  // What the host sent back through the relay: every reply byte the handlers received from it.
  let bytes = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    count.opened(client);
    const upstream = tcpConnect({ host: '127.0.0.1', port: target });
    sockets.add(client).add(upstream);
    const done = () => {
      if (!sockets.delete(client)) return;
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.pipe(upstream).pipe(client);
    upstream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    client.on('close', done).on('error', done);
    upstream.on('close', done).on('error', done);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    max: count.maxOpen,
    total: count.total,
    bytes: () => bytes,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const mb = (bytes: number) => Math.round(bytes / 10_000) / 100;

/** A claim: the one transaction that puts a `member#` item (marshalled or not, as the middleware sees it). */
function putsMember(items: readonly unknown[] | undefined): boolean {
  return (items ?? []).some((item) => {
    const sk = (item as { Put?: { Item?: { sk?: unknown } } }).Put?.Item?.sk;
    const text = typeof sk === 'string' ? sk : (sk as { S?: unknown } | undefined)?.S;
    return typeof text === 'string' && text.startsWith('member#');
  });
}

export async function benchStorm(): Promise<object> {
  const index = new Map(Array.from({ length: EVENTS }, (_, i) => [idOf(i), i]));
  const stack: LifecycleStack = await startLifecycleStack({
    hosts: HOSTS,
    specs: [{ name: BACKEND, slotPrefix: 's', slots: SLOTS }],
    backends: [{ name: BACKEND, slotPrefix: 's', port: 8080, autoScalingGroups: ['web-asg'], drainSeconds: 30 }],
    addressOf: (id) => {
      const i = index.get(id);
      return i === undefined ? undefined : addressOf(i);
    },
  });
  const relays = await Promise.all(stack.hosts.map((h) => countingRelay(h.statsPort)));
  const clients: DynamoDBClient[] = [];
  try {
    // A deployed table is seeded by the first reconcile; seeding is not what this measures.
    await stack.store.seed(BACKEND, slotNamesFromHosts(await stack.fleet.observe([BACKEND]), BACKEND, 's').names);
    // Each simulated container has its own ports, reaching the hosts through the counting relays.
    const config = parseConfig({
      hosts: stack.hosts.map((h, i) => ({ ...h.hostConfig(), port: relays[i]?.port ?? 0 })),
      // Every member is a loopback address, which the address policy refuses unless told.
      allowLoopback: true,
      backends: [{ name: BACKEND, slotPrefix: 's', port: 8080, autoScalingGroups: ['web-asg'], drainSeconds: 30 }],
      lifecycle: { onNoSlot: 'ABANDON', heartbeatSeconds: 60 },
    });
    // Every container's fleet calls, timed: when each slot's commands were confirmed on every host (programmed).
    const fleetCalls = new CallLog();
    // What the containers' slot stores send: free-slot reads, and claim transactions that lost a race.
    const sent = { freeReads: 0, claims: 0, claimsLost: 0 };
    // Every request the containers send to the table, by command: where the table's work beyond the floor comes from.
    const requests = new Map<string, number>();
    const containers: ServiceDeps[] = Array.from({ length: CONCURRENCY }, () => {
      const dynamodb = new DynamoDBClient({});
      dynamodb.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { FilterExpression?: string; TransactItems?: unknown[] };
          if (context.commandName === 'QueryCommand' && input.FilterExpression) sent.freeReads++;
          const claim = context.commandName === 'TransactWriteItemsCommand' && putsMember(input.TransactItems);
          if (claim) sent.claims++;
          const kind = `${context.commandName?.replace(/Command$/, '')}${input.TransactItems ? `(${input.TransactItems.length})` : ''}`;
          requests.set(kind, (requests.get(kind) ?? 0) + 1);
          try {
            return await next(args);
          } catch (error) {
            if (claim && (error as Error).name === 'TransactionCanceledException') sent.claimsLost++;
            throw error;
          }
        },
        { step: 'initialize', name: 'benchCountClaims' },
      );
      clients.push(dynamodb);
      const deps = createDeps({ config, env: { SLOT_TABLE: stack.slotTable }, clients: { dynamodb } });
      return { ...deps, fleet: timedPort(deps.fleet, 'fleet', () => fleetCalls) };
    });
    stack.seam = (deps, context) => ({
      ...(containers[Number(context.functionName.slice(1))] as ServiceDeps),
      lifecycle: deps.lifecycle,
      instances: deps.instances,
      log: deps.log,
    });
    const sentAt = new Map<string, number>();
    const events = Array.from({ length: EVENTS }, (_, i) => {
      const token = randomUUID();
      return { token, event: lifecycleEvent(launch, { EC2InstanceId: idOf(i), LifecycleActionToken: token }) };
    });
    // The queue: records SQS hands out in batches; a record reported as failed comes back (as after its visibility
    // timeout), up to the stage's maxReceiveCount, then it is lost to the DLQ.
    const queue = [...events];
    const receives = new Map<string, number>();
    log(`storm: ${EVENTS} launch events in batches of ${BATCH}, ${CONCURRENCY} containers`);
    const failures: string[] = [];
    const start = performance.now();
    let busy = 0;
    const { cpu } = await cpuDuring(
      () =>
        Promise.all(
          containers.map(async (_deps, c) => {
            for (;;) {
              const batch = queue.splice(0, BATCH);
              if (batch.length === 0) {
                // Others may still hand records back: wait for them, as a poller would.
                if (busy === 0) return;
                await new Promise((resolve) => setTimeout(resolve, 5));
                continue;
              }
              busy++;
              const t = performance.now();
              for (const e of batch) if (!sentAt.has(e.token)) sentAt.set(e.token, t);
              const sqs = sqsBatch(batch.map((e) => e.event));
              const answer = (await stack.handler(sqs, lambdaContext(60_000, `c${c}`))) as {
                batchItemFailures?: { itemIdentifier: string }[];
              };
              const failed = new Set((answer.batchItemFailures ?? []).map((f) => f.itemIdentifier));
              sqs.Records.forEach((r, i) => {
                const e = batch[i];
                if (!e || !failed.has(String(r.messageId))) return;
                failures.push(e.token);
                const n = (receives.get(e.token) ?? 1) + 1;
                receives.set(e.token, n);
                if (n <= MAX_RECEIVES) queue.push(e);
              });
              busy--;
            }
          }),
        ),
      stack.hosts.flatMap((h) => h.pids()),
    );
    const wallMs = performance.now() - start;
    const completions = stack.completions.filter((c) => sentAt.has(c.token));
    const byToken = new Map<string, number>();
    for (const c of completions) byToken.set(c.token, (byToken.get(c.token) ?? 0) + 1);
    const lost = events.filter((e) => !byToken.has(e.token)).length;
    const completedTwice = [...byToken.values()].filter((n) => n > 1).length;
    const notContinue = completions.filter((c) => c.result !== 'CONTINUE').length;
    const latency = distribution(
      completions.filter((c) => sentAt.has(c.token)).map((c) => c.at - (sentAt.get(c.token) ?? 0)),
    );
    const active = (await stack.store.list(BACKEND)).filter((s) => s.state === 'active');
    // Event → programmed: from the first delivery of a member's event to its slot confirmed ready at its address on
    // every host (the fleet calls' replies), for the slot the table gives it at the end.
    const tokenOf = new Map(events.map((e, i) => [idOf(i), e.token]));
    const programmed = programmedOnEveryHost(fleetCalls.calls, stack.fleet.hosts);
    const toProgrammed = active.flatMap((s) => {
      const at = programmed.get(`${BACKEND}/${s.slot} ${s.address}`);
      const sent = sentAt.get(tokenOf.get(s.member ?? '') ?? '');
      return at === undefined || sent === undefined ? [] : [at - sent];
    });
    const programmedLatency = distribution(toProgrammed);
    const owners = new Map<string, number>();
    for (const s of active) owners.set(s.member ?? '', (owners.get(s.member ?? '') ?? 0) + 1);
    let duplicates = [...owners.values()].reduce((n, k) => n + k - 1, 0);
    for (const host of await stack.fleet.observe([BACKEND])) {
      if (!host.ok) throw new Error(`storm audit: ${host.host} did not answer`);
      const ready = new Map<string, number>();
      for (const row of (host.backends.get(BACKEND) ?? []).filter((r) => r.admin === 'ready'))
        ready.set(`${row.address}:${row.port}`, (ready.get(`${row.address}:${row.port}`) ?? 0) + 1);
      duplicates += [...ready.values()].reduce((n, k) => n + k - 1, 0);
    }
    const maxHostConnections = Math.max(...relays.map((r) => r.max()));
    const hostBytes = relays.reduce((n, r) => n + r.bytes(), 0);
    // Each connection carries one pipelined exchange (lane.ts): per SQS batch, how many round trips a host served.
    const exchangesPerBatch =
      Math.round((relays.reduce((n, r) => n + r.total(), 0) / relays.length / (EVENTS / BATCH)) * 10) / 10;
    // The limit here: the writes these launches cannot do without, bare, as many at once as the containers ran.
    const floorClient = new DynamoDBClient({ requestHandler: { httpAgent: { keepAlive: true, maxSockets: 512 } } });
    clients.push(floorClient);
    const { result: floorMs, cpu: floorCpu } = await cpuDuring(() =>
      tableFloorMs(floorClient, stack.slotTable, EVENTS, BATCH * CONCURRENCY),
    );
    const metrics: MetricRow[] = [
      atMost(
        `wall time, ${EVENTS} launch events (SQS batches of ${BATCH}, ${CONCURRENCY} containers)`,
        wallMs,
        GOAL_MS,
      ),
      info(
        'event → programmed on every host (address + ready confirmed on all 3), p50 / p99',
        `${programmedLatency.p50} / ${programmedLatency.p99}`,
        'ms',
      ),
      exactly('launches seen programmed on every host (of the active slots)', toProgrammed.length, EVENTS),
      info('event → CONTINUE completed (READY on every host), p50 / p99', `${latency.p50} / ${latency.p99}`, 'ms'),
      info(
        `table floor: each launch's ${LAUNCH_WRITES.length} writes, bare, ${BATCH * CONCURRENCY} launches at once (no handler, no HAProxy)`,
        floorMs,
        'ms',
      ),
      info('wall time ÷ table floor', Math.round((wallMs / floorMs) * 100) / 100, '×'),
      ...cpuRows(cpu, wallMs, floorCpu),
      exactly('duplicates (member in 2 slots, or address in 2 ready slots on a host)', duplicates, 0),
      exactly('events lost (token never completed)', lost, 0),
      exactly('tokens completed more than once', completedTwice, 0),
      exactly('completions other than CONTINUE', notContinue, 0),
      exactly('active slots in the table', active.length, EVENTS),
      atMost(
        'most concurrent stats connections on any host (at the socket)',
        maxHostConnections,
        HOST_CONNECTION_BUDGET,
        'connections',
      ),
      info('stats connections per host per SQS batch (one exchange each)', exchangesPerBatch),
      // Each observation reads a backend's rows whole (show stat + show servers state), whatever slots it wants.
      info(
        "bytes the hosts' stats sockets sent back: all hosts / per host per SQS batch",
        `${mb(hostBytes)} / ${mb(hostBytes / relays.length / (EVENTS / BATCH))}`,
        'MB',
      ),
      info('records reported failed to SQS (delivered again)', failures.length),
      info('claim transactions lost to a race (of all sent)', `${sent.claimsLost} (of ${sent.claims})`),
      // Each member's slot comes from exactly one claim that won: this also proves the counter sees the claims.
      exactly('claim transactions that won (one per launch)', sent.claims - sent.claimsLost, EVENTS),
      info('free-slot reads (a query of the backend each)', sent.freeReads),
      info(
        'table requests by command (transaction items in brackets)',
        [...requests]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, n]) => `${k} ${n}`)
          .join(', '),
      ),
    ];
    return {
      events: EVENTS,
      hosts: HOSTS,
      slots: SLOTS,
      batchSize: BATCH,
      concurrency: CONCURRENCY,
      wallMs,
      tableFloorMs: floorMs,
      cpu,
      floorCpu,
      latency,
      programmed: programmedLatency,
      duplicates,
      lost,
      completedTwice,
      maxHostConnections,
      hostConnectionBudget: HOST_CONNECTION_BUDGET,
      exchangesPerBatch,
      hostBytes,
      claims: sent.claims,
      claimsLost: sent.claimsLost,
      freeReads: sent.freeReads,
      metrics,
      pass: allPass(metrics),
    };
  } finally {
    for (const c of clients) c.destroy();
    await Promise.all(relays.map((r) => r.close()));
    await stack.stop();
  }
}
