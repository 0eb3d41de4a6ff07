// Key layout of the slot table: partition = backend, sort key = `slot#<name>`, `member#<id>` or `retired#<id>` (DESIGN §5).
import { validName } from '../haproxy/commands.js';

export const SLOT_PREFIX = 'slot#';
export const MEMBER_PREFIX = 'member#';
export const RETIRED_PREFIX = 'retired#';

/** Primary key of one item. */
export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

/** Key of a slot item; the names are validated because they end up in HAProxy commands later. */
export function slotKey(backend: string, slot: string): ItemKey {
  return { pk: validName('backend', backend), sk: SLOT_PREFIX + validName('slot', slot) };
}

/** Key of the member item that makes "one slot per member" enforceable by a condition. */
export function memberKey(backend: string, memberId: string): ItemKey {
  return { pk: validName('backend', backend), sk: MEMBER_PREFIX + validName('member', memberId) };
}

/** Key of the tombstone that says a member left for good (claims of it are refused while it has not expired). */
export function retiredKey(backend: string, memberId: string): ItemKey {
  return { pk: validName('backend', backend), sk: RETIRED_PREFIX + validName('member', memberId) };
}

const CHUNKS = /(\d+)/;

/** Natural order of slot names: web2 before web10; digit runs compare by value, the rest by code unit. */
export function naturalCompare(a: string, b: string): number {
  const x = a.split(CHUNKS);
  const y = b.split(CHUNKS);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i] as string;
    const q = y[i] as string;
    if (p === q) continue;
    // split() with a capture group puts digit runs at odd indexes.
    if (i % 2 === 1) {
      const d = BigInt(p) - BigInt(q);
      if (d !== 0n) return d < 0n ? -1 : 1;
      return p.length - q.length; // web01 after web1: same value, keep a total order
    }
    return p < q ? -1 : 1;
  }
  return x.length - y.length;
}
