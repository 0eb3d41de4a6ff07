// Use case: an operator-style hold (CLI drain/disable, webhook drain/maint) of one slot on every host.
import type { HostResult, SlotRecord } from '../domain.js';
import { type AdminState, setState } from '../haproxy/commands.js';
import type { ServiceDeps } from './deps.js';

/**
 * Intent first (DESIGN invariant 7): the table says `held` before any host is told, so a reconcile running meanwhile
 * never undoes the change; then every host gets the admin state. One result per host.
 */
export async function holdSlot(
  backend: string,
  slot: string,
  admin: AdminState,
  deps: ServiceDeps,
): Promise<{ readonly record: SlotRecord; readonly results: readonly HostResult[] }> {
  const record = await deps.store.hold(backend, slot, admin);
  const results = await deps.fleet.broadcast([setState(backend, slot, admin)]);
  return { record, results };
}
