// Seeding a backend's slot items from what the hosts report, the first time the table meets that backend.
import type { BackendConfig } from '../config.js';
import type { SlotRecord } from '../domain.js';
import { slotNamesFromHosts } from '../slots/seed.js';
import type { ServiceDeps } from './deps.js';

/**
 * The backend's slots; when the table has none yet (a fresh deployment, before the first reconcile), they are seeded
 * from the slot names every reachable host agrees on. Slot names always come from the hosts, never guessed.
 */
export async function ensureSeeded(
  backend: Pick<BackendConfig, 'name' | 'slotPrefix'>,
  deps: ServiceDeps,
): Promise<readonly SlotRecord[]> {
  const slots = await deps.store.list(backend.name);
  if (slots.length > 0) return slots;
  const seen = slotNamesFromHosts(await deps.fleet.observe([backend.name]), backend.name, backend.slotPrefix);
  if (seen.names.length === 0) return slots;
  await deps.store.seed(backend.name, seen.names);
  return deps.store.list(backend.name);
}
