// Use case: converge the table to the Auto Scaling groups — catches lost events, attach/detach, standby, force-delete.
import type { BackendConfig, ConfigDocument } from '../config.js';
import { NoFreeSlotError } from '../errors.js';
import type { ServiceDeps } from './deps.js';
import { deregisterMember } from './deregister.js';
import { registerMember } from './register.js';

export interface AsgSyncReport {
  readonly registered: readonly { readonly backend: string; readonly member: string; readonly slot: string }[];
  readonly deregistered: readonly { readonly backend: string; readonly member: string; readonly status: string }[];
  readonly skipped: readonly { readonly backend: string; readonly member: string; readonly reason: string }[];
}

/**
 * For each backend mapped to ASGs: members the groups no longer have start draining (reconcile frees them);
 * in-service instances without a slot are registered. Backends without ASGs (webhook-managed) are left alone.
 */
export async function syncWithAutoScaling(
  config: ConfigDocument,
  deps: ServiceDeps,
  until: number,
): Promise<AsgSyncReport> {
  const report: {
    registered: AsgSyncReport['registered'][number][];
    deregistered: AsgSyncReport['deregistered'][number][];
    skipped: AsgSyncReport['skipped'][number][];
  } = { registered: [], deregistered: [], skipped: [] };
  if (!deps.lifecycle) return report;
  for (const backend of config.backends.filter((b) => b.autoScalingGroups.length > 0)) {
    const groups = await Promise.all(backend.autoScalingGroups.map((g) => deps.lifecycle?.inService(g) ?? []));
    const members = new Set(groups.flat());
    const slots = await deps.store.list(backend.name);
    const owned = new Set(slots.flatMap((s) => (s.member ? [s.member] : [])));
    for (const s of slots) {
      // Only instance ids are the groups' business; webhook members in a mixed backend have other ids.
      if (s.state !== 'active' || !s.member?.startsWith('i-') || members.has(s.member)) continue;
      const r = await deregisterMember({ backend, memberId: s.member, until }, deps);
      report.deregistered.push({ backend: backend.name, member: s.member, status: r.status });
    }
    for (const id of members) {
      if (owned.has(id)) continue;
      await registerMissing(backend, id, config, deps, until, report);
    }
  }
  return report;
}

async function registerMissing(
  backend: BackendConfig,
  id: string,
  config: ConfigDocument,
  deps: ServiceDeps,
  until: number,
  report: { registered: AsgSyncReport['registered'][number][]; skipped: AsgSyncReport['skipped'][number][] },
): Promise<void> {
  const address = await deps.instances?.privateAddress(id);
  if (!address) {
    report.skipped.push({ backend: backend.name, member: id, reason: 'no private address' });
    return;
  }
  try {
    const r = await registerMember(
      { backend, member: { id, address, port: backend.port }, quorum: config.quorum, until },
      deps,
    );
    report.registered.push({ backend: backend.name, member: id, slot: r.slot });
  } catch (error) {
    if (!(error instanceof NoFreeSlotError)) throw error;
    report.skipped.push({ backend: backend.name, member: id, reason: 'no free slot' });
  }
}
