// Benchmark (issues 6, 10): one launch event through the real lifecycle handler → slot programmed on every host →
// first request served, 200 events in a row. Measured in the same run, per event: the limit (one bare
// TransactWriteItems + one bare pipelined batch of the same commands to all hosts in parallel) and the seed-style
// baseline (per host one `show stat` connection, then one connection per command, hosts one after another).
// Phases are unions of the port calls' intervals, so overlapping calls are measured, never subtracted.
import { randomUUID } from 'node:crypto';
import { TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { delay } from '../bin/harness/haproxy-util.js';
import { httpGet, type Instance, startInstanceAt } from '../bin/harness/instances.js';
import { freePort } from '../bin/harness/ports.js';
import { type Command, setState, showServersState, showStat } from '../functions/lib/domain/commands.js';
import { renderCommand } from '../functions/lib/haproxy/commands.js';
import { parseServersState } from '../functions/lib/haproxy/parse-servers-state.js';
import { sendBatch } from '../functions/lib/haproxy/transport.js';
import launch from '../test/fixtures/events/launch.json' with { type: 'json' };
import { lambdaContext, lifecycleEvent } from '../test/support/lambda.js';
import { oneConnectionPerCommand } from './baseline.js';
import { log } from './lib.js';
import { type LifecycleStack, startLifecycleStack } from './lifecycle-stack.js';
import { allPass, atLeast, atMost, distribution, exactly, info, type MetricRow } from './report.js';
import { CallLog, commandsOf, type PortCall, programsEveryHost, timedPort } from './timing-ports.js';

const EVENTS = 200;
const WARMUP = 5;
const HOSTS = 3;
const SLOTS = 8;
const BACKEND = 'web';
const SERVED_DEADLINE_MS = 10_000;

interface Sample {
  readonly tableMs: number;
  readonly haproxyMs: number;
  readonly otherMs: number;
  readonly bareTransactionMs: number;
  /** Fleet time while no table call ran: the HAProxy part of the critical path (the observe beside the claim is not). */
  readonly haproxyCriticalMs: number;
  readonly bareBatchMs: number;
  readonly seedBaselineMs: number;
  readonly programmedMs: number;
  readonly servedMs: number;
  readonly totalMs: number;
  readonly baselineHaproxyMs: number;
  readonly baselineCommands: number;
  readonly baselineBadReplies: number;
}

/** Polls the frontends in turn until `id` answers; undefined when the deadline passes first. */
async function firstServed(ports: readonly number[], id: string, deadline: number): Promise<number | undefined> {
  for (let i = 0; performance.now() < deadline; i++) {
    const reply = await httpGet(ports[i % ports.length] as number, '/', 1_000).catch(() => undefined);
    if (reply?.status === 200 && reply.body === id) return performance.now();
    await delay(2);
  }
  return undefined;
}

/** Milliseconds covered by the calls' intervals (clipped to [from, until]): overlapping calls count once. */
function unionMs(calls: readonly PortCall[], from: number, until: number): number {
  const spans = calls
    .map((c) => [Math.max(from, c.start), Math.min(until, c.end)] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let [open, close] = [Number.NaN, Number.NaN];
  for (const [a, b] of spans) {
    if (Number.isNaN(open) || a > close) {
      if (!Number.isNaN(open)) total += close - open;
      [open, close] = [a, b];
    } else close = Math.max(close, b);
  }
  return Number.isNaN(open) ? total : total + close - open;
}

/** One bare TransactWriteItems on DynamoDB Local, shaped like the claim (an update, a put, two condition checks). */
async function bareTransaction(stack: LifecycleStack, n: number): Promise<number> {
  const TableName = stack.slotTable;
  const t = performance.now();
  await stack.ddb.client.send(
    new TransactWriteItemsCommand({
      TransactItems: [
        {
          Update: {
            TableName,
            Key: { pk: { S: 'bench-limit' }, sk: { S: 'slot#x' } },
            UpdateExpression: 'SET #v = :v',
            ExpressionAttributeNames: { '#v': 'version' },
            ExpressionAttributeValues: { ':v': { N: String(n) } },
          },
        },
        { Put: { TableName, Item: { pk: { S: 'bench-limit' }, sk: { S: `member#${n}` } } } },
        {
          ConditionCheck: {
            TableName,
            Key: { pk: { S: 'bench-limit' }, sk: { S: `retired#${n}` } },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        // The launch's token check (no completion owed or done), as the claim carries it.
        {
          ConditionCheck: {
            TableName,
            Key: { pk: { S: 'bench-limit' }, sk: { S: `owed#${n}` } },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
    }),
  );
  return performance.now() - t;
}

/** The same commands as one pipelined connection per host, all hosts at once: what the HAProxy phase can be at best. */
async function bareBatch(stack: LifecycleStack, perHost: ReadonlyMap<string, readonly Command[]>): Promise<number> {
  const t = performance.now();
  await Promise.all(
    stack.hosts.map((h) =>
      sendBatch(
        h.name,
        { kind: 'tcp', host: '127.0.0.1', port: h.statsPort },
        (perHost.get(h.name) ?? []).map(renderCommand),
        {
          connectTimeoutMs: 1_000,
          deadlineMs: 5_000,
        },
      ),
    ),
  );
  return performance.now() - t;
}

/** The slot's `srv_id` on the first host (the bench's hosts share one config, so one numbering). */
async function serverId(stack: LifecycleStack, slot: string): Promise<number> {
  const [host] = await stack.fleet.run([
    { host: stack.fleet.hosts[0] as string, commands: [showServersState(BACKEND)] },
  ]);
  const row = parseServersState(host?.replies[0]?.reply ?? '', new Set([slot]))[0];
  if (!row) throw new Error(`${slot} is not in show servers state of ${host?.host}`);
  return row.serverId;
}

/** The classic cron script: per host, one `show stat` connection, then one connection per command; host after host. */
async function seedStyle(stack: LifecycleStack, writes: ReadonlyMap<string, readonly Command[]>): Promise<number> {
  const perHost = new Map(stack.hosts.map((h) => [h.name, [showStat(BACKEND), ...(writes.get(h.name) ?? [])]]));
  return (await oneConnectionPerCommand(new Map(stack.hosts.map((h) => [h.name, h.statsPort])), perHost)).ms;
}

async function oneEvent(stack: LifecycleStack, instance: Instance, n: number): Promise<Sample> {
  const calls = new CallLog();
  stack.seam = (deps) => ({
    ...deps,
    store: timedPort(deps.store, 'store', () => calls),
    fleet: timedPort(deps.fleet, 'fleet', () => calls),
  });
  let programmedAt: number | undefined;
  const programmed = new Promise<void>((resolve) => {
    calls.onCall = (call) => {
      if (programmedAt === undefined && programsEveryHost(call, stack.fleet)) {
        programmedAt = call.end;
        resolve();
      }
    };
  });
  const event = lifecycleEvent(launch, { EC2InstanceId: instance.id, LifecycleActionToken: randomUUID() });
  const frontends = stack.hosts.map((h) => h.frontendPort(BACKEND));
  const t0 = performance.now();
  const run = stack.handler(event, lambdaContext(30_000)).then((r) => ({ r, end: performance.now() }));
  // Nothing can answer before the slot is programmed (every other slot is in maint), so polling starts there.
  const served = Promise.race([programmed, run]).then(() =>
    firstServed(frontends, instance.id, performance.now() + SERVED_DEADLINE_MS),
  );
  const { r, end } = await run;
  const servedAt = await served;
  stack.seam = undefined;
  const summary = r as { completion?: string; slots?: ReadonlyArray<{ slot?: string }> };
  const slot = summary.slots?.[0]?.slot;
  if (summary.completion !== 'CONTINUE' || !slot || programmedAt === undefined || servedAt === undefined) {
    throw new Error(`launch of ${instance.id} did not finish: ${JSON.stringify(r)}, served=${servedAt !== undefined}`);
  }
  const until = programmedAt;
  const before = [...calls.calls].filter((c) => c.start < until).sort((a, b) => a.start - b.start);
  const perHost = new Map<string, Command[]>();
  const writes = new Map<string, Command[]>();
  for (const call of before.filter((c) => c.port === 'fleet')) {
    for (const [host, commands] of commandsOf(call, stack.fleet.hosts)) {
      perHost.set(host, [...(perHost.get(host) ?? []), ...commands]);
      if (call.method === 'run') writes.set(host, [...(writes.get(host) ?? []), ...commands]);
    }
  }
  const baseline = await oneConnectionPerCommand(new Map(stack.hosts.map((h) => [h.name, h.statsPort])), perHost);
  // Free the slot for the next event so that "served" can only ever be the new instance. The limit and the seed-style
  // baseline replay the same programming commands on the freed slot (with the read-back the handler sent beside them).
  await stack.store.apply(BACKEND, { member: instance.id }, { kind: 'release' });
  // The read-back as the handler sends it for a slot whose id it knows: servers state and the slot's one stat row.
  const readBack = [showServersState(BACKEND), showStat(BACKEND, await serverId(stack, slot))];
  const bareBatchMs = await bareBatch(
    stack,
    new Map(stack.hosts.map((h) => [h.name, [...(writes.get(h.name) ?? []), ...readBack]])),
  );
  const seedBaselineMs = await seedStyle(stack, writes);
  const bareTransactionMs = await bareTransaction(stack, n);
  const freed = await stack.fleet.broadcast([setState(BACKEND, slot, 'maint')]);
  if (!freed.every((h) => h.ok)) throw new Error(`could not put ${slot} back in maint: ${JSON.stringify(freed)}`);
  const tableMs = unionMs(
    before.filter((c) => c.port === 'store'),
    t0,
    until,
  );
  const haproxyMs = unionMs(
    before.filter((c) => c.port === 'fleet'),
    t0,
    until,
  );
  const programmedMs = until - t0;
  return {
    tableMs,
    haproxyMs,
    otherMs: programmedMs - unionMs(before, t0, until),
    haproxyCriticalMs: unionMs(before, t0, until) - tableMs,
    bareTransactionMs,
    bareBatchMs,
    seedBaselineMs,
    programmedMs,
    servedMs: servedAt - t0,
    totalMs: end - t0,
    baselineHaproxyMs: baseline.ms,
    baselineCommands: baseline.commands,
    baselineBadReplies: baseline.badReplies,
  };
}

/** 200 launch events in a row (after 5 warm-up events), 3 hosts, health check `inter 200ms` with the health gate on. */
export async function benchEventToReady(): Promise<object> {
  const port = await freePort();
  const pool = Array.from({ length: SLOTS }, (_, i) => ({
    id: `i-0e7e${(i + 1).toString(16).padStart(13, '0')}`,
    address: `127.0.0.${41 + i}`,
  }));
  const addresses = new Map(pool.map((p) => [p.id, p.address]));
  const instances = await Promise.all(pool.map((p) => startInstanceAt(p.id, p.address, port)));
  let stack: LifecycleStack | undefined;
  try {
    stack = await startLifecycleStack({
      hosts: HOSTS,
      specs: [{ name: BACKEND, slotPrefix: 'web', slots: SLOTS, check: true, checkInterMs: 200 }],
      backends: [
        {
          name: BACKEND,
          slotPrefix: 'web',
          port,
          autoScalingGroups: ['web-asg'],
          drainSeconds: 30,
          healthGate: { enabled: true, timeoutSeconds: 20 },
        },
      ],
      addressOf: (id) => addresses.get(id),
    });
    const samples: Sample[] = [];
    for (let k = 0; k < WARMUP + EVENTS; k++) {
      const sample = await oneEvent(stack, instances[k % instances.length] as Instance, k);
      if (k >= WARMUP) samples.push(sample);
      if ((k + 1) % 50 === 0) log(`eventToReady: ${k + 1}/${WARMUP + EVENTS} events`);
    }
    return summarise(samples);
  } finally {
    await stack?.stop();
    await Promise.all(instances.map((i) => i.close()));
  }
}

function summarise(samples: readonly Sample[]): object {
  const d = (pick: (s: Sample) => number) => distribution(samples.map(pick));
  const phases = {
    programmed: d((s) => s.programmedMs),
    table: d((s) => s.tableMs),
    haproxy: d((s) => s.haproxyMs),
    other: d((s) => s.otherMs),
    served: d((s) => s.servedMs),
    total: d((s) => s.totalMs),
    bareTransaction: d((s) => s.bareTransactionMs),
    haproxyCritical: d((s) => s.haproxyCriticalMs),
    bareBatch: d((s) => s.bareBatchMs),
    seedBaseline: d((s) => s.seedBaselineMs),
    baselineHaproxy: d((s) => s.baselineHaproxyMs),
  };
  const limitP50Ms = phases.bareTransaction.p50 + phases.bareBatch.p50;
  const limitRatio = phases.programmed.p50 / limitP50Ms;
  const bareBatchRatio = phases.haproxy.p50 / phases.bareBatch.p50;
  const seedBaselineRatio = phases.seedBaseline.p50 / phases.haproxy.p50;
  const ratio = phases.baselineHaproxy.p50 / phases.haproxy.p50;
  const bad = samples.reduce((n, s) => n + s.baselineBadReplies, 0);
  const negative = samples.filter((s) => s.otherMs < 0 || s.tableMs < 0 || s.haproxyMs < 0).length;
  const metrics: MetricRow[] = [
    info(
      'programmed on every host (event → addr + drain applied on all 3), p50 / p99',
      `${phases.programmed.p50} / ${phases.programmed.p99}`,
      'ms',
    ),
    info(
      'limit: bare TransactWriteItems p50 + bare pipelined batch to all hosts p50',
      `${phases.bareTransaction.p50} + ${phases.bareBatch.p50} = ${Math.round(limitP50Ms * 100) / 100}`,
      'ms',
    ),
    atMost('programmed p50 ÷ limit p50', limitRatio, 1.5, '×'),
    info('… table (union of slot store calls), p50 / p99', `${phases.table.p50} / ${phases.table.p99}`, 'ms'),
    info(
      '… HAProxy (union of fleet calls, all hosts), p50 / p99',
      `${phases.haproxy.p50} / ${phases.haproxy.p99}`,
      'ms',
    ),
    atMost('HAProxy phase p50 ÷ bare batch p50', bareBatchRatio, 1.5, '×'),
    info(
      '… of it on the critical path (fleet time while no table call runs), p50 / p99',
      `${phases.haproxyCritical.p50} / ${phases.haproxyCritical.p99}`,
      'ms',
    ),
    info(
      '… other (EC2, middlewares, the handler itself: time in no port), p50 / min',
      `${phases.other.p50} / ${phases.other.min}`,
      'ms',
    ),
    exactly('events with a negative phase', negative, 0),
    info(
      'seed-style baseline (show stat, then one connection per command, host after host), p50',
      phases.seedBaseline.p50,
      'ms',
    ),
    atLeast('seed-style baseline p50 ÷ our HAProxy phase p50', seedBaselineRatio, 3),
    info(
      'seed-style baseline p50 ÷ bare batch p50 (the most any implementation could reach here)',
      Math.round((phases.seedBaseline.p50 / phases.bareBatch.p50) * 100) / 100,
      '×',
    ),
    info(
      'same commands, one connection each (the earlier baseline), p50; ratio',
      `${phases.baselineHaproxy.p50}; ${Math.round(ratio * 100) / 100}×`,
      'ms',
    ),
    info(
      'first request served (health gate, inter 200ms), p50 / p99',
      `${phases.served.p50} / ${phases.served.p99}`,
      'ms',
    ),
    info('handler total (incl. health gate, completion), p50 / p99', `${phases.total.p50} / ${phases.total.p99}`, 'ms'),
    exactly('baseline replies that were not a success', bad, 0),
  ];
  return {
    events: samples.length,
    warmup: WARMUP,
    hosts: HOSTS,
    slots: SLOTS,
    programmedP50Ms: phases.programmed.p50,
    limitP50Ms,
    limitRatio,
    haproxyP50Ms: phases.haproxy.p50,
    bareBatchP50Ms: phases.bareBatch.p50,
    seedBaselineP50Ms: phases.seedBaseline.p50,
    seedBaselineRatio,
    phases,
    ratio,
    metrics,
    pass: allPass(metrics),
  };
}
