// Tombstones of members that left for good: a small `retired#<id>` item per backend that makes a late claim fail.
import { InvalidArgumentError, SlotConflictError } from '../errors.js';
import { retiredKey } from './keys.js';
import type { Condition, SlotTableIo } from './table-io.js';

/**
 * Expiry of a tombstone in epoch SECONDS, the format of DynamoDB's TTL: with TTL enabled on this attribute the table
 * deletes expired tombstones by itself; without it they stay (a few dozen bytes each) and every read ignores them.
 */
export const RETIRED_EXPIRY_ATTRIBUTE = 'expiresAt';

const toSeconds = (epochMs: number) => Math.ceil(epochMs / 1000);

/** The condition "no live tombstone for this member": true when none exists or it has expired by `nowMs`. */
export function notRetired(nowMs: number): Condition {
  return {
    ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt <= :now',
    ExpressionAttributeNames: { '#pk': 'pk', '#expiresAt': RETIRED_EXPIRY_ATTRIBUTE },
    ExpressionAttributeValues: { ':now': Math.floor(nowMs / 1000) },
  };
}

/**
 * What `notRetired` decides, read back from an item fetched alone: whether it is live at `nowMs`. An item whose expiry is
 * missing (none this code writes) counts as live, as the condition counts it, so a read never says "gone" of an item
 * whose condition still refuses.
 */
export function liveAt(item: Record<string, unknown> | undefined, nowMs: number): boolean {
  if (!item) return false;
  const expiresAt = item[RETIRED_EXPIRY_ATTRIBUTE];
  return !(typeof expiresAt === 'number' && expiresAt <= Math.floor(nowMs / 1000));
}

/** The ConditionCheck a claim transaction carries, so a claim and a retirement can never both win. */
export function retiredCheck(table: SlotTableIo, backend: string, memberId: string, nowMs: number) {
  return { ConditionCheck: { TableName: table.tableName, Key: retiredKey(backend, memberId), ...notRetired(nowMs) } };
}

/**
 * Writes (or extends) the member's tombstone until `untilEpochMs`; a later expiry already there is kept. A write that
 * met a claim transaction in flight on the same item is tried again: giving up there would leave no tombstone.
 */
export async function retireMember(
  table: SlotTableIo,
  backend: string,
  memberId: string,
  untilEpochMs: number,
  maxAttempts: number,
): Promise<void> {
  if (!Number.isSafeInteger(untilEpochMs) || untilEpochMs < 0)
    throw new InvalidArgumentError('until', untilEpochMs, 'must be epoch milliseconds');
  const key = retiredKey(backend, memberId);
  const expiresAt = toSeconds(untilEpochMs);
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const rejected = await table.putWhen(
      { ...key, member: memberId, [RETIRED_EXPIRY_ATTRIBUTE]: expiresAt },
      {
        ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt < :expiresAt',
        ExpressionAttributeNames: { '#pk': 'pk', '#expiresAt': RETIRED_EXPIRY_ATTRIBUTE },
        ExpressionAttributeValues: { ':expiresAt': expiresAt },
      },
    );
    if (!rejected || rejected.reasons[0]?.code === 'ConditionalCheckFailed') return;
  }
  throw new SlotConflictError(`retiring ${memberId} in ${backend} lost ${maxAttempts} races in a row`);
}

/** Whether the member has a tombstone that has not expired at `nowMs` (read as the claim's condition decides it). */
export async function isMemberRetired(
  table: SlotTableIo,
  backend: string,
  memberId: string,
  nowMs: number,
): Promise<boolean> {
  return liveAt(await table.get(retiredKey(backend, memberId)), nowMs);
}
