// Reconcile trigger: the compact summary it returns and logs, and its metrics.
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ReconcileReport } from '../lib/services/reconcile.js';
import { METRICS } from '../shared/metric-names.js';
import { metrics } from '../shared/runtime.js';

/** The report without the plan's command objects: what an operator reads in the log. */
export function summariseReconcile(r: ReconcileReport) {
  return {
    hosts: r.hosts,
    slots: r.slots,
    freeSlots: r.freeSlots,
    driftFound: r.drift.length,
    commandsSent: r.hosts.reduce((n, h) => n + h.commandsSent, 0),
    releases: r.releases,
    launches: r.launches,
    heartbeats: r.heartbeats,
    settled: r.settled,
    errors: r.errors,
    promoted: r.promoted,
    rounds: r.rounds,
    failures: r.failures,
    seeded: r.seeded,
    disagreements: r.disagreements,
    growth: r.growth,
  };
}

/** EMF metrics: drift fixed, commands sent, host failures, pass errors, releases. */
export function recordReconcileMetrics(r: ReconcileReport): void {
  metrics.addMetric(
    'driftFixed',
    MetricUnit.Count,
    r.hosts.reduce((n, h) => n + h.fixed, 0),
  );
  metrics.addMetric(
    'commandsSent',
    MetricUnit.Count,
    r.hosts.reduce((n, h) => n + h.commandsSent, 0),
  );
  metrics.addMetric('hostFailures', MetricUnit.Count, r.failures.length);
  // Transitions and owed completions the pass went on past (an AWS refusal comes back every pass until fixed).
  metrics.addMetric(METRICS.passErrors, MetricUnit.Count, r.errors.length);
  metrics.addMetric('drainsFinished', MetricUnit.Count, r.releases.filter((x) => x.released).length);
  metrics.addMetric('heartbeatsSent', MetricUnit.Count, r.heartbeats);
  for (const [backend, free] of Object.entries(r.freeSlots)) {
    // Its own EMF document, so the backend dimension does not attach to the fleet-wide metrics above.
    metrics.singleMetric().addDimension('backend', backend).addMetric('freeSlots', MetricUnit.Count, free);
  }
}
