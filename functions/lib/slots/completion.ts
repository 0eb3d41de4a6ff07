// Owed lifecycle completions (a transactional outbox): one item per token, written with the slot change that owes it,
// leased by whoever completes it, marked done once AWS has it — so a crash anywhere leaves it for reconcile to finish.
import type { LifecycleRef } from '../domain/types.js';
import { InvalidArgumentError, SlotConflictError } from '../errors.js';
import type { OwedCompletion } from '../ports.js';
import type { ItemKey } from './keys.js';
import { liveAt, notRetired, RETIRED_EXPIRY_ATTRIBUTE } from './retired.js';
import { Rejected } from './sdk-errors.js';
import type { SlotTableIo } from './table-io.js';

// Backends only ever use `slot#`, `member#` and `retired#` sort keys, so `owed#` items cannot collide with them.
const PARTITION = 'lifecycle-actions';
const PREFIX = 'owed#';
const TOKEN = /^[A-Za-z0-9-]{1,64}$/;

/** Key of a token's owed completion. */
export function owedKey(token: string): ItemKey {
  if (!TOKEN.test(token)) throw new InvalidArgumentError('token', token, 'must be 1-64 characters of A-Z a-z 0-9 -');
  return { pk: PARTITION, sk: `${PREFIX}${token}` };
}

/**
 * The transactional Update that records a completion as owed. It has no condition, so it never cancels the transaction
 * it rides in. The first owed CONTINUE stays (`if_not_exists`); an ABANDON overrides a CONTINUE still owed (the launch
 * was given up before it could be completed), its wait included, and nothing changes one that is done.
 */
export function oweUpdate(
  table: SlotTableIo,
  o: Omit<OwedCompletion, 'status'>,
  untilEpochMs: number,
  leaseUntil?: number,
) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  const set = (field: string, value: unknown, keep: boolean) => {
    const i = sets.length;
    names[`#f${i}`] = field;
    values[`:v${i}`] = value;
    sets.push(keep ? `#f${i} = if_not_exists(#f${i}, :v${i})` : `#f${i} = :v${i}`);
  };
  const abandon = o.result === 'ABANDON';
  set('ref', o.ref, true);
  set('status', 'owed', true);
  set(RETIRED_EXPIRY_ATTRIBUTE, Math.ceil(untilEpochMs / 1000), true);
  set('result', o.result, !abandon);
  set('backend', o.backend, !abandon);
  // An ABANDON brings its own wait (none, or the member's last slot), replacing whatever a CONTINUE waited for.
  if (o.after) set('after', o.after, !abandon);
  // Owed and leased in one write (oweAndLease); that write's condition decides whether the lease may be taken.
  if (leaseUntil !== undefined) set('leaseUntil', leaseUntil, false);
  const dropAfter = abandon && !o.after;
  if (dropAfter) names['#after'] = 'after';
  return {
    Update: {
      TableName: table.tableName,
      Key: owedKey(o.ref.token),
      UpdateExpression: `SET ${sets.join(', ')}${dropAfter ? ' REMOVE #after' : ''}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
}

/**
 * The ConditionCheck a launch's claim carries: no completion of its token is owed or done (none, or one whose expiry
 * has passed: the same "no live item" condition as a tombstone's). Once a launch is decided its outbox item exists
 * for as long as the action can live, so a redelivery of the event can never claim a slot again.
 */
export function unsettledCheck(table: SlotTableIo, token: string, nowMs: number) {
  return { ConditionCheck: { TableName: table.tableName, Key: owedKey(token), ...notRetired(nowMs) } };
}

/** What `unsettledCheck` refuses, read alone (strongly consistent): an item for the token that has not expired. */
export async function isSettled(table: SlotTableIo, token: string, nowMs: number): Promise<boolean> {
  return liveAt(await table.get(owedKey(token)), nowMs);
}

// A write that met a transaction on the same item lost a race, not its condition: it is tried again.
const CONFLICT_ATTEMPTS = 20;

async function update(
  table: SlotTableIo,
  token: string,
  expressions: Parameters<SlotTableIo['updateRaw']>[1],
): Promise<Record<string, unknown> | Rejected | undefined> {
  for (let attempt = 0; ; attempt++) {
    const out = await table.updateRaw(owedKey(token), expressions);
    const conflict = out instanceof Rejected && out.reasons[0]?.code === 'TransactionConflict';
    if (!conflict || attempt >= CONFLICT_ATTEMPTS) return out;
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 20)));
  }
}

/** Records a completion as owed, outside a transaction (a completion no slot change carries). */
export async function oweCompletion(
  table: SlotTableIo,
  o: Omit<OwedCompletion, 'status'>,
  untilEpochMs: number,
): Promise<void> {
  const { Update } = oweUpdate(table, o, untilEpochMs);
  const out = await update(table, o.ref.token, Update);
  if (out instanceof Rejected)
    throw new SlotConflictError(`owing the completion of ${o.ref.instanceId} kept conflicting`);
}

function fromItem(item: Record<string, unknown>): OwedCompletion {
  return {
    ref: item.ref as LifecycleRef,
    result: item.result as OwedCompletion['result'],
    backend: String(item.backend),
    status: item.status as OwedCompletion['status'],
    ...(item.after ? { after: item.after as OwedCompletion['after'] } : {}),
  };
}

/** Every completion still owed (not done), for reconcile to settle. */
export async function owedCompletions(table: SlotTableIo): Promise<OwedCompletion[]> {
  const items = await table.partition(PARTITION, PREFIX);
  return items.filter((i) => i.status === 'owed').map(fromItem);
}

/**
 * Takes the owed completion for `leaseMs` unless it is done or someone else holds an unexpired lease: the one caller
 * that gets it back may complete the action now.
 */
export async function leaseCompletion(
  table: SlotTableIo,
  token: string,
  nowMs: number,
  leaseMs: number,
): Promise<OwedCompletion | undefined> {
  const out = await update(table, token, {
    UpdateExpression: 'SET #lease = :until',
    ConditionExpression: '#status = :owed AND (attribute_not_exists(#lease) OR #lease < :now)',
    ExpressionAttributeNames: { '#lease': 'leaseUntil', '#status': 'status' },
    ExpressionAttributeValues: { ':until': nowMs + leaseMs, ':now': nowMs, ':owed': 'owed' },
  });
  return out instanceof Rejected || !out ? undefined : fromItem(out);
}

/**
 * Owes and leases in one write (a launch's CONTINUE, which no slot change carries): the outbox item is created already
 * leased to this caller. When the token is known and done or leased by someone else, the write's condition fails and
 * the plain owe runs instead (an ABANDON still overrides a CONTINUE owed there), so it is `owe` then `leaseCompletion`,
 * in one call whenever nobody else has the token.
 */
export async function oweAndLease(
  table: SlotTableIo,
  o: Omit<OwedCompletion, 'status'>,
  untilEpochMs: number,
  nowMs: number,
  leaseMs: number,
): Promise<OwedCompletion | undefined> {
  const { Update } = oweUpdate(table, o, untilEpochMs, nowMs + leaseMs);
  const out = await update(table, o.ref.token, {
    UpdateExpression: Update.UpdateExpression,
    ConditionExpression:
      'attribute_not_exists(#status) OR (#status = :owed AND (attribute_not_exists(#lease) OR #lease < :now))',
    ExpressionAttributeNames: { ...Update.ExpressionAttributeNames, '#lease': 'leaseUntil', '#status': 'status' },
    ExpressionAttributeValues: { ...Update.ExpressionAttributeValues, ':now': nowMs, ':owed': 'owed' },
  });
  if (out instanceof Rejected && out.reasons[0]?.code === 'ConditionalCheckFailed') {
    await oweCompletion(table, o, untilEpochMs);
    return undefined;
  }
  if (out instanceof Rejected)
    throw new SlotConflictError(`owing the completion of ${o.ref.instanceId} kept conflicting`);
  return out ? fromItem(out) : undefined;
}

/** Ends the lease: `done` (AWS has it, or it was gone), or back to owed for a later attempt. */
export async function settleCompletion(table: SlotTableIo, token: string, done: boolean): Promise<void> {
  await update(table, token, {
    UpdateExpression: done ? 'SET #status = :done REMOVE #lease' : 'REMOVE #lease',
    ExpressionAttributeNames: done ? { '#status': 'status', '#lease': 'leaseUntil' } : { '#lease': 'leaseUntil' },
    ...(done ? { ExpressionAttributeValues: { ':done': 'done' } } : {}),
  });
}
