// Domain: what every host must end up reporting for a slot in each state — the planner's goal, derived from the record.
import type { SlotRecord } from './types.js';
import type { AdminState } from './values.js';

/**
 * Whether the slot's server must exist on a host. `kept`: never added, never deleted (template slots, which the config
 * owns; a draining dynamic slot, which must not be re-added for a member that is leaving, nor deleted before its drain
 * is over). `required`: a dynamic slot a member holds, added on a host that lacks it (a reload drops dynamic servers).
 * `absent`: a dynamic slot nobody holds, set to MAINT and deleted once no session is left.
 */
export type Presence = 'kept' | 'required' | 'absent';

/** The state a host should show for one slot. */
export interface HostTarget {
  readonly presence: Presence;
  /** The admin state to end in. `ready` behind a health gate passes through `drain` until the first passing check. */
  readonly admin: AdminState;
  /** Where the server must point; undefined = anywhere (a free or unowned slot: its address carries no traffic). */
  readonly endpoint?: { readonly address: string; readonly port: number };
  readonly weight?: number;
  /** `ready` waits for a passing check (backend's health gate on, server has a check). */
  readonly gated: boolean;
  /**
   * Never re-address: a draining slot keeps pointing at the leaving member; a host that lost that (restart) gets MAINT
   * instead, since whatever it points at now is not the member whose sessions we wait for.
   */
  readonly pinned: boolean;
}

/**
 * The hosts' target for a record (docs/ARCHITECTURE.md, "Slot lifecycle"): free → MAINT; active → READY at the member
 * (gated: DRAIN until the first passing check); held → the operator's admin state at the member; draining → DRAIN at
 * the member, MAINT once the drain is over (`drainOver`).
 */
export function hostTarget(record: SlotRecord, gate: boolean, drainOver = false): HostTarget {
  const endpoint =
    record.member !== undefined && record.address !== undefined && record.port !== undefined
      ? { address: record.address, port: record.port }
      : undefined;
  const weight = endpoint ? record.weight : undefined;
  const presence = presenceOf(record, endpoint !== undefined);
  switch (record.state) {
    case 'free':
      return { presence, admin: 'maint', gated: false, pinned: false };
    case 'active':
      return { presence, admin: 'ready', endpoint, weight, gated: gate, pinned: false };
    case 'held':
      return { presence, admin: record.heldAdmin ?? 'maint', endpoint, weight, gated: false, pinned: false };
    case 'draining':
      return { presence, admin: drainOver ? 'maint' : 'drain', endpoint, gated: false, pinned: true };
  }
}

function presenceOf(record: SlotRecord, owned: boolean): Presence {
  if (!record.dynamic || record.state === 'draining') return 'kept';
  return owned && record.state !== 'free' ? 'required' : 'absent';
}
