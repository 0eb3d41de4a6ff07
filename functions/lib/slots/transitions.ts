// Pure state transitions of one slot: given the record as it is, the patch to write (undefined = already there).
import type { LifecycleRef, SlotRecord } from '../domain.js';
import type { AdminState } from '../haproxy/commands.js';
import { OWNER_ATTRIBUTES } from './mapping.js';
import type { SlotPatch } from './update-expression.js';

const HOLD_ATTRIBUTES = ['heldAdmin', 'heldFrom'] as const;

function sameLifecycle(a: LifecycleRef | undefined, b: LifecycleRef | undefined): boolean {
  return (
    a?.token === b?.token && a?.hookName === b?.hookName && a?.asgName === b?.asgName && a?.instanceId === b?.instanceId
  );
}

/**
 * active|held → draining with deadline and lifecycle. A held slot drains too: its member is leaving (an instance being
 * terminated goes whatever an operator did), and a slot left held would keep a dead address forever. Already
 * draining: the earlier deadline wins and a recorded lifecycle is kept (a duplicate terminate event must not push
 * the drain out or swap the token).
 */
export function drainPatch(r: SlotRecord, deadline: number, lifecycle?: LifecycleRef): SlotPatch | undefined {
  if (r.state === 'held')
    return { set: { state: 'draining', drainDeadline: deadline, lifecycle }, remove: [...HOLD_ATTRIBUTES] };
  if (r.state !== 'draining') return { set: { state: 'draining', drainDeadline: deadline, lifecycle } };
  const drainDeadline = Math.min(r.drainDeadline ?? deadline, deadline);
  const keep = r.lifecycle ?? lifecycle;
  if (drainDeadline === r.drainDeadline && sameLifecycle(keep, r.lifecycle)) return undefined;
  return { set: { drainDeadline, lifecycle: keep } };
}

/** draining|held → active; the drain intent and the hold are dropped. */
export function activePatch(r: SlotRecord): SlotPatch | undefined {
  if (r.state === 'active') return undefined;
  return { set: { state: 'active' }, remove: ['drainDeadline', 'lifecycle', ...HOLD_ATTRIBUTES] };
}

/** Frees the slot. A held slot stays held (the operator's hold outlives the member) but forgets its owner. */
export function releasePatch(r: SlotRecord): SlotPatch {
  const remove = [...OWNER_ATTRIBUTES];
  if (r.state === 'held') return { set: { heldFrom: 'free' }, remove };
  return { set: { state: 'free' }, remove: [...remove, ...HOLD_ATTRIBUTES] };
}

/** Any state → held, remembering where it came from; already held: only the admin state can change. */
export function holdPatch(r: SlotRecord, admin: AdminState): SlotPatch | undefined {
  if (r.state === 'held') return r.heldAdmin === admin ? undefined : { set: { heldAdmin: admin } };
  return { set: { state: 'held', heldAdmin: admin, heldFrom: r.state } };
}

/** held → the state before the hold (a slot without an owner can only go back to free). Not held: nothing to do. */
export function unholdPatch(r: SlotRecord): SlotPatch | undefined {
  if (r.state !== 'held') return undefined;
  const back =
    r.member === undefined ? 'free' : r.heldFrom === undefined || r.heldFrom === 'free' ? 'active' : r.heldFrom;
  return { set: { state: back }, remove: [...HOLD_ATTRIBUTES] };
}
