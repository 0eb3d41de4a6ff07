// Which slot names to seed: the server-template slots that EVERY reachable host reports for a backend (pure).
import type { HostObservation } from '../domain/types.js';
import { naturalCompare } from './keys.js';

/** A host whose slot set differs from the common one: names others have that it lacks, names only some hosts have. */
export interface SlotSetDisagreement {
  readonly host: string;
  readonly missing: string[];
  readonly extra: string[];
}

/** Result of reading the slot set off the hosts. */
export interface HostSlotNames {
  /** Slots every ok host has, in natural order: the only ones safe to hand out. */
  names: string[];
  disagreements: SlotSetDisagreement[];
  /** The hosts that answered (ok: true) and were compared. */
  hostsSeen: string[];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Slot names of `backend` (prefix followed by digits only: `web` matches web1, web20, not webx or web1a) common to every
 * host that answered. The intersection, not the union: during a half-rolled-out config a slot some hosts lack must not
 * be handed out, so every host that differs is reported instead of merged. Hosts that failed are ignored, and so are
 * the `dynamic` names (servers added at run time, which a reloaded host lacks until reconcile adds them back).
 */
export function slotNamesFromHosts(
  observations: readonly HostObservation[],
  backend: string,
  slotPrefix: string,
  dynamic: ReadonlySet<string> = new Set(),
): HostSlotNames {
  const pattern = new RegExp(`^${escapeRegExp(slotPrefix)}[0-9]+$`);
  // Every host reports the same names: each is tested once, not once per host.
  const isSlot = new Map<string, boolean>();
  const test = (name: string): boolean => {
    const known = isSlot.get(name);
    if (known !== undefined) return known;
    const yes = pattern.test(name);
    isSlot.set(name, yes);
    return yes;
  };
  const perHost: Array<{ host: string; names: Set<string> }> = [];
  const union = new Set<string>();
  for (const o of observations) {
    if (!o.ok) continue;
    const names = new Set<string>();
    for (const r of o.backends.get(backend) ?? []) if (test(r.server) && !dynamic.has(r.server)) names.add(r.server);
    perHost.push({ host: o.host, names });
  }
  for (const h of perHost) for (const name of h.names) union.add(name);
  const common = [...union].filter((name) => perHost.every((h) => h.names.has(name)));
  const commonSet = new Set(common);
  const disagreements: SlotSetDisagreement[] = [];
  for (const h of perHost) {
    const missing = [...union].filter((name) => !h.names.has(name)).sort(naturalCompare);
    const extra = [...h.names].filter((name) => !commonSet.has(name)).sort(naturalCompare);
    if (missing.length || extra.length) disagreements.push({ host: h.host, missing, extra });
  }
  return { names: common.sort(naturalCompare), disagreements, hostsSeen: perHost.map((h) => h.host) };
}
