// Test shorthand for the slot store's lifecycle events: one call per event, answering the record (or "was it freed").
import type { HoldAdmin } from '../../functions/lib/domain/lifecycle.js';
import type { LifecycleRef, Member, Owner, SlotRecord } from '../../functions/lib/domain/types.js';
import type { SlotStore } from '../../functions/lib/ports.js';

/** The store's `claim` and `apply` as the tests use them most. */
export function storeOps(store: SlotStore) {
  const record = async (p: Promise<{ record?: SlotRecord }>) => (await p).record as SlotRecord;
  return {
    claim: (backend: string, m: Member, weight = 1, owner: Owner = 'webhook') =>
      record(store.claim(backend, m, { weight, owner })),
    /** A terminate: draining with `deadline` (and the lifecycle action), started at `now`. */
    drain: (backend: string, id: string, deadline: number, lifecycle?: LifecycleRef, now = 0) =>
      record(store.apply(backend, { member: id }, { kind: 'terminate', now, deadline, lifecycle })),
    deregister: (backend: string, id: string, deadline: number, now = 0) =>
      record(store.apply(backend, { member: id }, { kind: 'deregister', now, deadline })),
    ready: (backend: string, id: string) => record(store.apply(backend, { member: id }, { kind: 'ready' })),
    weight: (backend: string, id: string, weight: number) =>
      record(store.apply(backend, { member: id }, { kind: 'weight', weight })),
    /** The drain is over (or the claim is rolled back): true when this call freed the slot. */
    release: async (backend: string, id: string) => {
      const out = await store.apply(backend, { member: id }, { kind: 'release' });
      return out.decision.type === 'write';
    },
    hold: (backend: string, slot: string, admin: HoldAdmin) =>
      record(store.apply(backend, { slot }, { kind: 'hold', admin })),
    unhold: (backend: string, slot: string) => record(store.apply(backend, { slot }, { kind: 'unhold' })),
  };
}
