// Completion markers: one small item per lifecycle token, put only if absent, so exactly one caller completes an action.
import { InvalidArgumentError } from '../errors.js';
import type { ItemKey } from './keys.js';
import { RETIRED_EXPIRY_ATTRIBUTE } from './retired.js';
import type { SlotTableIo } from './table-io.js';

// Not a valid backend name? It is one; but backends only ever use `slot#`, `member#` and `retired#` sort keys.
const PARTITION = 'lifecycle-actions';
const TOKEN = /^[A-Za-z0-9-]{1,64}$/;

function completionKey(token: string): ItemKey {
  if (!TOKEN.test(token)) throw new InvalidArgumentError('token', token, 'must be 1-64 characters of A-Z a-z 0-9 -');
  return { pk: PARTITION, sk: `done#${token}` };
}

/** True for the one caller whose put created the marker. The marker expires (TTL) like a tombstone. */
export async function claimCompletion(table: SlotTableIo, token: string, untilEpochMs: number): Promise<boolean> {
  const key = completionKey(token);
  return table.putIfAbsent({ ...key, [RETIRED_EXPIRY_ATTRIBUTE]: Math.ceil(untilEpochMs / 1000) });
}

/** Deletes the marker so a later attempt may complete the action (the first call failed before AWS took it). */
export async function releaseCompletion(table: SlotTableIo, token: string): Promise<void> {
  await table.delete(completionKey(token));
}
