// Child of the reconcileScale benchmark: the real reconcile Lambda handler alone in a fresh process (env as deployed),
// so its peak RSS is the pass's and not the harness's. Driven over IPC: {kind:'pass'} runs one invocation.
// A static import, as the function's own entry: esbuild tree-shakes it like the packaged bundle (a dynamic import
// would keep every module whole, ~0.5 MB more). The parent sets the env before this process starts.
import { handler } from '../functions/reconcile/handler.js';
import type { SlotSyncContext } from '../functions/shared/config-middleware.js';
import { lambdaContext } from '../test/support/lambda.js';
import { CallLog, timedPort } from './timing-ports.js';

/** What one invocation reports to the parent. */
export interface PassResult {
  readonly kind: 'result';
  readonly passMs: number;
  /** RSS right before the invocation and this process's lifetime peak right after it (getrusage ru_maxrss). */
  readonly rssBeforeMb: number;
  readonly peakRssMb: number;
  readonly heapUsedAfterMb: number;
  /** CPU time this process spent in the invocation (user + system): the rest of passMs is waiting on the peers. */
  readonly cpuMs: number;
  /** Wall time of each port method, first call's start to last call's end (calls of one method overlap). */
  readonly phases: Readonly<Record<string, number>>;
  readonly summary: {
    readonly driftFound: number;
    readonly commandsSent: number;
    readonly failures: readonly unknown[];
    readonly rounds: number;
    readonly slots: number;
  };
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
// ru_maxrss is in KiB on Linux.
const peakMb = () => Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;

/**
 * From the end of the first observation to the first batch handed to the fleet: the table read and the plan. The
 * fence allows `timeouts.planTtlMs` (default 1,000 ms) from the read to the write; the transport renders and connects
 * on top of this before it checks.
 */
function readToRun(log: CallLog): number | undefined {
  const observed = log.calls.find((c) => c.port === 'fleet' && c.method === 'observe');
  const run = log.calls.find((c) => c.port === 'fleet' && c.method === 'run');
  return observed && run ? Math.round((run.start - observed.end) * 10) / 10 : undefined;
}

function spans(log: CallLog): Record<string, number> {
  const out: Record<string, { start: number; end: number }> = {};
  for (const c of log.calls) {
    const key = `${c.port}.${c.method}`;
    const s = out[key];
    out[key] = s ? { start: Math.min(s.start, c.start), end: Math.max(s.end, c.end) } : { start: c.start, end: c.end };
  }
  return Object.fromEntries(Object.entries(out).map(([k, s]) => [k, Math.round((s.end - s.start) * 10) / 10]));
}

// Nothing here may print to stdout before the result: the parent ignores it, the Powertools logger writes there.
if (!process.send) throw new Error('reconcile-scale-child.ts runs under the benchmark (IPC channel expected)');
let log = new CallLog();
handler.before((request) => {
  const context = request.context as SlotSyncContext;
  const deps = context.deps;
  context.deps = {
    ...deps,
    store: timedPort(deps.store, 'store', () => log),
    fleet: timedPort(deps.fleet, 'fleet', () => log),
  };
});
process.on('message', async (message: { kind: string }) => {
  // process.exit, not a signal: `--cpu-prof` writes its profile on exit, and idle SDK sockets must not keep us alive.
  if (message.kind === 'exit') process.exit(0);
  if (message.kind !== 'pass') return;
  log = new CallLog();
  const rssBeforeMb = mb(process.memoryUsage().rss);
  const cpu = process.cpuUsage();
  const start = performance.now();
  const out = (await handler({}, lambdaContext(60_000, 'reconcile') as SlotSyncContext)) as PassResult['summary'];
  const passMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const result: PassResult = {
    kind: 'result',
    passMs,
    rssBeforeMb,
    peakRssMb: peakMb(),
    heapUsedAfterMb: mb(process.memoryUsage().heapUsed),
    cpuMs: Math.round((used.user + used.system) / 100) / 10,
    phases: { ...spans(log), observeEndToRunStart: readToRun(log) ?? -1 },
    summary: {
      driftFound: out.driftFound,
      commandsSent: out.commandsSent,
      failures: out.failures,
      rounds: out.rounds,
      slots: out.slots,
    },
  };
  // The log holds this pass's observations and table reads (call arguments and results): let them go before the next.
  log = new CallLog();
  process.send?.(result);
});
process.send({ kind: 'ready', rssMb: mb(process.memoryUsage().rss), peakRssMb: peakMb() });
