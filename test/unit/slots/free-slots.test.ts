// Where a store takes free slots from: stripes by slot name, and the free list its concurrent claims share.
import { describe, expect, it } from 'vitest';
import {
  chooseStripe,
  FreeSlots,
  homeEmpty,
  pickAt,
  STRIPED_FROM,
  STRIPES,
  stripeOf,
} from '../../../functions/lib/slots/free-slots.js';
import type { Item } from '../../../functions/lib/slots/mapping.js';
import { seededRandom } from '../../support/random.js';

const item = (slot: string): Item => ({ pk: 'web', sk: `slot#${slot}`, slot, state: 'free', version: 1 });
/** A read of the free slots that answers when the test says: `finish` gives what it found. */
function heldRead(): { read: () => Promise<Item[]>; finish: (items: Item[]) => void; reads: () => number } {
  let finish: (items: Item[]) => void = () => {};
  let reads = 0;
  const read = () => {
    reads++;
    return new Promise<Item[]>((resolve) => {
      finish = resolve;
    });
  };
  return { read, finish: (items) => finish(items), reads: () => reads };
}
const names = (n: number, prefix = 'web') => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

describe('stripeOf', () => {
  it('is the same for the same name and spreads a template backend over every stripe', () => {
    expect(stripeOf('web17')).toBe(stripeOf('web17'));
    const counts = new Array<number>(STRIPES).fill(0);
    for (const n of names(1024)) {
      const s = stripeOf(n);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(STRIPES);
      counts[s] = (counts[s] ?? 0) + 1;
    }
    // 32 slots a stripe on average: none empty, none with more than twice its share.
    expect(Math.min(...counts)).toBeGreaterThan(0);
    expect(Math.max(...counts)).toBeLessThanOrEqual(64);
  });
});

describe('chooseStripe', () => {
  it('chooses only a stripe holding at least half as many candidates as the fullest', () => {
    const all = names(1024).map(item);
    // Empty most stripes but two: the one left full and one left with a quarter of its slots.
    const full = stripeOf('web1');
    const quarter = (full + 1) % STRIPES;
    const inQuarter = all.filter((i) => stripeOf(String(i.slot)) === quarter);
    const candidates = [
      ...all.filter((i) => stripeOf(String(i.slot)) === full),
      ...inQuarter.slice(0, Math.floor(inQuarter.length / 4)),
    ];
    const random = seededRandom(7);
    for (let k = 0; k < 50; k++) expect(chooseStripe(candidates, random)).toBe(full);
  });
});

describe('pickAt', () => {
  it('takes a random candidate of a short list', () => {
    const short = names(STRIPED_FROM - 1).map(item);
    expect(pickAt(short, { stripe: 0 }, () => 0.5)).toBe(Math.floor(0.5 * short.length));
  });

  it('takes from the home stripe of a long list, and moves home only when that stripe has none left', () => {
    const long = names(200).map(item);
    const home = { stripe: stripeOf('web5') };
    const random = seededRandom(3);
    const i = pickAt(long, home, random);
    expect(stripeOf(String(long[i]?.slot))).toBe(stripeOf('web5'));
    expect(home.stripe).toBe(stripeOf('web5'));
    const without = long.filter((c) => stripeOf(String(c.slot)) !== home.stripe);
    expect(homeEmpty(without, home)).toBe(true);
    const j = pickAt(without, home, random);
    expect(home.stripe).not.toBe(stripeOf('web5'));
    expect(stripeOf(String(without[j]?.slot))).toBe(home.stripe);
  });

  it('never calls a short list empty of the home stripe (it is not striped)', () => {
    expect(homeEmpty([item('web1')], { stripe: (stripeOf('web1') + 1) % STRIPES })).toBe(false);
  });
});

describe('FreeSlots', () => {
  it('makes one read for the claims that ask at once', async () => {
    const free = new FreeSlots(seededRandom(1));
    const held = heldRead();
    const asks = [free.refresh('web', held.read), free.refresh('web', held.read), free.refresh('web', held.read)];
    held.finish([item('web1'), item('web2')]);
    const answers = await Promise.all(asks);
    expect(held.reads()).toBe(1);
    expect(answers.every((a) => a.length === 2)).toBe(true);
    expect(free.list('web').map((i) => i.slot)).toEqual(['web1', 'web2']);
  });

  it('never brings back a slot claimed while the read ran, and forgets a claim the read has seen end', async () => {
    const free = new FreeSlots(seededRandom(1));
    await free.refresh('web', async () => [item('web1'), item('web2'), item('web3')]);
    free.take('web', 'web1');
    expect(free.list('web').map((i) => i.slot)).toEqual(['web2', 'web3']);
    // web1's claim ends (lost) before the next read begins; web2's is taken while that read runs.
    free.settled('web', 'web1');
    const first = heldRead();
    const reading = free.refresh('web', first.read);
    free.take('web', 'web2');
    first.finish([item('web1'), item('web2'), item('web3')]);
    // The read answers what it found (web2 still free when it looked) …
    expect((await reading).map((i) => i.slot)).toEqual(['web1', 'web2', 'web3']);
    // … but the list leaves out web2, in flight; web1's claim ended before the read, which saw it free again.
    expect(free.list('web').map((i) => i.slot)).toEqual(['web1', 'web3']);
    // web3's claim ends while the next read runs: that read may have looked before the claim's write, so web3 stays
    // out; a read that begins after the claim ended shows the table as the claim left it.
    free.settled('web', 'web2');
    free.take('web', 'web3');
    const second = heldRead();
    const again = free.refresh('web', second.read);
    free.settled('web', 'web3');
    second.finish([item('web2'), item('web3')]);
    await again;
    expect(free.list('web').map((i) => i.slot)).toEqual(['web2']);
    await free.refresh('web', async () => [item('web2'), item('web3')]);
    expect(free.list('web').map((i) => i.slot)).toEqual(['web2', 'web3']);
  });
});
