// Operator CLI: the facts `status` shows — table vs every host, per slot — computed once for text and JSON alike.
import type { BackendConfig } from '../../functions/lib/config.js';
import { naturalCompare } from '../../functions/lib/domain/natural-order.js';
import type { HostObservation, ObservedSlot, SlotRecord } from '../../functions/lib/domain/types.js';
import { plan } from '../../functions/lib/plan/plan.js';
import type { Drift } from '../../functions/lib/plan/types.js';
import type { ServiceDeps } from '../../functions/lib/services/deps.js';

/** One host's view of one slot; `drift` lists why it differs from the table (empty = in step). */
export type HostCell =
  | { readonly host: string; readonly reachable: false }
  | { readonly host: string; readonly reachable: true; readonly present: false; readonly drift: readonly string[] }
  | {
      readonly host: string;
      readonly reachable: true;
      readonly present: true;
      readonly status: string;
      readonly sessions: number;
      readonly check: string;
      readonly admin: string;
      readonly address: string | null;
      readonly port: number | null;
      readonly weight: number;
      readonly drift: readonly string[];
    };

/** One slot: the table's record (state `unknown` when only hosts know it) and one cell per host. */
export interface StatusRow {
  readonly backend: string;
  readonly slot: string;
  readonly state: SlotRecord['state'] | 'unknown';
  readonly member?: string;
  readonly address?: string;
  readonly port?: number;
  readonly weight?: number;
  readonly heldAdmin?: string;
  readonly drainDeadline?: number;
  readonly hosts: readonly HostCell[];
}

/** Everything `status` reports. `summary.drift` counts (host, slot) pairs that differ from the table. */
export interface StatusReport {
  readonly summary: {
    readonly hosts: number;
    readonly slots: number;
    readonly active: number;
    readonly draining: number;
    readonly held: number;
    readonly drift: number;
    readonly failed: number;
  };
  readonly hosts: readonly { host: string; ok: boolean; error?: { code: string; message: string } }[];
  readonly rows: readonly StatusRow[];
  readonly drift: readonly Drift[];
}

// Waiting for a first passing check is the health gate working, not a difference to repair.
const NOT_DRIFT = new Set(['awaiting-health']);

/** Observes every host and lists the table; drift is what the planner would repair, plus held slots not as held. */
export async function buildStatus(backends: readonly BackendConfig[], deps: ServiceDeps): Promise<StatusReport> {
  const [observed, desired] = await Promise.all([
    deps.fleet.observe(backends.map((b) => b.name)),
    Promise.all(backends.map(async (config) => ({ config, slots: await deps.store.list(config.name) }))),
  ]);
  const p = plan({ desired, observed, now: deps.clock.now() });
  const drift = [...p.drift.filter((d) => !NOT_DRIFT.has(d.kind)), ...heldDrift(desired, observed)];
  const rows = desired.flatMap(({ config, slots }) => backendRows(config.name, slots, observed, drift));
  const records = desired.flatMap((d) => d.slots);
  const pairs = new Set(drift.map((d) => `${d.host}\n${d.backend}/${d.slot}`));
  return {
    summary: {
      hosts: observed.length,
      slots: records.length,
      active: records.filter((r) => r.state === 'active').length,
      draining: records.filter((r) => r.state === 'draining').length,
      held: records.filter((r) => r.state === 'held').length,
      drift: pairs.size,
      failed: observed.filter((o) => !o.ok).length,
    },
    hosts: observed.map((o) => (o.ok ? { host: o.host, ok: true } : { host: o.host, ok: false, error: o.error })),
    rows,
    drift,
  };
}

/** The planner leaves held slots alone; status still checks that every host has them as the operator asked. */
function heldDrift(
  desired: readonly { config: BackendConfig; slots: readonly SlotRecord[] }[],
  observed: readonly HostObservation[],
): Drift[] {
  const found: Drift[] = [];
  for (const { config, slots } of desired) {
    for (const r of slots) {
      if (r.state !== 'held' || r.heldAdmin === undefined) continue;
      for (const h of observed) {
        if (!h.ok) continue;
        const o = h.backends.get(config.name)?.find((s) => s.server === r.slot);
        const base = { host: h.host, backend: config.name, slot: r.slot };
        if (!o) found.push({ ...base, kind: 'missing-slot', expected: `held (${r.heldAdmin})` });
        else if (o.admin !== r.heldAdmin)
          found.push({ ...base, kind: 'admin', expected: r.heldAdmin, actual: o.admin });
      }
    }
  }
  return found;
}

function backendRows(
  backend: string,
  slots: readonly SlotRecord[],
  observed: readonly HostObservation[],
  drift: readonly Drift[],
): StatusRow[] {
  const unknown = drift.filter((d) => d.backend === backend && d.kind === 'unknown-slot').map((d) => d.slot);
  const names = [...new Set([...slots.map((s) => s.slot), ...unknown])].sort(naturalCompare);
  return names.map((slot) => {
    const r = slots.find((s) => s.slot === slot);
    const hosts = observed.map((h) => cell(h, backend, slot, drift));
    if (!r) return { backend, slot, state: 'unknown', hosts };
    const { state, member, address, port, weight, heldAdmin, drainDeadline } = r;
    return { backend, slot, state, member, address, port, weight, heldAdmin, drainDeadline, hosts };
  });
}

function cell(h: HostObservation, backend: string, slot: string, drift: readonly Drift[]): HostCell {
  if (!h.ok) return { host: h.host, reachable: false };
  const kinds = drift.filter((d) => d.host === h.host && d.backend === backend && d.slot === slot).map((d) => d.kind);
  const o: ObservedSlot | undefined = h.backends.get(backend)?.find((s) => s.server === slot);
  if (!o) return { host: h.host, reachable: true, present: false, drift: kinds };
  return {
    host: h.host,
    reachable: true,
    present: true,
    status: o.status,
    sessions: o.sessions,
    check: o.checkStatus,
    admin: o.admin,
    address: o.address,
    port: o.port,
    weight: o.weight,
    drift: kinds,
  };
}
