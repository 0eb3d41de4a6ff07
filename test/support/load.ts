// Steady, bounded HTTP load through a loopback frontend: N requests/s for at most T seconds, counting every outcome.
import { httpGet } from '../../bin/harness/instances.js';

/** How much load, where, and for how long at most. */
export interface LoadOptions {
  /** Frontend port on 127.0.0.1. */
  readonly port: number;
  readonly ratePerSecond: number;
  /** Hard stop: no request is started after this, even if nobody calls `stop()`. */
  readonly maxSeconds: number;
  readonly path?: string;
  /** Per-request timeout; a request that takes longer counts as failed (default 5 s). */
  readonly timeoutMs?: number;
  /** Requests in flight beyond this are not started but counted as `skipped` (default 200), so load stays bounded. */
  readonly maxInFlight?: number;
}

/** Counts so far: every started request ends up in exactly one of `ok` or `failed`. */
export interface LoadReport {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  readonly skipped: number;
  readonly inFlight: number;
  /** Responses by HTTP status (`error` for a connection error or timeout). */
  readonly statuses: Readonly<Record<string, number>>;
  /** 2xx responses by the body, which the sample instances set to their id. */
  readonly byInstance: Readonly<Record<string, number>>;
  /** The first few failures, for the assertion message. */
  readonly failures: readonly string[];
}

/** A running load: `snapshot()` at any time, `stop()` to end early; `done` settles once it stopped by itself. */
export interface LoadRun {
  snapshot(): LoadReport;
  /** Starts no more requests and resolves once every request in flight has settled. */
  stop(): Promise<LoadReport>;
  readonly done: Promise<LoadReport>;
}

const TICK_MS = 5;
const KEPT_FAILURES = 10;

/** Starts the load at once; requests are spread evenly (one connection each, no keep-alive). */
export function startLoad(options: LoadOptions): LoadRun {
  const { port, ratePerSecond, maxSeconds, path = '/', timeoutMs = 5_000, maxInFlight = 200 } = options;
  const statuses: Record<string, number> = {};
  const byInstance: Record<string, number> = {};
  const failures: string[] = [];
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let skipped = 0;
  const inFlight = new Set<Promise<void>>();
  const started = Date.now();
  const bump = (record: Record<string, number>, key: string) => {
    record[key] = (record[key] ?? 0) + 1;
  };
  const fail = (what: string, key: string) => {
    failed++;
    bump(statuses, key);
    if (failures.length < KEPT_FAILURES) failures.push(`${Date.now() - started}ms: ${what}`);
  };

  const fire = () => {
    sent++;
    const request = httpGet(port, path, timeoutMs).then(
      ({ status, body }) => {
        if (status >= 200 && status < 300) {
          ok++;
          bump(statuses, String(status));
          bump(byInstance, body);
        } else fail(`HTTP ${status} ${body.slice(0, 80)}`, String(status));
      },
      (error: Error) => fail(error.message, 'error'),
    );
    const tracked = request.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  const snapshot = (): LoadReport => ({
    sent,
    ok,
    failed,
    skipped,
    inFlight: inFlight.size,
    statuses: { ...statuses },
    byInstance: { ...byInstance },
    failures: [...failures],
  });

  let resolveDone: (report: LoadReport) => void = () => {};
  const done = new Promise<LoadReport>((resolve) => {
    resolveDone = resolve;
  });
  let stopped = false;
  const stop = async (): Promise<LoadReport> => {
    if (!stopped) {
      stopped = true;
      clearInterval(timer);
    }
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    const report = snapshot();
    resolveDone(report);
    return report;
  };

  // Catch up to the schedule on every tick, so timer jitter does not lower the rate.
  const timer = setInterval(() => {
    const elapsed = Date.now() - started;
    if (elapsed >= maxSeconds * 1_000) {
      void stop();
      return;
    }
    const due = Math.floor((elapsed / 1_000) * ratePerSecond) + 1;
    while (sent + skipped < due) {
      if (inFlight.size >= maxInFlight) skipped++;
      else fire();
    }
  }, TICK_MS);

  return { snapshot, stop, done };
}
