// Test model of HAProxy 2.6 and of the slot table: applies a plan's commands to observations and its transitions to records.
import { isIP, isIPv6 } from 'node:net';
import type { HostBatch, HostObservation, ObservedSlot } from '../../functions/lib/domain.js';
import type { AdminState } from '../../functions/lib/haproxy/commands.js';
import type { DesiredBackend, Plan, PlanInput, SlotTransition } from '../../functions/lib/plan.js';

/** A `set server` command parsed back from its text. */
export type ParsedCommand =
  | { readonly op: 'state'; readonly backend: string; readonly server: string; readonly state: AdminState }
  | { readonly op: 'weight'; readonly backend: string; readonly server: string; readonly weight: number }
  | {
      readonly op: 'addr';
      readonly backend: string;
      readonly server: string;
      readonly address: string;
      readonly port: number;
    };

const NAME = '[A-Za-z0-9._:-]{1,100}';
const GRAMMAR = new RegExp(
  `^set server (${NAME})/(${NAME}) (?:state (ready|drain|maint)|weight (\\d{1,3})|addr ([0-9A-Fa-f:.]+) port (\\d{1,5}))$`,
);

/** Parses a planner command against the builders' grammar (names, literal IPs, ports 1-65535, weights 0-256); throws otherwise. */
export function parseCommand(text: string): ParsedCommand {
  const m = GRAMMAR.exec(text);
  if (!m) throw new Error(`not a planner command: ${JSON.stringify(text)}`);
  const [, backend = '', server = '', state, weight, address, port] = m;
  if (state) return { op: 'state', backend, server, state: state as AdminState };
  if (weight !== undefined) {
    const w = Number(weight);
    if (w > 256) throw new Error(`weight out of range: ${text}`);
    return { op: 'weight', backend, server, weight: w };
  }
  const p = Number(port);
  if (!address || isIP(address) === 0 || p < 1 || p > 65535) throw new Error(`bad addr command: ${text}`);
  return { op: 'addr', backend, server, address, port: p };
}

const STATUS = { maint: 'MAINT', drain: 'DRAIN', ready: 'UP' } as const;

/** What HAProxy does to one server on one command (reference §4): sessions are never touched by any of them. */
export function applyCommand(slot: ObservedSlot, text: string): ObservedSlot {
  const c = parseCommand(text);
  if (c.op === 'weight') return { ...slot, weight: c.weight };
  if (c.op === 'addr') {
    // A fresh address has no passing check yet; HAProxy prints IPv6 canonically.
    return {
      ...slot,
      address: isIPv6(c.address) ? new URL(`http://[${c.address}]/`).hostname.slice(1, -1) : c.address,
      port: c.port,
      checkStatus: slot.hasCheck ? 'INI' : '',
    };
  }
  if (c.state === 'maint') return { ...slot, admin: 'maint', status: 'MAINT', statusWord: 'MAINT', checkStatus: '' };
  const leavingMaint = slot.admin === 'maint';
  if (!slot.hasCheck) {
    const status = c.state === 'ready' ? 'no check' : 'DRAIN';
    return { ...slot, admin: c.state, status, statusWord: status, checkStatus: '' };
  }
  if (leavingMaint) {
    // Checks restart from INI: `UP 1/3` / `DRAIN 1/3` until the first result.
    return {
      ...slot,
      admin: c.state,
      status: `${STATUS[c.state]} 1/3`,
      statusWord: STATUS[c.state],
      checkStatus: 'INI',
    };
  }
  // Between drain and ready the operational state (and a DOWN) carries over; only the admin part changes.
  if (slot.statusWord === 'DOWN') return { ...slot, admin: c.state };
  return { ...slot, admin: c.state, status: STATUS[c.state], statusWord: STATUS[c.state] };
}

/** Runs every batch on its host's observation, in order; a command for a server the host lacks is a planner bug. */
export function applyBatches(observed: readonly HostObservation[], batches: readonly HostBatch[]): HostObservation[] {
  return observed.map((h) => {
    const batch = batches.find((b) => b.host === h.host);
    if (!batch) return h;
    if (!h.ok) throw new Error(`batch for unreachable host ${h.host}`);
    const backends = new Map([...h.backends].map(([name, slots]) => [name, [...slots]]));
    for (const command of batch.commands) {
      const c = parseCommand(command.text);
      const slots = backends.get(c.backend) ?? [];
      const i = slots.findIndex((s) => s.server === c.server);
      const slot = slots[i];
      if (!slot) throw new Error(`${h.host}: no such server ${c.backend}/${c.server}`);
      slots[i] = applyCommand(slot, command.text);
    }
    return { host: h.host, ok: true, backends };
  });
}

/** What the store's `release` does: the slot becomes free, loses its member data, and its version moves on. */
export function applyTransitions(
  desired: readonly DesiredBackend[],
  transitions: readonly SlotTransition[],
): DesiredBackend[] {
  return desired.map((b) => ({
    config: b.config,
    slots: b.slots.map((r) => {
      const t = transitions.find((x) => x.backend === b.config.name && x.slot === r.slot);
      if (!t || r.state !== 'draining' || r.member !== t.member || r.version !== t.version) return r;
      return { backend: r.backend, slot: r.slot, state: 'free', version: r.version + 1 };
    }),
  }));
}

/** The world after the plan ran: commands applied to the hosts, transitions to the table, same `now`. */
export function applyPlan(input: PlanInput, p: Plan): PlanInput {
  return {
    desired: applyTransitions(input.desired, p.transitions),
    observed: applyBatches(input.observed, p.batches),
    now: input.now,
  };
}
