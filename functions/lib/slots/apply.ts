// The slot store's one write path besides claims: read the slot, let the lifecycle machine decide, write under a guard.
import { decide, type SlotEvent } from '../domain/lifecycle.js';
import { applyPatch } from '../domain/patch.js';
import type { SlotRecord } from '../domain/types.js';
import { SlotConflictError } from '../errors.js';
import type { Applied, SlotAddress } from '../ports.js';
import { oweUpdate } from './completion.js';
import { memberKey, slotKey } from './keys.js';
import { itemToRecord } from './mapping.js';
import { Rejected } from './sdk-errors.js';
import type { SlotTableIo } from './table-io.js';
import { slotUpdate } from './update-expression.js';

/** What the loop needs besides the table. */
export interface ApplyContext {
  readonly table: SlotTableIo;
  readonly maxAttempts: number;
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly findByMember: (backend: string, memberId: string) => Promise<SlotRecord | undefined>;
  /** Epoch ms until which an owed completion is kept. */
  readonly owedUntil: () => number;
}

function memberOf(at: SlotAddress): string | undefined {
  return at.member;
}

/**
 * Loads the addressed record (a slot the expected member no longer owns counts as no record: a hold or a release must
 * never land on whoever took the slot since), decides, and writes the decision with the record's version (and member)
 * as condition. A lost race decides again on the item as it is now. A slot that stops being owned by a member also
 * loses its member item in the same transaction, so "one slot per member" holds at every instant.
 */
export async function applyEvent(
  ctx: ApplyContext,
  backend: string,
  at: SlotAddress,
  event: SlotEvent,
): Promise<Applied> {
  const expected = memberOf(at);
  if (expected !== undefined) memberKey(backend, expected);
  if ('slot' in at) slotKey(backend, at.slot); // validates the names before any read
  const load = async (): Promise<SlotRecord | undefined> => {
    const r =
      'slot' in at ? await ctx.table.slot(backend, at.slot) : await ctx.findByMember(backend, expected as string);
    return expected !== undefined && r?.member !== expected ? undefined : r;
  };
  let current = await load();
  for (let attempt = 0; attempt < ctx.maxAttempts; attempt++) {
    const decision = decide(current, event);
    if (decision.type === 'refuse') throw decision.error;
    if (decision.type !== 'write' || !current) return { decision, before: current, record: current };
    const record = current;
    const guard = { version: record.version, member: record.member };
    const dropsMember = record.member !== undefined && decision.patch.remove?.includes('member');
    // Completions the change owes are written with it (an outbox): whoever dies after this write, reconcile finishes.
    const owed = decision.effects.flatMap((e) =>
      e.kind === 'complete'
        ? [oweUpdate(ctx.table, { ref: e.ref, result: e.result, after: e.after, backend }, ctx.owedUntil())]
        : [],
    );
    // Built only when it is used: a slot without a member has no member item (and no valid key for one).
    const memberDelete = () => ({
      Delete: {
        TableName: ctx.table.tableName,
        Key: memberKey(backend, record.member as string),
        ConditionExpression: '#slot = :slot',
        ExpressionAttributeNames: { '#slot': 'slot' },
        ExpressionAttributeValues: { ':slot': record.slot },
      },
    });
    const slotWrite = {
      Update: {
        TableName: ctx.table.tableName,
        Key: slotKey(backend, record.slot),
        ...slotUpdate(decision.patch, guard),
      },
    };
    const rejected =
      dropsMember || owed.length > 0
        ? await ctx.table.transact(`${event.kind} ${backend}/${record.slot}`, [
            slotWrite,
            ...(dropsMember ? [memberDelete()] : []),
            ...owed,
          ])
        : await updated(ctx, backend, record, decision.patch, guard);
    if (!(rejected instanceof Rejected)) {
      return { decision, before: record, record: applyPatch(record, decision.patch) };
    }
    const now = rejected.kind === 'condition' ? rejected.item : undefined;
    current = now ? itemToRecord(now) : await load();
    if (expected !== undefined && current?.member !== expected) current = undefined;
    if (attempt > 0) await ctx.sleep(Math.floor(ctx.random() * 20));
  }
  throw new SlotConflictError(`${event.kind} on ${backend} lost ${ctx.maxAttempts} races in a row`);
}

async function updated(
  ctx: ApplyContext,
  backend: string,
  record: SlotRecord,
  patch: Parameters<typeof slotUpdate>[0],
  guard: { version: number; member?: string },
): Promise<Rejected | undefined> {
  const out = await ctx.table.update(slotKey(backend, record.slot), patch, guard);
  return out instanceof Rejected ? out : undefined;
}
