// Pure planner: (desired slot table, what each host reports, now) → commands per host, drift and slot transitions.
import type { BackendConfig } from './config.js';
import type { HostBatch, HostObservation, LifecycleRef, ObservedSlot, SlotRecord } from './domain.js';
import type { Command } from './haproxy/commands.js';
import { naturalCompare } from './natural-order.js';
import { formatEndpoint, planActive, planDraining, planFree, type SlotOutcome } from './plan-slot.js';

export { naturalCompare } from './natural-order.js';
export { checkPassing } from './plan-slot.js';

/** One backend as the table wants it: its config and every slot record. */
export interface DesiredBackend {
  readonly config: Pick<BackendConfig, 'name' | 'slotPrefix' | 'healthGate'>;
  readonly slots: readonly SlotRecord[];
}

/** Everything the planner decides from. `now` is epoch milliseconds, passed in so the planner stays pure. */
export interface PlanInput {
  readonly desired: readonly DesiredBackend[];
  readonly observed: readonly HostObservation[];
  readonly now: number;
}

/** Why a host's view of a slot differs from the table. */
export type DriftKind =
  | 'address'
  | 'weight'
  | 'admin'
  | 'missing-slot'
  | 'unknown-slot'
  | 'blocked-by-sessions'
  | 'awaiting-health';

/** One difference between the table and one host, for logs and reconcile reports. */
export interface Drift {
  readonly host: string;
  readonly backend: string;
  readonly slot: string;
  readonly kind: DriftKind;
  readonly expected?: string;
  readonly actual?: string;
}

/** A table change the caller must make after the batches ran: a finished drain frees its slot. */
export interface SlotTransition {
  readonly kind: 'release';
  readonly backend: string;
  readonly slot: string;
  readonly member: string;
  readonly version: number;
  readonly reason: 'drained' | 'deadline';
  readonly lifecycle?: LifecycleRef;
}

/** The planner's answer: batches only for hosts that need commands; unreachable hosts get nothing. */
export interface Plan {
  readonly batches: readonly HostBatch[];
  readonly drift: readonly Drift[];
  readonly transitions: readonly SlotTransition[];
  readonly unreachable: readonly { host: string; code: string; message: string }[];
}

type Release = SlotTransition['reason'];

/** Decides what every host must be told so it matches the table, and which drains are over. Never does I/O. */
export function plan(input: PlanInput): Plan {
  const desired = input.desired.map((b) => ({
    config: b.config,
    slots: [...b.slots].sort((x, y) => naturalCompare(x.slot, y.slot)),
  }));
  const releases = new Map<string, Release>();
  for (const b of desired) {
    for (const r of b.slots) {
      const reason = r.state === 'draining' ? drainOver(b.config.name, r, input.observed, input.now) : undefined;
      if (reason) releases.set(key(b.config.name, r.slot), reason);
    }
  }
  const batches: HostBatch[] = [];
  const drift: Drift[] = [];
  const unreachable: { host: string; code: string; message: string }[] = [];
  for (const h of input.observed) {
    if (!h.ok) {
      unreachable.push({ host: h.host, code: h.error.code, message: h.error.message });
      continue;
    }
    const commands: Command[] = [];
    for (const b of desired) {
      const outcomes = planBackend(h.host, b, h.backends.get(b.config.name) ?? [], releases);
      for (const o of outcomes) {
        commands.push(...o.commands);
        drift.push(...o.drift);
      }
    }
    if (commands.length > 0) batches.push({ host: h.host, commands });
  }
  const transitions: SlotTransition[] = [];
  for (const b of desired) {
    for (const r of b.slots) {
      const reason = releases.get(key(b.config.name, r.slot));
      // A draining record without a member cannot be released by member; the store never writes one.
      if (!reason || r.member === undefined) continue;
      const t = {
        kind: 'release',
        backend: b.config.name,
        slot: r.slot,
        member: r.member,
        version: r.version,
        reason,
      } as const;
      transitions.push(r.lifecycle ? { ...t, lifecycle: r.lifecycle } : t);
    }
  }
  return { batches, drift, transitions, unreachable };
}

/** Decided once per slot across the fleet: a host that is down or lacks the slot means "wait for the deadline". */
function drainOver(
  backend: string,
  r: SlotRecord,
  observed: readonly HostObservation[],
  now: number,
): Release | undefined {
  const idle =
    observed.length > 0 &&
    observed.every((h) => h.ok && (h.backends.get(backend) ?? []).find((o) => o.server === r.slot)?.sessions === 0);
  if (idle) return 'drained';
  return r.drainDeadline !== undefined && now >= r.drainDeadline ? 'deadline' : undefined;
}

function planBackend(
  host: string,
  b: DesiredBackend,
  servers: readonly ObservedSlot[],
  releases: Map<string, Release>,
): SlotOutcome[] {
  const backend = b.config.name;
  const byName = new Map<string, ObservedSlot>();
  for (const o of servers) if (!byName.has(o.server)) byName.set(o.server, o);
  const records = new Map(b.slots.map((r) => [r.slot, r]));
  const unknown = [...byName.keys()].filter((n) => !records.has(n) && isSlotName(n, b.config.slotPrefix));
  const names = [...records.keys(), ...unknown].sort(naturalCompare);
  const gate = b.config.healthGate?.enabled === true;
  return names.map((slot): SlotOutcome => {
    const record = records.get(slot);
    const observed = byName.get(slot);
    if (!record) {
      const actual = formatEndpoint(observed?.address, observed?.port);
      return { commands: [], drift: [{ host, backend, slot, kind: 'unknown-slot', actual }] };
    }
    if (record.state === 'held') return { commands: [], drift: [] };
    if (!observed)
      return { commands: [], drift: [{ host, backend, slot, kind: 'missing-slot', expected: record.state }] };
    const target = { host, backend, record, observed };
    if (record.state === 'free') return planFree(target);
    if (record.state === 'active') return planActive(target, gate);
    return planDraining(target, releases.has(key(backend, slot)));
  });
}

function key(backend: string, slot: string): string {
  return `${backend}/${slot}`;
}

function isSlotName(name: string, prefix: string): boolean {
  return name.length > prefix.length && name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length));
}
