// Fault suite: does every host report each slot exactly as the table records it? Differences as readable strings.
import type { HostObservation, SlotRecord } from '../../../functions/lib/domain/types.js';
import type { HaproxyFleet, SlotStore } from '../../../functions/lib/ports.js';

/** One line per slot a host reports differently from the table (empty = the host equals the table). */
export function differences(observation: HostObservation, backend: string, slots: readonly SlotRecord[]): string[] {
  if (!observation.ok) return [`${observation.host} unreachable: ${observation.error.message}`];
  const seen = new Map((observation.backends.get(backend) ?? []).map((s) => [s.server, s]));
  const out: string[] = [];
  for (const slot of slots) {
    const o = seen.get(slot.slot);
    const where = `${observation.host} ${backend}/${slot.slot}`;
    if (!o) {
      out.push(`${where} missing`);
      continue;
    }
    // A free slot's address is left as it is (the planner only parks it in maint), so only the state counts.
    if (slot.state === 'free' && o.admin !== 'maint') out.push(`${where} free in the table but ${o.admin}`);
    if (slot.state === 'active' || slot.state === 'draining') {
      const want = `${slot.address}:${slot.port} w${slot.weight} ${slot.state === 'active' ? 'ready' : 'drain'}`;
      const got = `${o.address}:${o.port} w${o.weight} ${o.admin}`;
      if (got !== want) out.push(`${where} is ${got}, the table says ${want}`);
    }
  }
  return out;
}

/** Observes every host and compares each backend's slots with the table. */
export async function fleetDifferences(
  fleet: HaproxyFleet,
  store: SlotStore,
  backends: readonly string[],
): Promise<string[]> {
  const observed = await fleet.observe(backends);
  const out: string[] = [];
  for (const backend of backends) {
    const slots = await store.list(backend);
    for (const o of observed) out.push(...differences(o, backend, slots));
  }
  return out;
}

/** Slot names of a backend whose address on some host is `address` (where an instance could get traffic). */
export async function slotsPointingAt(fleet: HaproxyFleet, backend: string, address: string): Promise<string[]> {
  const observed = await fleet.observe([backend]);
  return observed.flatMap((o) =>
    o.ok
      ? (o.backends.get(backend) ?? [])
          .filter((s) => s.address === address && s.admin !== 'maint')
          .map((s) => `${o.host}/${s.server}`)
      : [`${o.host} unreachable`],
  );
}

/** Owners of the backend's slots: every member must appear at most once (invariant 1). */
export function owners(slots: readonly SlotRecord[]): { members: string[]; doubled: string[] } {
  const members = slots.flatMap((s) => (s.member ? [s.member] : []));
  const doubled = members.filter((m, i) => members.indexOf(m) !== i);
  return { members, doubled };
}
