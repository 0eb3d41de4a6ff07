// Planner, fleet-wide: which lifecycle events the hosts' state calls for (a drain over, a launch served, a heartbeat due).
import { quorumMet } from '../domain/quorum.js';
import type { HostObservation, ObservedSlot, SlotRecord } from '../domain/types.js';
import { canonicalAddress } from '../domain/values.js';
import { checkPassing } from './health.js';
import type { PlanPolicy, SlotTransition } from './types.js';

// Rows by server name per observed backend, built on first look: a fleet-wide decision looks at every host for every
// draining or launching slot, and a scan of the backend's rows each time grows with hosts × slots × slots.
const indexes = new WeakMap<readonly ObservedSlot[], ReadonlyMap<string, ObservedSlot>>();

function rowOn(h: HostObservation, backend: string, slot: string): ObservedSlot | undefined {
  if (!h.ok) return undefined;
  const rows = h.backends.get(backend);
  if (rows === undefined) return undefined;
  let index = indexes.get(rows);
  if (index === undefined) {
    const byServer = new Map<string, ObservedSlot>();
    // The first row of a name wins, as a scan would find it.
    for (const o of rows) if (!byServer.has(o.server)) byServer.set(o.server, o);
    indexes.set(rows, byServer);
    index = byServer;
  }
  return index.get(slot);
}

/**
 * A drain is over when every host answers and shows no session on the slot, once the fence since the drain began has
 * passed (stale plans are all written or dropped by then); or at its deadline. A host that is down means "wait for the
 * deadline": we cannot know its sessions.
 */
export function drainOver(
  backend: string,
  r: SlotRecord,
  observed: readonly HostObservation[],
  now: number,
  fenceMs: number,
): 'drain-finished' | 'drain-deadline' | undefined {
  // Both ends wait out the fence: a `ready` planned from a read before the drain is written or dropped by then.
  if (now < (r.drainStartedAt ?? 0) + fenceMs) return undefined;
  const idle = observed.length > 0 && observed.every((h) => sessionsOn(h, backend, r) === 0);
  if (idle) return 'drain-finished';
  return r.drainDeadline !== undefined && now >= r.drainDeadline ? 'drain-deadline' : undefined;
}

/**
 * Sessions on the slot's server on this host; undefined when the host did not answer. A dynamic server the host lacks
 * (a reload dropped it) has none: nothing can still be connected to it.
 */
function sessionsOn(h: HostObservation, backend: string, r: SlotRecord): number | undefined {
  const row = rowOn(h, backend, r.slot);
  if (row) return row.sessions;
  return h.ok && r.dynamic ? 0 : undefined;
}

/** The member serves on this host: right address, READY, and (behind the gate) a passing check. */
export function servingOn(h: HostObservation, backend: string, r: SlotRecord, gate: boolean): boolean {
  const o = rowOn(h, backend, r.slot);
  if (!o || o.address === null || r.address === undefined) return false;
  const there =
    o.port === r.port && (o.address === r.address || canonicalAddress(o.address) === canonicalAddress(r.address));
  return there && o.admin === 'ready' && (!gate || !o.hasCheck || checkPassing(o));
}

/** The lifecycle events due for one record, given what every host reports. */
export function transitionsFor(
  backend: string,
  gate: boolean,
  r: SlotRecord,
  observed: readonly HostObservation[],
  now: number,
  policy: PlanPolicy,
): SlotTransition[] {
  if (r.member === undefined) return [];
  const base = { backend, slot: r.slot, member: r.member, version: r.version };
  const out: SlotTransition[] = [];
  if (r.state === 'draining') {
    const over = drainOver(backend, r, observed, now, policy.fenceMs);
    // Freed (and its action completed) only once every host that answers shows MAINT: the planner sends that first.
    if (over) return maintWherever(backend, r.slot, observed, now - policy.lostHostMs) ? [{ ...base, kind: over }] : [];
    if (r.lifecycle && now - (r.heartbeatAt ?? r.drainStartedAt ?? 0) >= policy.heartbeatMs)
      out.push({ ...base, kind: 'heartbeat-due' });
    return out;
  }
  if (r.launch) {
    const serving = observed.filter((h) => servingOn(h, backend, r, gate)).length;
    if (r.state === 'active' && quorumMet(policy.quorum, serving, observed.length))
      return [{ ...base, kind: 'launch-ready' }];
    if (r.launchDeadline !== undefined && now >= r.launchDeadline) return [{ ...base, kind: 'launch-timeout' }];
    if (now - (r.heartbeatAt ?? 0) >= policy.heartbeatMs) out.push({ ...base, kind: 'heartbeat-due' });
  }
  return out;
}

/**
 * Every host that answers shows the slot in MAINT (or does not have it: it cannot send it traffic then). A host that
 * does not answer now but answered earlier in the invocation, after `lostBefore`, is judged by what it showed then
 * (`lastSeen`): it may still serve the slot, so it holds the release until it answers again. A host not seen at all,
 * or not since `lostBefore`, is passed over.
 */
export function maintWherever(
  backend: string,
  slot: string,
  observed: readonly HostObservation[],
  lostBefore = Number.NEGATIVE_INFINITY,
): boolean {
  return observed.every((h) => {
    const recent = !h.ok && (h.lastSeenAt ?? Number.NEGATIVE_INFINITY) > lostBefore;
    const o = h.ok
      ? rowOn(h, backend, slot)
      : recent
        ? h.lastSeen?.get(backend)?.find((x) => x.server === slot)
        : undefined;
    return o === undefined || o.admin === 'maint';
  });
}
