// Seeding a backend's slot items from what the hosts report, the first time the table meets that backend.
import type { BackendConfig } from '../config.js';
import type { HostObservation, SlotRecord } from '../domain.js';
import { slotNamesFromHosts } from '../slots/seed.js';
import type { ServiceDeps } from './deps.js';

/**
 * The backend's slots; when the table has none yet (a fresh deployment, before the first reconcile), they are seeded
 * from the slot names every reachable host agrees on (`observed` when the caller has just looked). Slot names always
 * come from the hosts, never guessed. `seeded` says whether this call created them.
 */
export async function ensureSeeded(
  backend: Pick<BackendConfig, 'name' | 'slotPrefix'>,
  deps: ServiceDeps,
  observed?: readonly HostObservation[],
): Promise<{ readonly slots: readonly SlotRecord[]; readonly seeded: boolean }> {
  const slots = await deps.store.list(backend.name);
  if (slots.length > 0) return { slots, seeded: false };
  const hosts = observed ?? (await deps.fleet.observe([backend.name]));
  const seen = slotNamesFromHosts(hosts, backend.name, backend.slotPrefix);
  if (seen.names.length === 0) return { slots, seeded: false };
  await deps.store.seed(backend.name, seen.names);
  return { slots: await deps.store.list(backend.name), seeded: true };
}
