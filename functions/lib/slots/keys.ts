// Key layout of the slot table: partition = backend, sort key = `slot#<name>`, `member#<id>` or `retired#<id>` (DESIGN §5).
import { validName } from '../domain/values.js';

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

export { naturalCompare } from '../domain/natural-order.js';
