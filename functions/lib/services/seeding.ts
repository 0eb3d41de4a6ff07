// Seeding a backend's slot items: the template slots every host agrees on, and — when the backend may grow — its
// dynamic slots (docs/ARCHITECTURE.md, "Growth"), each only once: what the table has is never written again.
import type { BackendConfig } from '../config.js';
import { dynamicSlotNames, type Growth, growthOf } from '../domain/growth.js';
import type { HostObservation, SlotRecord } from '../domain/types.js';
import { backendAlgorithms } from '../haproxy/backend-stat.js';
import { type SlotSetDisagreement, slotNamesFromHosts } from '../slots/seed.js';
import type { ServiceDeps } from './deps.js';

/** What seeding did. `someMissing`: the table lacked names (another caller may have created them meanwhile). */
export interface SeedOutcome {
  readonly slots: readonly SlotRecord[];
  readonly created: readonly string[];
  readonly someMissing: boolean;
  /** Whether the backend may grow, when that was looked at (it has dynamic names the table lacks). */
  readonly growth?: Growth;
  /** Hosts whose template slots differ from the others' (dynamic slots excluded: a reload drops them). */
  readonly disagreements: readonly SlotSetDisagreement[];
}

type SeedBackend = Pick<BackendConfig, 'name' | 'slotPrefix' | 'maxSlots'>;

/**
 * Creates the table items the backend lacks: template slot names every reachable host reports (a fresh deployment, a
 * backend before its first reconcile, or one another invocation is seeding right now), then, when maxSlots exceeds the
 * template and the hosts' balance algorithm takes dynamic servers, the dynamic slots up to maxSlots. Slot names always
 * come from the hosts, never guessed; dynamic ones continue the template's numbering. Idempotent: concurrent callers
 * each create what is still missing. With `dryRun`, nothing is written (the outcome says what would be).
 */
export async function seedMissing(
  backend: SeedBackend,
  deps: ServiceDeps,
  observed?: readonly HostObservation[],
  options: { readonly dryRun?: boolean; readonly slots?: readonly SlotRecord[] } = {},
): Promise<SeedOutcome> {
  const [slots, hosts] = await Promise.all([
    options.slots ? Promise.resolve(options.slots) : deps.store.list(backend.name),
    observed ? Promise.resolve(observed) : deps.fleet.observe([backend.name]),
  ]);
  const known = new Set(slots.map((s) => s.slot));
  const dynamic = new Set(slots.filter((s) => s.dynamic).map((s) => s.slot));
  const seen = slotNamesFromHosts(hosts, backend.name, backend.slotPrefix, dynamic);
  const template = [...new Set([...slots.filter((s) => !s.dynamic).map((s) => s.slot), ...seen.names])];
  const missing = seen.names.filter((n) => !known.has(n));
  const wanted =
    backend.maxSlots !== undefined && backend.maxSlots > template.length
      ? dynamicSlotNames(backend.slotPrefix, template, backend.maxSlots).filter((n) => !known.has(n))
      : [];
  // The algorithm is read only while dynamic names are missing: a steady-state pass costs nothing more.
  const growth =
    wanted.length > 0 ? growthOf(backend, template, await backendAlgorithms(deps.fleet, backend.name)) : undefined;
  const grow = growth?.enabled ? growth.names.filter((n) => !known.has(n) && !missing.includes(n)) : [];
  const base = { disagreements: seen.disagreements, growth };
  if (missing.length === 0 && grow.length === 0) return { ...base, slots, created: [], someMissing: false };
  if (options.dryRun) return { ...base, slots, created: [...missing, ...grow], someMissing: true };
  const created = [
    ...(missing.length > 0 ? (await deps.store.seed(backend.name, missing)).created : []),
    ...(grow.length > 0 ? (await deps.store.seed(backend.name, grow, { dynamic: true })).created : []),
  ];
  return { ...base, slots: await deps.store.list(backend.name), created, someMissing: true };
}
