// Benchmark (issue 6): one launch event through the real lifecycle handler → slot programmed on every host → first
// request served, 200 events in a row, next to the same commands sent host after host, one connection per command.
import { randomUUID } from 'node:crypto';
import { delay } from '../bin/harness/haproxy-util.js';
import { httpGet, type Instance, startInstanceAt } from '../bin/harness/instances.js';
import { freePort } from '../bin/harness/ports.js';
import { type Command, setState } from '../functions/lib/domain/commands.js';
import launch from '../test/fixtures/events/launch.json' with { type: 'json' };
import { lambdaContext, lifecycleEvent } from '../test/support/lambda.js';
import { oneConnectionPerCommand } from './baseline.js';
import { log } from './lib.js';
import { type LifecycleStack, startLifecycleStack } from './lifecycle-stack.js';
import { allPass, atLeast, atMost, distribution, exactly, info, type MetricRow } from './report.js';
import { CallLog, commandsOf, programsEveryHost, timedPort } from './timing-ports.js';

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

async function oneEvent(stack: LifecycleStack, instance: Instance): Promise<Sample> {
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
  const perHost = new Map<string, Command[]>();
  for (const call of [...calls.calls]
    .filter((c) => c.port === 'fleet' && c.end <= until)
    .sort((a, b) => a.start - b.start)) {
    for (const [host, commands] of commandsOf(call, stack.fleet.hosts))
      perHost.set(host, [...(perHost.get(host) ?? []), ...commands]);
  }
  const baseline = await oneConnectionPerCommand(new Map(stack.hosts.map((h) => [h.name, h.statsPort])), perHost);
  // Free the slot for the next event so that "served" can only ever be the new instance.
  await stack.store.apply(BACKEND, { member: instance.id }, { kind: 'release' });
  const freed = await stack.fleet.broadcast([setState(BACKEND, slot, 'maint')]);
  if (!freed.every((h) => h.ok)) throw new Error(`could not put ${slot} back in maint: ${JSON.stringify(freed)}`);
  const tableMs = calls.total('store', until);
  const haproxyMs = calls.total('fleet', until);
  const programmedMs = until - t0;
  return {
    tableMs,
    haproxyMs,
    otherMs: programmedMs - tableMs - haproxyMs,
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
      const sample = await oneEvent(stack, instances[k % instances.length] as Instance);
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
    baselineHaproxy: d((s) => s.baselineHaproxyMs),
    baselineProgrammed: d((s) => s.programmedMs - s.haproxyMs + s.baselineHaproxyMs),
  };
  const ratio = phases.baselineHaproxy.p50 / phases.haproxy.p50;
  const endToEndRatio = phases.baselineProgrammed.p50 / phases.programmed.p50;
  const bad = samples.reduce((n, s) => n + s.baselineBadReplies, 0);
  const metrics: MetricRow[] = [
    atMost('programmed on every host, p50 (event → addr + drain applied on all 3)', phases.programmed.p50, 25),
    info('programmed on every host, p99', phases.programmed.p99, 'ms'),
    info('… table (slot store calls), p50 / p99', `${phases.table.p50} / ${phases.table.p99}`, 'ms'),
    info('… HAProxy (observe + program, all hosts), p50 / p99', `${phases.haproxy.p50} / ${phases.haproxy.p99}`, 'ms'),
    info(
      '… other (idempotency record, EC2, middlewares), p50 / p99',
      `${phases.other.p50} / ${phases.other.p99}`,
      'ms',
    ),
    info(
      'first request served (health gate, inter 200ms), p50 / p99',
      `${phases.served.p50} / ${phases.served.p99}`,
      'ms',
    ),
    info('handler total (incl. health gate, completion), p50 / p99', `${phases.total.p50} / ${phases.total.p99}`, 'ms'),
    info(
      'baseline HAProxy: same commands, one connection each, p50 / p99',
      `${phases.baselineHaproxy.p50} / ${phases.baselineHaproxy.p99}`,
      'ms',
    ),
    atLeast('ratio baseline ÷ ours, HAProxy phase (p50)', ratio, 5),
    info('ratio baseline ÷ ours, programmed end to end (p50)', endToEndRatio, '×'),
    info('commands per event in the baseline (all hosts)', samples[0]?.baselineCommands ?? 0),
    exactly('baseline replies that were not a success', bad, 0),
  ];
  return {
    events: samples.length,
    warmup: WARMUP,
    hosts: HOSTS,
    slots: SLOTS,
    phases,
    ratio,
    endToEndRatio,
    metrics,
    pass: allPass(metrics),
  };
}
