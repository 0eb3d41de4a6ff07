// Benchmark (issue 10 §3): one reconcile pass at fleet scale — 50 real HAProxy hosts × 2,000 slots (4 backends × 500),
// 10% drift per host — through the real handler in a child process, checked by reading `show stat` back; and the same
// at 10 × 1,000 and 25 × 2,000 so the cost per host·slot can be compared.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reconcile } from '../functions/lib/services/reconcile.js';
import { log } from './lib.js';
import { applyDirect, driftCommands, type ReconcileFixture, startReconcileFixture } from './reconcile-fixture.js';
import { bundleChild, measuredPass, rssMb, startChild } from './reconcile-scale-runner.js';
import { allPass, atMost, exactly, info, type MetricRow } from './report.js';
import { type Readback, readback } from './stat-readback.js';
import { CallLog, timedPort } from './timing-ports.js';

const SLOTS_PER_BACKEND = 500;
const MAX_HOSTS = 50;
const MAX_BACKENDS = 4;
const DRIFT = 0.1;
const GOAL_MS = 3_000;
const GOAL_RSS_MB = 256;
/** Smallest first: a reader compares ms per host·slot down the list. The last one carries the goals. */
const SHAPES = [
  { hosts: 10, backends: 2 },
  { hosts: 25, backends: 4 },
  { hosts: 50, backends: 4 },
] as const;
/**
 * The same fleet with drift on a few hosts only (as a restart with an old state file, or a hand edit, makes it): their
 * slots live at a wrong address are moved back within the pass, which looks again at those hosts alone.
 */
const FEW_HOSTS_DRIFT = { hosts: 50, backends: 4, driftHosts: 4 } as const;

interface Shape {
  readonly hosts: number;
  readonly backends: number;
  /** Hosts the drift is applied to (the first ones); all when absent. */
  readonly driftHosts?: number;
}

const r1 = (v: number) => Math.round(v * 10) / 10;

const mismatches = (r: Pick<Readback, 'awaitingReaddress' | 'other'>) => r.awaitingReaddress + r.other;

async function runShape(f: ReconcileFixture, bundle: string, shape: Shape, seed: number) {
  const few = shape.driftHosts === undefined ? '' : ` drift on ${shape.driftHosts} hosts`;
  const label = `${shape.hosts}×${shape.backends * SLOTS_PER_BACKEND}${few}`;
  const backends = f.backends.slice(0, shape.backends);
  const hosts = f.fleet.hosts.slice(0, shape.hosts);
  const records = (await Promise.all(backends.map((b) => f.store.list(b.name)))).flat();
  const drift = driftCommands(hosts.slice(0, shape.driftHosts ?? hosts.length), records, DRIFT, seed);
  await applyDirect(f.statsPorts, drift);
  const driftApplied = [...drift.values()].reduce((n, c) => n + c.length, 0);
  const before = await readback(f.statsPorts, hosts, records);
  const config = {
    hosts: f.config.hosts.slice(0, shape.hosts),
    backends: backends.map((b) => ({ name: b.name, slotPrefix: b.slotPrefix, port: b.port })),
  };
  const child = await startChild(
    f,
    bundle,
    config,
    `reconcile-${label.replace('×', 'x').replaceAll(' ', '-')}.cpuprofile`,
  );
  try {
    const hostPids = f.hosts.slice(0, shape.hosts).map((h) => h.pid);
    const measured = await measuredPass(child, hostPids);
    const first = measured.result;
    const afterFirst = await readback(f.statsPorts, hosts, records);
    const second = await child.pass();
    const afterSecond = await readback(f.statsPorts, hosts, records);
    const hostSlots = shape.hosts * records.length;
    log(
      `reconcileScale ${label}: pass ${first.passMs.toFixed(0)} ms, peak RSS ${first.peakRssMb} MB, ` +
        `${first.summary.commandsSent} commands; after it ${afterFirst.other} wrong + ${afterFirst.awaitingReaddress} ` +
        `awaiting re-address; second pass ${second.passMs.toFixed(0)} ms, then ${mismatches(afterSecond)} wrong`,
    );
    return {
      hosts: shape.hosts,
      driftHosts: shape.driftHosts,
      backends: shape.backends,
      slots: records.length,
      hostSlots,
      passMs: r1(first.passMs),
      cpuMs: first.cpuMs,
      haproxyCpuMs: measured.haproxyCpuMs,
      machineBusyMs: measured.machineBusyMs,
      msPerHostSlot: Math.round((first.passMs / hostSlots) * 1e5) / 1e5,
      usPerHostSlot: r1((first.passMs * 1000) / hostSlots),
      cpuUsPerHostSlot: r1((first.cpuMs * 1000) / hostSlots),
      peakRssMb: first.peakRssMb,
      rssBeforePassMb: first.rssBeforeMb,
      rssAfterImportMb: child.rssAfterImportMb,
      heapUsedAfterPassMb: first.heapUsedAfterMb,
      childStartMs: r1(child.startMs),
      phasesMs: first.phases,
      driftApplied,
      driftVisibleBefore: mismatches(before),
      driftFound: first.summary.driftFound,
      commandsSent: first.summary.commandsSent,
      hostFailures: first.summary.failures.length + second.summary.failures.length,
      failures: [...first.summary.failures, ...second.summary.failures].slice(0, 3),
      afterPass: {
        awaitingReaddress: afterFirst.awaitingReaddress,
        other: afterFirst.other,
        examples: afterFirst.examples,
      },
      secondPass: {
        passMs: r1(second.passMs),
        cpuMs: second.cpuMs,
        commandsSent: second.summary.commandsSent,
        peakRssMb: second.peakRssMb,
        wrongAfter: mismatches(afterSecond),
        examples: afterSecond.examples,
      },
    };
  } finally {
    await child.stop();
  }
}

type ShapeResult = Awaited<ReturnType<typeof runShape>>;

type Marginal = { from: string; to: string; usPerHostSlot: number; cpuUsPerHostSlot: number };

function metricsOf(
  shapes: readonly ShapeResult[],
  fewHosts: ShapeResult,
  marginal: readonly Marginal[],
  setup: Record<string, number>,
) {
  const big = shapes.at(-1) as ShapeResult;
  const rows: MetricRow[] = [
    atMost(`one pass, ${big.hosts} hosts × ${big.slots.toLocaleString('en-US')} slots`, big.passMs, GOAL_MS),
    atMost('peak RSS of the process running it', big.peakRssMb, GOAL_RSS_MB, 'MB'),
  ];
  for (const s of shapes) {
    const l = `${s.hosts} × ${s.slots.toLocaleString('en-US')}`;
    rows.push(
      info(`${l}: pass / per host·slot / peak RSS`, `${s.passMs} ms / ${s.usPerHostSlot} µs / ${s.peakRssMb} MB`),
      info(
        `${l}: phases observe / list / apply`,
        `${s.phasesMs['fleet.observe'] ?? 0} / ${s.phasesMs['store.list'] ?? 0} / ${s.phasesMs['fleet.run'] ?? 0} ms`,
      ),
      info(
        `${l}: CPU during the pass: reconcile process / HAProxy hosts / whole machine (2 cores)`,
        `${s.cpuMs} / ${s.haproxyCpuMs} / ${s.machineBusyMs} ms`,
      ),
      info(
        `${l}: observe end → first batch handed to the fleet (plan TTL 1,000 ms)`,
        s.phasesMs.observeEndToRunStart ?? -1,
        'ms',
      ),
      info(`${l}: drift applied / found / commands sent`, `${s.driftApplied} / ${s.driftFound} / ${s.commandsSent}`),
      exactly(`${l}: drifted slots visible before the pass (show stat)`, s.driftVisibleBefore, s.driftApplied),
      exactly(`${l}: host failures`, s.hostFailures, 0),
      exactly(`${l}: slots still wrong after the pass (besides awaiting re-address)`, s.afterPass.other, 0),
      // Every host has moves: the pass's later looks take them 4 hosts at a time (services/reconcile.ts), none waits.
      exactly(`${l}: slots left in MAINT awaiting re-address (for the next pass)`, s.afterPass.awaitingReaddress, 0),
      exactly(`${l}: slots wrong after a second pass`, s.secondPass.wrongAfter, 0),
      info(
        `${l}: second pass / its peak RSS (same process)`,
        `${s.secondPass.passMs} ms / ${s.secondPass.peakRssMb} MB`,
      ),
    );
  }
  const f = `${fewHosts.hosts} × ${fewHosts.slots.toLocaleString('en-US')}, drift on ${fewHosts.driftHosts} hosts`;
  rows.push(
    info(`${f}: pass / peak RSS`, `${fewHosts.passMs} ms / ${fewHosts.peakRssMb} MB`),
    info(
      `${f}: drift applied / found / commands sent`,
      `${fewHosts.driftApplied} / ${fewHosts.driftFound} / ${fewHosts.commandsSent}`,
    ),
    exactly(`${f}: host failures`, fewHosts.hostFailures, 0),
    exactly(
      `${f}: slots wrong after the pass, moves included (re-addressed in the pass)`,
      mismatches(fewHosts.afterPass),
      0,
    ),
  );
  for (const m of marginal)
    rows.push(
      info(
        `from ${m.from} to ${m.to}: each further host·slot, wall / CPU`,
        `${m.usPerHostSlot} / ${m.cpuUsPerHostSlot} µs`,
      ),
    );
  rows.push(
    info('setup: 50 HAProxy + DynamoDB Local started', setup.startMs ?? 0, 'ms'),
    info('setup: table seeded and claimed', (setup.seedMs ?? 0) + (setup.claimsMs ?? 0), 'ms'),
    info('setup: programming pass (every slot from the template)', setup.programmingPassMs ?? 0, 'ms'),
    info(
      'setup: its observe end → first batch (default plan TTL 1,000 ms; run with 10,000)',
      setup.programmingObserveEndToRunStartMs ?? -1,
      'ms',
    ),
    info('setup: HAProxy RSS per process (mean)', setup.haproxyRssMbMean ?? 0, 'MB'),
  );
  return rows;
}

/** Issue 10 §3: goals one pass ≤ 3 s and peak RSS ≤ 256 MB at 50 × 2,000; every drifted slot verified repaired. */
export async function benchReconcileScale(): Promise<object> {
  const started = performance.now();
  log(`reconcileScale: starting ${MAX_HOSTS} HAProxy (${MAX_BACKENDS} × ${SLOTS_PER_BACKEND} slots) + DynamoDB Local`);
  const dir = mkdtempSync(join(tmpdir(), 'reconcile-scale-'));
  const [fixture, bundled] = await Promise.allSettled([
    startReconcileFixture(
      { hosts: MAX_HOSTS, backends: MAX_BACKENDS, slotsPerBackend: SLOTS_PER_BACKEND, occupancy: 0.8 },
      { directClaims: true },
    ),
    bundleChild(dir),
  ]);
  if (fixture.status === 'rejected' || bundled.status === 'rejected') {
    if (fixture.status === 'fulfilled') await fixture.value.stop();
    rmSync(dir, { recursive: true, force: true });
    throw fixture.status === 'rejected' ? fixture.reason : (bundled as PromiseRejectedResult).reason;
  }
  const [f, bundle] = [fixture.value, bundled.value];
  try {
    const rss = rssMb(f.hosts.map((h) => h.pid));
    const programming = performance.now();
    // Setup, untimed: every slot from the template (213k commands) takes longer to plan than the default plan TTL.
    const setupConfig = { ...f.config, timeouts: { ...f.config.timeouts, planTtlMs: 10_000 } };
    const calls = new CallLog();
    const timed = { ...f.deps, fleet: timedPort(f.fleet, 'fleet', () => calls) };
    const report = await reconcile({ backends: f.backends }, setupConfig, timed);
    const observed = calls.calls.find((c) => c.method === 'observe');
    const run = calls.calls.find((c) => c.method === 'run');
    const programmingPassMs = performance.now() - programming;
    if (report.failures.length > 0) throw new Error(`programming pass failed: ${JSON.stringify(report.failures)}`);
    const all = (await Promise.all(f.backends.map((b) => f.store.list(b.name)))).flat();
    let programmed = await readback(f.statsPorts, f.fleet.hosts, all);
    // HAPROXY_BIN=3.x: `addr` is applied asynchronously, so a slot's state follows in a later round, and a pass given
    // no time to wait (no `until`) leaves it for the next one. One more pass then, untimed, as a deployment's next run.
    if (mismatches(programmed) > 0) {
      await reconcile({ backends: f.backends }, setupConfig, f.deps);
      programmed = await readback(f.statsPorts, f.fleet.hosts, all);
    }
    if (mismatches(programmed) > 0)
      throw new Error(`hosts differ after programming: ${programmed.examples.join('; ')}`);
    const setup = {
      startMs: r1(f.setupMs.start),
      seedMs: r1(f.setupMs.seed),
      claimsMs: r1(f.setupMs.claims),
      programmingPassMs: r1(programmingPassMs),
      // Every slot from the template: 213,200 commands. Beyond the default plan TTL (1,000 ms) it would be refused.
      programmingObserveEndToRunStartMs: observed && run ? r1(run.start - observed.end) : -1,
      totalMs: r1(performance.now() - started),
      haproxyRssMbMean: r1(rss.reduce((a, b) => a + b, 0) / rss.length),
      haproxyRssMbTotal: r1(rss.reduce((a, b) => a + b, 0)),
    };
    log(`reconcileScale: setup ${setup.totalMs} ms (${JSON.stringify(setup)})`);
    const shapes: ShapeResult[] = [];
    for (const [i, shape] of SHAPES.entries()) shapes.push(await runShape(f, bundle, shape, 7_001 + i));
    // The fixed part (table read, handler, connections) weighs on small shapes: the step from one shape to the next
    // shows what one more host·slot costs.
    const marginal = shapes.slice(1).map((s, i) => {
      const prev = shapes[i] as ShapeResult;
      return {
        from: `${prev.hosts}×${prev.slots}`,
        to: `${s.hosts}×${s.slots}`,
        usPerHostSlot: r1(((s.passMs - prev.passMs) * 1000) / (s.hostSlots - prev.hostSlots)),
        cpuUsPerHostSlot: r1(((s.cpuMs - prev.cpuMs) * 1000) / (s.hostSlots - prev.hostSlots)),
      };
    });
    const fewHosts = await runShape(f, bundle, FEW_HOSTS_DRIFT, 7_101);
    const big = shapes.at(-1) as ShapeResult;
    const metrics = metricsOf(shapes, fewHosts, marginal, setup);
    const repaired = [...shapes, fewHosts].every(
      (s) => s.afterPass.other === 0 && s.secondPass.wrongAfter === 0 && s.driftVisibleBefore === s.driftApplied,
    );
    return {
      hosts: big.hosts,
      slots: big.slots,
      passMs: big.passMs,
      peakRssMb: big.peakRssMb,
      msPerHostSlot: big.msPerHostSlot,
      goal: {
        passMsAtMost: GOAL_MS,
        peakRssMbAtMost: GOAL_RSS_MB,
        repairedVerified: repaired,
        met: big.passMs <= GOAL_MS && big.peakRssMb <= GOAL_RSS_MB && repaired && big.hostFailures === 0,
      },
      rssMeasured:
        'getrusage ru_maxrss (lifetime peak) of a fresh node process running the esbuild bundle of the reconcile ' +
        'handler (as packaged) for this one invocation; the harness, HAProxy and DynamoDB Local are other processes',
      shapes,
      fewHostsDrift: fewHosts,
      marginal,
      setup,
      metrics,
      pass: allPass(metrics),
    };
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
