// Operator CLI: the facts `status` and `watch` show — table vs every host, per slot — computed once for text and JSON.
import type { BackendConfig } from '../../functions/lib/config.js';
import type { SlotRecord } from '../../functions/lib/domain/types.js';
import { plan } from '../../functions/lib/plan/plan.js';
import type { Drift } from '../../functions/lib/plan/types.js';
import type { ServiceDeps } from '../../functions/lib/services/deps.js';
import { hostVersions } from './host-info.js';
import { backendRows, heldDrift, hostOnlyRows, type StatusRow } from './status-rows.js';
import { type Verdict, verdictOf } from './verdict.js';

export type { HostCell, StatusRow } from './status-rows.js';

/** An error as status reports it: a code, and one sentence saying what to do. */
export interface ReportedError {
  readonly code: string;
  readonly message: string;
}

/** The table side: read, or why not. `configuration` = credentials, region, table name (UNKNOWN, not CRITICAL). */
export type TableSide =
  | { readonly name: string; readonly ok: true }
  | {
      readonly name: string;
      readonly ok: false;
      readonly cause: 'unreachable' | 'configuration';
      readonly error: ReportedError;
    };

/** One host as the header shows it. */
export interface HostSummary {
  readonly host: string;
  /** `127.0.0.1:9999`, or the unix socket path. */
  readonly endpoint: string;
  readonly ok: boolean;
  readonly version?: string;
  readonly error?: ReportedError;
}

/** A draining slot whose deadline passed: reconcile should have finished it (WARNING). */
export interface OverdueDrain {
  readonly backend: string;
  readonly slot: string;
  readonly member?: string;
  readonly deadline: number;
}

/** Everything `status` reports. `summary.drift` counts (host, slot) pairs that differ from the table. */
export interface StatusReport {
  readonly verdict: Verdict;
  /** Epoch ms of the observation. */
  readonly at: number;
  readonly table: TableSide;
  readonly summary: {
    readonly hosts: number;
    readonly slots: number;
    readonly active: number;
    readonly free: number;
    readonly draining: number;
    readonly held: number;
    readonly drift: number;
    readonly awaitingHealth: number;
    readonly overdueDrains: number;
    readonly failed: number;
  };
  readonly hosts: readonly HostSummary[];
  readonly rows: readonly StatusRow[];
  readonly drift: readonly Drift[];
  /** `awaiting-health` findings: a slot held in drain until its first passing check. */
  readonly awaitingHealth: readonly Drift[];
  readonly overdueDrains: readonly OverdueDrain[];
  /** Backends with no free slot left: the next launch gets none. */
  readonly noFreeSlot: readonly string[];
}

/** What buildStatus needs besides the ports: where each host is, the table's name, how to word a table failure. */
export interface StatusContext {
  readonly tableName: string;
  readonly endpoints: ReadonlyMap<string, string>;
  readonly describeTableError: (error: unknown) => { cause: 'unreachable' | 'configuration'; error: ReportedError };
}

/**
 * Observes every host, asks each for its version and lists the table, all at once. A table that cannot be read does
 * not hide the hosts: the rows then come from what the hosts report and the table side says why it failed.
 */
export async function buildStatus(
  backends: readonly BackendConfig[],
  deps: ServiceDeps,
  context: StatusContext,
): Promise<StatusReport> {
  const [observed, versions, listed] = await Promise.all([
    deps.fleet.observe(backends.map((b) => b.name)),
    hostVersions(deps.fleet),
    Promise.all(backends.map(async (config) => ({ config, slots: await deps.store.list(config.name) }))).then(
      (desired) => ({ ok: true as const, desired }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
  ]);
  const now = deps.clock.now();
  const hosts = observed.map((o): HostSummary => {
    const base = { host: o.host, endpoint: context.endpoints.get(o.host) ?? '', version: versions.get(o.host) };
    return o.ok ? { ...base, ok: true } : { ...base, ok: false, error: o.error };
  });
  const failed = observed.filter((o) => !o.ok).length;
  if (!listed.ok) {
    const table: TableSide = { name: context.tableName, ok: false, ...context.describeTableError(listed.error) };
    return withVerdict({
      at: now,
      table,
      summary: { ...ZERO, hosts: observed.length, failed },
      hosts,
      rows: backends.flatMap((b) => hostOnlyRows(b, observed)),
      drift: [],
      awaitingHealth: [],
      overdueDrains: [],
      noFreeSlot: [],
    });
  }
  const desired = listed.desired;
  const p = plan({ desired, observed, now });
  const awaitingHealth = p.drift.filter((d) => d.kind === 'awaiting-health');
  const drift = [...p.drift.filter((d) => d.kind !== 'awaiting-health'), ...heldDrift(desired, observed)];
  const rows = desired.flatMap(({ config, slots }) => backendRows(config.name, slots, observed, drift, awaitingHealth));
  const records = desired.flatMap((d) => d.slots);
  const pairs = new Set(drift.map((d) => `${d.host}\n${d.backend}/${d.slot}`));
  const overdueDrains = records
    .filter((r) => r.state === 'draining' && r.drainDeadline !== undefined && r.drainDeadline < now)
    .map((r) => ({ backend: r.backend, slot: r.slot, member: r.member, deadline: r.drainDeadline as number }));
  const byState = (state: SlotRecord['state']) => records.filter((r) => r.state === state).length;
  return withVerdict({
    at: now,
    table: { name: context.tableName, ok: true },
    summary: {
      hosts: observed.length,
      slots: records.length,
      active: byState('active'),
      free: byState('free'),
      draining: byState('draining'),
      held: byState('held'),
      drift: pairs.size,
      awaitingHealth: new Set(awaitingHealth.map((d) => `${d.backend}/${d.slot}`)).size,
      overdueDrains: overdueDrains.length,
      failed,
    },
    hosts,
    rows,
    drift,
    awaitingHealth,
    overdueDrains,
    // A backend that may still grow (maxSlots above what the table has) gets its next slots when it needs them.
    noFreeSlot: desired
      .filter((d) => !d.slots.some((s) => s.state === 'free'))
      .filter((d) => d.config.maxSlots === undefined || d.slots.length >= d.config.maxSlots)
      .map((d) => d.config.name),
  });
}

const ZERO = {
  slots: 0,
  active: 0,
  free: 0,
  draining: 0,
  held: 0,
  drift: 0,
  awaitingHealth: 0,
  overdueDrains: 0,
} as const;

function withVerdict(report: Omit<StatusReport, 'verdict'>): StatusReport {
  return { verdict: verdictOf(report), ...report };
}
