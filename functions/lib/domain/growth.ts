// Domain: whether a backend may grow past its server-template, and the names of its dynamic slots (pure; see
// docs/ARCHITECTURE.md, "Growth").
import { naturalCompare } from './natural-order.js';

/** Whether HAProxy adds servers at run time to a backend balanced this way. */
export type AlgorithmSupport = 'yes' | 'no' | 'hash';

/**
 * From `show stat`'s `algo` of the backend. roundrobin, leastconn, first and random take dynamic servers; static-rr
 * never does; the hashing ones (source, uri, url_param, hdr, rdp-cookie, hash) only with `hash-type consistent`, which
 * the Runtime API does not show — for those HAProxy's answer to the first `add server` decides. 3.3+'s default random
 * reads `unknown` (so does random on 2.6): that is left to HAProxy too.
 */
export function algorithmSupport(algo: string): AlgorithmSupport {
  if (['roundrobin', 'leastconn', 'first', 'random'].includes(algo)) return 'yes';
  if (algo === 'static-rr') return 'no';
  return 'hash';
}

/** What one host said about the backend: its algorithm, or nothing (it did not answer). */
export interface HostAlgorithm {
  readonly host: string;
  readonly algo?: string;
}

/** Growth of one backend: on (with its dynamic slot names) or off, and why. */
export interface Growth {
  readonly enabled: boolean;
  /** The dynamic slot names growth may use, in natural order (empty when off). */
  readonly names: readonly string[];
  /** Why growth is off, or what it depends on. */
  readonly reason?: string;
}

/**
 * Dynamic names continue the template's numbering: template web1..web4 and maxSlots 12 → web5..web12. The same names
 * on every host, since every host has the same template (seeding only takes names every host agrees on).
 */
export function dynamicSlotNames(prefix: string, templateNames: readonly string[], maxSlots: number): string[] {
  const numbers = templateNames.map((n) => Number(n.slice(prefix.length))).filter((n) => Number.isInteger(n));
  const highest = Math.max(0, ...numbers);
  const count = Math.max(0, maxSlots - templateNames.length);
  return Array.from({ length: count }, (_, i) => `${prefix}${highest + 1 + i}`);
}

/**
 * Whether the backend may grow, given its config, its template and what the hosts that answered report. Off when
 * maxSlots does not exceed the template, when a host balances with static-rr (HAProxy refuses `add server` there), or
 * when no host answered.
 */
export function growthOf(
  backend: { readonly name: string; readonly slotPrefix: string; readonly maxSlots?: number },
  templateNames: readonly string[],
  hosts: readonly HostAlgorithm[],
): Growth {
  const off = (reason: string): Growth => ({ enabled: false, names: [], reason });
  if (backend.maxSlots === undefined) return off('maxSlots is not set');
  if (backend.maxSlots <= templateNames.length)
    return off(`maxSlots ${backend.maxSlots} is not above the template's ${templateNames.length} slots`);
  const answered = hosts.filter((h) => h.algo !== undefined);
  if (answered.length === 0) return off('no host reported the backend');
  const refusing = answered.filter((h) => algorithmSupport(h.algo ?? '') === 'no');
  if (refusing.length > 0) {
    const where = refusing.map((h) => `${h.host} (balance ${h.algo})`).join(', ');
    return off(
      `${backend.name} cannot take servers at run time on ${where}: use roundrobin, leastconn, first or random`,
    );
  }
  const names = dynamicSlotNames(backend.slotPrefix, templateNames, backend.maxSlots).sort(naturalCompare);
  const hashing = answered.filter((h) => algorithmSupport(h.algo ?? '') === 'hash');
  const reason =
    hashing.length > 0
      ? `balance ${hashing[0]?.algo} takes dynamic servers only with hash-type consistent (HAProxy's answer decides)`
      : undefined;
  return { enabled: true, names, reason };
}
