// Pure planner: (desired slot table, what each host reports, now) → commands per host as data, drift, and transitions.
import type { Command } from '../domain/commands.js';
import { hostTarget } from '../domain/host-target.js';
import { naturalCompare } from '../domain/natural-order.js';
import type { HostBatch, ObservedSlot, SlotRecord } from '../domain/types.js';
import { formatEndpoint } from '../domain/values.js';
import { addOnHost, removeFromHost } from './dynamic-rules.js';
import { addrIsAsync, waitsRemovable } from './health.js';
import { planSlotOnHost, type SlotOutcome } from './slot-rules.js';
import { drainOver, transitionsFor } from './transitions.js';
import {
  DEFAULT_POLICY,
  type DesiredBackend,
  type Drift,
  type Plan,
  type PlanInput,
  type SlotTransition,
} from './types.js';

/** Decides what every host must be told so it matches the table, and which lifecycle events are due. Never does I/O. */
export function plan(input: PlanInput): Plan {
  const policy = { ...DEFAULT_POLICY, ...input.policy };
  const desired = input.desired.map((b) => ({
    config: b.config,
    slots: [...b.slots].sort((x, y) => naturalCompare(x.slot, y.slot)),
  }));
  const transitions: SlotTransition[] = [];
  const over = new Set<string>();
  for (const b of desired) {
    const gate = b.config.healthGate?.enabled === true;
    for (const r of b.slots) {
      const due = transitionsFor(b.config.name, gate, r, input.observed, input.now, policy);
      transitions.push(...due);
      if (r.state === 'draining' && drainOver(b.config.name, r, input.observed, input.now, policy.fenceMs))
        over.add(`${b.config.name}/${r.slot}`);
    }
  }
  // Per backend once, not once per host: the records by slot, already in natural order (desired is sorted above).
  const tables = desired.map((b) => ({ ...b, records: new Map(b.slots.map((r) => [r.slot, r])) }));
  const batches: HostBatch[] = [];
  const drift: Drift[] = [];
  const unreachable: { host: string; code: string; message: string }[] = [];
  for (const h of input.observed) {
    if (!h.ok) {
      unreachable.push({ host: h.host, code: h.error.code, message: h.error.message });
      continue;
    }
    const host: HostRules = {
      host: h.host,
      asyncAddr: addrIsAsync(h.version),
      removeWaitMs: waitsRemovable(h.version) ? policy.removeWaitMs : undefined,
      readdressed: input.readdressed,
    };
    const commands: Command[] = [];
    for (const b of tables) {
      for (const o of planBackend(host, b, h.backends.get(b.config.name) ?? [], over)) {
        commands.push(...o.commands);
        drift.push(...o.drift);
      }
    }
    if (commands.length > 0) batches.push({ host: h.host, commands });
  }
  return { batches, drift, transitions, unreachable };
}

/** What the per-slot rules need to know about the host. */
interface HostRules {
  readonly host: string;
  readonly asyncAddr: boolean;
  readonly removeWaitMs?: number;
  readonly readdressed?: ReadonlySet<string>;
}

function planBackend(
  rules: HostRules,
  b: DesiredBackend & { readonly records: ReadonlyMap<string, SlotRecord> },
  servers: readonly ObservedSlot[],
  over: ReadonlySet<string>,
): SlotOutcome[] {
  const { host, asyncAddr } = rules;
  const backend = b.config.name;
  const byName = new Map<string, ObservedSlot>();
  for (const o of servers) if (!byName.has(o.server)) byName.set(o.server, o);
  const records = b.records;
  const unknown = [...byName.keys()].filter((n) => !records.has(n) && isSlotName(n, b.config.slotPrefix));
  const gate = b.config.healthGate?.enabled === true;
  const outcomes: SlotOutcome[] = [];
  // The records' keys are in natural order already; only slots the table does not know need a sort with them.
  const slots = unknown.length === 0 ? records.keys() : [...records.keys(), ...unknown].sort(naturalCompare);
  for (const slot of slots) {
    const record = records.get(slot);
    const observed = byName.get(slot);
    if (!record) {
      const actual = formatEndpoint(observed?.address, observed?.port);
      outcomes.push({ commands: [], drift: [{ host, backend, slot, kind: 'unknown-slot', actual }] });
      continue;
    }
    // A leaving slot a host already shows in MAINT stays there: one look at a host that did not answer makes the drain
    // look unfinished again (its sessions unknown), and sending the others back to DRAIN only lets persistent traffic
    // back in and churns every round while that host flaps.
    const maintAlready = record.state === 'draining' && observed?.admin === 'maint';
    const target = hostTarget(record, gate, over.has(`${backend}/${slot}`) || maintAlready);
    const dynamic = { ...rules, backend, record, target, options: b.config.dynamicServerOptions ?? {} };
    if (!observed) {
      if (target.presence === 'required') outcomes.push(addOnHost(dynamic));
      // A template slot the host lacks is a config out of step: only reported. A dynamic one nobody holds (or that
      // drains) is as it should be.
      else if (!record.dynamic)
        outcomes.push({ commands: [], drift: [{ host, backend, slot, kind: 'missing-slot', expected: record.state }] });
    } else if (target.presence === 'absent') {
      outcomes.push(removeFromHost(dynamic, observed));
    } else {
      const readdressed = rules.readdressed?.has(readdressKey(host, backend, slot)) ?? false;
      outcomes.push(planSlotOnHost({ host, backend, record, observed, target, asyncAddr, readdressed }));
    }
  }
  return outcomes;
}

/** The key of one slot on one host in PlanInput.readdressed. */
export function readdressKey(host: string, backend: string, slot: string): string {
  return `${host}\0${backend}\0${slot}`;
}

/** The slots these batches re-address (`set server … addr`), as PlanInput.readdressed keys. */
export function readdressedBy(batches: readonly HostBatch[]): Set<string> {
  const out = new Set<string>();
  for (const b of batches)
    for (const c of b.commands) if (c.kind === 'set-addr') out.add(readdressKey(b.host, c.backend, c.server));
  return out;
}

function isSlotName(name: string, prefix: string): boolean {
  return name.length > prefix.length && name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length));
}
