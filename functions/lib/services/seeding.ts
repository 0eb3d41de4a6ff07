// Seeding a backend's slot items from what the hosts report: every slot name every host agrees on that the table lacks.
import type { BackendConfig } from '../config.js';
import type { HostObservation, SlotRecord } from '../domain/types.js';
import { slotNamesFromHosts } from '../slots/seed.js';
import type { ServiceDeps } from './deps.js';

/** What seeding did. `someMissing`: the hosts had names the table lacked (another caller may have created them). */
export interface SeedOutcome {
  readonly slots: readonly SlotRecord[];
  readonly created: readonly string[];
  readonly someMissing: boolean;
}

/**
 * Creates the table items of slot names that every reachable host reports and the table does not have yet (a fresh
 * deployment, a backend before its first reconcile, or one another invocation is seeding right now). Slot names always
 * come from the hosts, never guessed. Idempotent: concurrent callers each create what is still missing.
 */
export async function seedMissing(
  backend: Pick<BackendConfig, 'name' | 'slotPrefix'>,
  deps: ServiceDeps,
  observed?: readonly HostObservation[],
): Promise<SeedOutcome> {
  const [slots, hosts] = await Promise.all([
    deps.store.list(backend.name),
    observed ? Promise.resolve(observed) : deps.fleet.observe([backend.name]),
  ]);
  const known = new Set(slots.map((s) => s.slot));
  const missing = slotNamesFromHosts(hosts, backend.name, backend.slotPrefix).names.filter((n) => !known.has(n));
  if (missing.length === 0) return { slots, created: [], someMissing: false };
  const { created } = await deps.store.seed(backend.name, missing);
  return { slots: await deps.store.list(backend.name), created, someMissing: true };
}
