// What one store (one container) knows of a backend's free slots between reads, shared by its concurrent claims, and
// where it takes them from (ARCHITECTURE.md, "The launch path").
import type { Item } from './mapping.js';

// Stripes the slots fall into: several times the lifecycle function's reserved concurrency, so that containers rarely
// share one, and few enough that a stripe of a large backend still holds many free slots.
export const STRIPES = 32;

/** The stripe of a slot: a hash of its name (FNV-1a), the same in every container and every read. */
export function stripeOf(slot: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < slot.length; i++) h = Math.imul(h ^ slot.charCodeAt(i), 0x01000193);
  return (h >>> 0) % STRIPES;
}

/** A stripe well stocked in `candidates` (at least half the best one's count), chosen at random among those. */
export function chooseStripe(candidates: readonly { readonly slot?: unknown }[], random: () => number): number {
  const counts = new Array<number>(STRIPES).fill(0);
  for (const c of candidates) {
    const s = stripeOf(String(c.slot));
    counts[s] = (counts[s] ?? 0) + 1;
  }
  const best = Math.max(...counts);
  const stocked = counts.flatMap((n, stripe) => (n > 0 && n * 2 >= best ? [stripe] : []));
  return stocked[Math.floor(random() * stocked.length)] ?? 0;
}

// Below this many candidates stripes are moot (a stripe would hold a slot or two): a random candidate then.
export const STRIPED_FROM = 2 * STRIPES;

/**
 * Whether `home`'s stripe has run out in a list long enough to be striped: the list is then read again before a new
 * stripe is chosen, because in the old list the stripes other containers have emptied since still look full.
 */
export function homeEmpty(candidates: readonly { readonly slot?: unknown }[], home: { stripe: number }): boolean {
  return candidates.length >= STRIPED_FROM && !candidates.some((c) => stripeOf(String(c.slot)) === home.stripe);
}

/**
 * Which candidate to take: a random one of the home stripe (moving home to a well-stocked stripe when it has none
 * left). Concurrent containers cannot see what the others take; each taking from a stripe of its own keeps them out of
 * each other's way even on a list read seconds ago, and the stripe of a slot is the same in every list, however the
 * lists differ. A short list: a random candidate.
 */
export function pickAt(
  candidates: readonly { readonly slot?: unknown }[],
  home: { stripe: number },
  random: () => number,
): number {
  if (candidates.length < STRIPED_FROM) return Math.floor(random() * candidates.length);
  const inStripe = () => candidates.flatMap((c, i) => (stripeOf(String(c.slot)) === home.stripe ? [i] : []));
  let mine = inStripe();
  if (mine.length === 0) {
    home.stripe = chooseStripe(candidates, random);
    mine = inStripe();
  }
  return mine[Math.floor(random() * mine.length)] ?? 0;
}

/**
 * Free slots per backend as this store last read them, kept across claims: a launch then costs the claim transaction
 * alone (issue 10's "one table write"). Only a hint: the transaction's version condition decides. The claims of one
 * container share it: a read that several need at once is made once, and a read never brings back a slot this store
 * is claiming, or claimed after the read began (the read may predate that transaction).
 */
export class FreeSlots {
  private readonly lists = new Map<string, Item[]>();
  private readonly reads = new Map<string, Promise<Item[]>>();
  /** `backend/slot` → Infinity while its claim is in flight, then the tick it ended at. */
  private readonly busy = new Map<string, number>();
  private tick = 0;
  /** The stripe this store takes from: drawn at random, moved after a lost race (`lost`). */
  readonly home: { stripe: number };

  constructor(private readonly random: () => number) {
    this.home = { stripe: Math.floor(random() * STRIPES) };
  }

  /** The free slots as last read, less those taken since. */
  list(backend: string): Item[] {
    return [...(this.lists.get(backend) ?? [])];
  }

  /** A claim of `slot` goes out: no one else here takes it, and no read brings it back until `settled`. */
  take(backend: string, slot: string): void {
    this.lists.set(
      backend,
      (this.lists.get(backend) ?? []).filter((i) => i.slot !== slot),
    );
    this.busy.set(`${backend}/${slot}`, Number.POSITIVE_INFINITY);
  }

  /** The claim of `slot` is over (won or lost). */
  settled(backend: string, slot: string): void {
    this.busy.set(`${backend}/${slot}`, ++this.tick);
  }

  /** A claim lost a race: another container takes from this stripe too, so move to a well-stocked other. */
  lost(candidates: readonly Item[]): void {
    this.home.stripe = chooseStripe(candidates, this.random);
  }

  /**
   * A consistent read of the free slots, shared by the claims that ask while it runs; the list becomes what it found,
   * less the slots claimed meanwhile. Returns what the read found (unfiltered: whether any slot is free at all).
   */
  async refresh(backend: string, read: () => Promise<Item[]>): Promise<Item[]> {
    const running = this.reads.get(backend);
    if (running) return running;
    const since = ++this.tick;
    const reading = read().then((items) => {
      const prefix = `${backend}/`;
      for (const [key, ended] of this.busy) if (key.startsWith(prefix) && ended < since) this.busy.delete(key);
      this.lists.set(
        backend,
        items.filter((i) => !this.busy.has(`${backend}/${String(i.slot)}`)),
      );
      return items;
    });
    this.reads.set(backend, reading);
    try {
      return await reading;
    } finally {
      this.reads.delete(backend);
    }
  }
}
