// Test model of HAProxy 2.6 and of the slot table: applies a plan's commands (data) to observations and its transitions to records.
import { isIPv6 } from 'node:net';
import type { Command } from '../../functions/lib/domain/commands.js';
import { decide, type SlotEvent } from '../../functions/lib/domain/lifecycle.js';
import { applyPatch } from '../../functions/lib/domain/patch.js';
import type { HostBatch, HostObservation, ObservedSlot } from '../../functions/lib/domain/types.js';
import type { DesiredBackend, Plan, PlanInput, SlotTransition } from '../../functions/lib/plan/types.js';

const NAME = '[A-Za-z0-9._:-]{1,100}';
/** The Runtime API grammar the renderer must stay inside (names, literal IPs, ports 1-65535, weights 0-256). */
export const SET_SERVER_GRAMMAR = new RegExp(
  `^set server (${NAME})/(${NAME}) (?:state (ready|drain|maint)|weight (\\d{1,3})|addr ([0-9A-Fa-f:.]+) port (\\d{1,5}))$`,
);

const STATUS = { maint: 'MAINT', drain: 'DRAIN', ready: 'UP' } as const;

/** What HAProxy does to one server on one command (reference §4): sessions are never touched by any of them. */
export function applyCommand(slot: ObservedSlot, c: Command): ObservedSlot {
  if (c.kind === 'set-weight') return { ...slot, weight: c.weight };
  if (c.kind === 'set-addr') {
    // A fresh address has no passing check yet; HAProxy prints IPv6 canonically.
    return {
      ...slot,
      address: isIPv6(c.address) ? new URL(`http://[${c.address}]/`).hostname.slice(1, -1) : c.address,
      port: c.port,
      checkStatus: slot.hasCheck ? 'INI' : '',
    };
  }
  if (c.kind !== 'set-state') return slot;
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
    for (const c of batch.commands) {
      if (!('server' in c)) continue;
      const slots = backends.get(c.backend) ?? [];
      const i = slots.findIndex((s) => s.server === c.server);
      const slot = slots[i];
      if (!slot) throw new Error(`${h.host}: no such server ${c.backend}/${c.server}`);
      slots[i] = applyCommand(slot, c);
    }
    return { ...h, backends };
  });
}

/** What the store does with the plan's transitions: the lifecycle machine decides, the patch is applied. */
export function applyTransitions(
  desired: readonly DesiredBackend[],
  transitions: readonly SlotTransition[],
  now: number,
): DesiredBackend[] {
  return desired.map((b) => ({
    config: b.config,
    slots: b.slots.map((r) => {
      const t = transitions.find((x) => x.backend === b.config.name && x.slot === r.slot);
      if (!t || r.member !== t.member || r.version !== t.version) return r;
      const event =
        t.kind === 'heartbeat-due' || t.kind === 'launch-timeout' ? { kind: t.kind, now } : { kind: t.kind };
      const d = decide(r, event as SlotEvent);
      return d.type === 'write' ? applyPatch(r, d.patch) : r;
    }),
  }));
}

/** The world after the plan ran: commands applied to the hosts, transitions to the table, same `now`. */
export function applyPlan(input: PlanInput, p: Plan): PlanInput {
  return {
    ...input,
    desired: applyTransitions(input.desired, p.transitions, input.now),
    observed: applyBatches(input.observed, p.batches),
  };
}
