// Operator CLI: the rows of a status report — one per slot, one cell per host — from the table and the observations.
import type { BackendConfig } from '../../functions/lib/config.js';
import { naturalCompare } from '../../functions/lib/domain/natural-order.js';
import type { HostObservation, ObservedSlot, SlotRecord } from '../../functions/lib/domain/types.js';
import type { Drift } from '../../functions/lib/plan/types.js';

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
      /** Held in drain by the health gate until its first passing check (not drift: the gate at work). */
      readonly awaitingHealth: boolean;
    };

/** One slot: the table's record (state `unknown` when only hosts know it, or the table is unreachable). */
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

/** The table as the planner gets it: each backend's config and every slot record. */
export type Desired = readonly { config: BackendConfig; slots: readonly SlotRecord[] }[];

/** The planner leaves held slots alone; status still checks that every host has them as the operator asked. */
export function heldDrift(desired: Desired, observed: readonly HostObservation[]): Drift[] {
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

export function backendRows(
  backend: string,
  slots: readonly SlotRecord[],
  observed: readonly HostObservation[],
  drift: readonly Drift[],
  awaiting: readonly Drift[],
): StatusRow[] {
  const unknown = drift.filter((d) => d.backend === backend && d.kind === 'unknown-slot').map((d) => d.slot);
  const names = [...new Set([...slots.map((s) => s.slot), ...unknown])].sort(naturalCompare);
  return names.map((slot) => {
    const r = slots.find((s) => s.slot === slot);
    const hosts = observed.map((h) => cell(h, backend, slot, drift, awaiting));
    if (!r) return { backend, slot, state: 'unknown', hosts };
    const { state, member, address, port, weight, heldAdmin, drainDeadline } = r;
    return { backend, slot, state, member, address, port, weight, heldAdmin, drainDeadline, hosts };
  });
}

/** Without the table: every template slot any host reports (the names the table is seeded from), state unknown. */
export function hostOnlyRows(backend: BackendConfig, observed: readonly HostObservation[]): StatusRow[] {
  const names = new Set<string>();
  for (const h of observed) {
    if (!h.ok) continue;
    for (const s of h.backends.get(backend.name) ?? [])
      if (s.server.startsWith(backend.slotPrefix)) names.add(s.server);
  }
  return [...names].sort(naturalCompare).map((slot) => ({
    backend: backend.name,
    slot,
    state: 'unknown',
    hosts: observed.map((h) => cell(h, backend.name, slot, [], [])),
  }));
}

function cell(
  h: HostObservation,
  backend: string,
  slot: string,
  drift: readonly Drift[],
  awaiting: readonly Drift[],
): HostCell {
  if (!h.ok) return { host: h.host, reachable: false };
  const mine = (d: Drift) => d.host === h.host && d.backend === backend && d.slot === slot;
  const kinds = drift.filter(mine).map((d) => d.kind);
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
    awaitingHealth: awaiting.some(mine),
  };
}
