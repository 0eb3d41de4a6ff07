// Planner, per slot and host: the commands that move what one host reports towards the lifecycle's host target. Pure.
import { type Command, setAddr, setState, setWeight } from '../domain/commands.js';
import type { HostTarget } from '../domain/host-target.js';
import type { ObservedSlot, SlotRecord } from '../domain/types.js';
import { type AdminState, canonicalAddress, formatEndpoint } from '../domain/values.js';
import { checkPassing } from './health.js';
import type { Drift, DriftKind } from './types.js';

/** Commands for one slot on one host, in the order they must run, and the drift that explains them. */
export interface SlotOutcome {
  readonly commands: readonly Command[];
  readonly drift: readonly Drift[];
}

/** One slot on one host, with the target the lifecycle machine sets for it. */
export interface SlotOnHost {
  readonly host: string;
  readonly backend: string;
  readonly record: SlotRecord;
  readonly observed: ObservedSlot;
  readonly target: HostTarget;
  /** The host applies `set server addr` asynchronously (3.x): no admin change in the batch that re-addresses. */
  readonly asyncAddr: boolean;
  /** The caller re-addressed this slot on this host earlier in the same invocation (PlanInput.readdressed). */
  readonly readdressed?: boolean;
}

const NOTHING: SlotOutcome = { commands: [], drift: [] };

function sameEndpoint(target: HostTarget, o: ObservedSlot): boolean {
  const e = target.endpoint;
  return (
    e === undefined ||
    (o.address !== null &&
      e.port === o.port &&
      // The same text is the same address; only different texts need the canonical form (an IPv6 spelling).
      (e.address === o.address || canonicalAddress(e.address) === canonicalAddress(o.address)))
  );
}

function drift(t: SlotOnHost, kind: DriftKind, expected: string, actual: string): Drift {
  return { host: t.host, backend: t.backend, slot: t.record.slot, kind, expected, actual };
}

/**
 * The rules, in order (docs/ARCHITECTURE.md, "Planner"):
 * 1. A pinned (draining) slot is never re-addressed: if the host lost the member's address it goes to MAINT.
 * 2. A slot is re-addressed only while the host shows it in MAINT with no session: otherwise MAINT first, then wait
 *    for the sessions to end. So no slot with sessions is ever pointed elsewhere.
 * 3. Weight, then the admin state; `ready` behind the gate passes through DRAIN until the first passing check.
 */
export function planSlotOnHost(t: SlotOnHost): SlotOutcome {
  const { observed: o, target, backend: b } = t;
  const slot = t.record.slot;
  if (!sameEndpoint(target, o)) {
    // Only a slot at another address reports endpoints: formatted here, not for each of 100,000 slots that match.
    const expected = target.endpoint ? formatEndpoint(target.endpoint.address, target.endpoint.port) : 'any';
    const actual = formatEndpoint(o.address, o.port);
    if (target.pinned) {
      return o.admin === 'maint'
        ? NOTHING
        : { commands: [setState(b, slot, 'maint')], drift: [drift(t, 'address', expected, actual)] };
    }
    if (o.admin !== 'maint') {
      const kind = o.sessions > 0 ? 'blocked-by-sessions' : 'address';
      return { commands: [setState(b, slot, 'maint')], drift: [drift(t, kind, expected, withSessions(o))] };
    }
    if (o.sessions > 0) return { commands: [], drift: [drift(t, 'blocked-by-sessions', expected, withSessions(o))] };
    const e = target.endpoint as NonNullable<HostTarget['endpoint']>;
    const commands: Command[] = [setAddr(b, slot, e.address, e.port), ...weightFix(t)];
    if (t.asyncAddr) return { commands, drift: [drift(t, 'address', expected, actual)] };
    // The address is in place when the next command runs: carry on as a host showing the new address in MAINT.
    const admin = adminFix(t, { ...o, address: e.address, port: e.port, checkStatus: '', statusWord: 'MAINT' });
    return { commands: [...commands, ...admin.commands], drift: [drift(t, 'address', expected, actual)] };
  }
  // A drain that is over goes to MAINT on every host: the lifecycle moving on, not drift.
  if (target.pinned && target.admin === 'maint')
    return o.admin === 'maint' ? NOTHING : { commands: [setState(b, slot, 'maint')], drift: [] };
  const weight = weightFix(t);
  const found: Drift[] = weight.length > 0 ? [drift(t, 'weight', String(target.weight), String(o.weight))] : [];
  const admin = adminFix(t, o);
  return {
    commands: [...readdress(t, admin.commands), ...weight, ...admin.commands],
    drift: [...found, ...admin.drift],
  };
}

/**
 * On a 3.x host the address and the state change of a slot just re-addressed go out a round apart, and each round
 * opens a new connection: a reload in between (the new worker starts from a state file dumped before the address was
 * set) would take the state change alone and serve the slot on its placeholder. So the state change that takes such a
 * slot out of MAINT carries its address again, in front: `nothing changed` on the worker that was observed, the
 * address on a worker swapped in since. Never for a slot with sessions (rule 2) nor a pinned one (rule 1).
 */
function readdress(t: SlotOnHost, admin: readonly Command[]): Command[] {
  const e = t.target.endpoint;
  if (!t.readdressed || !t.asyncAddr || !e || t.target.pinned) return [];
  if (t.observed.admin !== 'maint' || t.observed.sessions > 0) return [];
  const leaves = admin.some((c) => c.kind === 'set-state' && c.state !== 'maint');
  return leaves ? [setAddr(t.backend, t.record.slot, e.address, e.port)] : [];
}

function withSessions(o: ObservedSlot): string {
  const at = formatEndpoint(o.address, o.port);
  return o.sessions > 0 ? `${at} with ${o.sessions} sessions` : at;
}

function weightFix(t: SlotOnHost): Command[] {
  const w = t.target.weight;
  return w !== undefined && w !== t.observed.weight ? [setWeight(t.backend, t.record.slot, w)] : [];
}

function adminFix(t: SlotOnHost, o: ObservedSlot): SlotOutcome {
  const { target, backend: b } = t;
  const slot = t.record.slot;
  const set = (state: AdminState, kind: DriftKind = 'admin'): SlotOutcome => ({
    commands: [setState(b, slot, state)],
    drift: [drift(t, kind, state, o.admin)],
  });
  if (target.admin === 'ready' && target.gated && o.hasCheck) {
    // Checks run in DRAIN but no new traffic arrives: the instance proves itself before it serves.
    if (o.admin === 'maint') return set('drain');
    if (o.admin === 'drain') {
      if (checkPassing(o)) return set('ready');
      return {
        commands: [],
        drift: [drift(t, 'awaiting-health', 'passing check', `${o.status}, check ${o.checkStatus || 'none'}`)],
      };
    }
    return NOTHING;
  }
  return o.admin === target.admin ? NOTHING : set(target.admin);
}
