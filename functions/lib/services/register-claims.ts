// The claims of a registration: claim-or-find per member, bounded in flight, and seeding a fresh backend once for all
// the members that found no free slot in it (register.ts runs them beside its observation).
import { limiter } from '../concurrency.js';
import type { BackendConfig } from '../config.js';
import type { Growth } from '../domain/growth.js';
import type { HostObservation, SlotRecord } from '../domain/types.js';
import { NoFreeSlotError } from '../errors.js';
import type { Claimed } from '../ports.js';
import type { ServiceDeps } from './deps.js';
import type { RegisterInput } from './register.js';
import { seedMissing } from './seeding.js';

// A batch's claim transactions in flight at once: the lifecycle queue's batch size (serverless.yml), so a batch's
// claims start together, while a larger caller cannot flood the table.
export const CLAIMS_IN_FLIGHT = 10;

/** The rows a group's observation parses: the claimed slots, or every row when some claim found none (seeding). */
export function rowsFor(claims: readonly (Claimed | Error)[]): Set<string> | undefined {
  if (claims.some((c) => c instanceof NoFreeSlotError)) return undefined;
  return new Set(claims.flatMap((c) => (c instanceof Error ? [] : [c.record.slot])));
}

export function claimOrFind(input: RegisterInput, deps: ServiceDeps): Promise<Claimed> {
  return deps.store.claim(input.backend.name, input.member, {
    weight: input.weight ?? input.backend.weight,
    owner: input.owner,
    ...(input.launch ? { launch: input.launch } : {}),
  });
}

/**
 * A fresh (or partly seeded) backend: when some claims found no free slot, seed (once for the group) every slot name
 * the hosts agree on that the table lacks, then those members claim again. Seeding is idempotent, so two launches
 * racing into a fresh backend both end up with all its slots to choose from; the claims are tried again even when this
 * call created nothing (another launch may have seeded meanwhile). Returns the claims in `live` order.
 */
export async function claimAfterSeeding(
  backend: BackendConfig,
  live: readonly number[],
  inputs: readonly RegisterInput[],
  deps: ServiceDeps,
  observed: readonly HostObservation[],
  first: readonly (Claimed | Error)[],
): Promise<(Claimed | Error)[]> {
  const none = first.flatMap((c, i) => (c instanceof NoFreeSlotError ? [i] : []));
  if (none.length === 0) return [...first];
  const claims = [...first];
  try {
    const seeded = await seedMissing(backend, deps, observed);
    const free = seeded.slots.some((s) => s.state === 'free');
    const claim = limiter(CLAIMS_IN_FLIGHT);
    await Promise.all(
      none.map(async (i) => {
        const c = first[i] as NoFreeSlotError;
        claims[i] = !free
          ? noSlotWhy(backend, seeded.slots, seeded.growth, c)
          : await claim(() => claimOrFind(inputs[live[i] as number] as RegisterInput, deps)).catch(
              (error: unknown) => error as Error,
            );
      }),
    );
  } catch (error) {
    for (const i of none) claims[i] = error as Error;
  }
  return claims;
}

/** The no-free-slot answer, saying whether growth is off (and why) or maxSlots is reached. */
function noSlotWhy(
  backend: BackendConfig,
  slots: readonly SlotRecord[],
  growth: Growth | undefined,
  first: NoFreeSlotError,
): NoFreeSlotError {
  if (growth && !growth.enabled && backend.maxSlots !== undefined)
    return new NoFreeSlotError(backend.name, `growth is off: ${growth.reason}`);
  if (backend.maxSlots !== undefined && slots.length >= backend.maxSlots)
    return new NoFreeSlotError(backend.name, `all ${slots.length} slots are taken (maxSlots ${backend.maxSlots})`);
  return first;
}
