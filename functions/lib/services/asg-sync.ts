// Use case: converge the table to the Auto Scaling groups — catches lost events, attach/detach, standby, force-delete.
import type { BackendConfig, ConfigDocument } from '../config.js';
import type { SlotRecord } from '../domain/types.js';
import { AddressRefusedError, MemberRetiredError, NoFreeSlotError } from '../errors.js';
import type { ServiceDeps } from './deps.js';
import { drainMember } from './drain.js';
import { registerMember } from './register.js';

export interface AsgSyncReport {
  readonly registered: readonly { readonly backend: string; readonly member: string; readonly slot: string }[];
  readonly deregistered: readonly { readonly backend: string; readonly member: string; readonly status: string }[];
  readonly skipped: readonly { readonly backend: string; readonly member: string; readonly reason: string }[];
}

type Report = {
  registered: AsgSyncReport['registered'][number][];
  deregistered: AsgSyncReport['deregistered'][number][];
  skipped: AsgSyncReport['skipped'][number][];
};

/** Records written before owners were recorded: instance ids came from the Auto Scaling path. */
function ownedByAsg(r: SlotRecord): boolean {
  return (r.owner ?? (r.member?.startsWith('i-') ? 'asg' : 'webhook')) === 'asg';
}

/**
 * For each backend mapped to ASGs: members the Auto Scaling path registered that the groups no longer have start
 * draining (reconcile frees them); in-service instances without a slot are registered. Members a deploy tool
 * registered (owner `webhook`) are never touched, and backends without ASGs are left alone.
 */
export async function syncWithAutoScaling(
  config: ConfigDocument,
  deps: ServiceDeps,
  until: number,
): Promise<AsgSyncReport> {
  const report: Report = { registered: [], deregistered: [], skipped: [] };
  for (const backend of config.backends.filter((b) => b.autoScalingGroups.length > 0)) {
    const groups = await Promise.all(backend.autoScalingGroups.map((g) => deps.lifecycle.inService(g)));
    const members = new Set(groups.flat());
    const slots = await deps.store.list(backend.name);
    const owned = new Set(slots.flatMap((s) => (s.member ? [s.member] : [])));
    for (const s of slots) {
      if (s.state !== 'active' || !s.member || !ownedByAsg(s) || members.has(s.member)) continue;
      const leave = { kind: 'deregister' } as const;
      const r = await drainMember({ backend, memberId: s.member, leave, until }, config, deps);
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
  report: Report,
): Promise<void> {
  const address = await deps.instances.privateAddress(id);
  if (!address) {
    report.skipped.push({ backend: backend.name, member: id, reason: 'no private address' });
    return;
  }
  try {
    const member = { id, address, port: backend.port };
    const r = await registerMember({ backend, member, owner: 'asg', until }, config, deps);
    report.registered.push({ backend: backend.name, member: id, slot: r.slot });
  } catch (error) {
    if (error instanceof NoFreeSlotError)
      report.skipped.push({ backend: backend.name, member: id, reason: 'no free slot' });
    else if (error instanceof MemberRetiredError)
      report.skipped.push({ backend: backend.name, member: id, reason: 'retired' });
    // Refused before any claim: the instance stays out of the backend, and the report says by which rule.
    else if (error instanceof AddressRefusedError)
      report.skipped.push({ backend: backend.name, member: id, reason: error.message });
    else throw error;
  }
}
