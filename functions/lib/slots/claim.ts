// The claim transaction: a random free slot and the member item written together, retried on a lost race.
import { decide } from '../domain/lifecycle.js';
import { applyPatch } from '../domain/patch.js';
import type { Member, Owner, SlotRecord } from '../domain/types.js';
import { validAddress, validName, validPort, validWeight } from '../domain/values.js';
import { LaunchSettledError, MemberRetiredError, NoFreeSlotError, SlotConflictError } from '../errors.js';
import type { Claimed } from '../ports.js';
import { owedKey, unsettledCheck } from './completion.js';
import { type FreeSlots, homeEmpty, pickAt } from './free-slots.js';
import { memberKey, slotKey } from './keys.js';
import { type Item, itemToRecord } from './mapping.js';
import { retiredCheck } from './retired.js';
import type { SlotTableIo } from './table-io.js';
import { slotUpdate } from './update-expression.js';

/** What the claim loop needs besides the table: randomness, a way to wait, and the attempt budget. */
export interface ClaimContext {
  readonly table: SlotTableIo;
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly maxAttempts: number;
  /** Epoch ms now: decides whether a member's tombstone has expired. */
  readonly now: () => number;
  /** The member's current slot (strongly consistent), or undefined. */
  readonly findByMember: (backend: string, memberId: string) => Promise<SlotRecord | undefined>;
  /** Whether the member has a live tombstone (strongly consistent). */
  readonly isRetired: (backend: string, memberId: string) => Promise<boolean>;
  /** Whether a completion of this lifecycle token is owed or done (strongly consistent). */
  readonly isSettled: (token: string) => Promise<boolean>;
  /** What this store knows of the free slots, shared by its claims, and the stripe it takes from (free-slots.ts). */
  readonly free: FreeSlots;
}

// A miss means the list has gone stale where this store takes from: a few in a row, and the free set is read again.
const REFRESH_AFTER_MISSES = 3;

/** Full-jitter exponential backoff: spreads the losers of a race so they do not collide again in lockstep. */
export function backoffMs(attempt: number, random: () => number): number {
  return Math.floor(random() * Math.min(64, 4 * 2 ** Math.min(attempt, 4)));
}

/** What a claim writes besides the member: its weight, who registers it, and slots not to take. */
export interface ClaimInit {
  readonly weight: number;
  readonly owner: Owner;
  /** Free slots that must not be taken (e.g. a host still reports sessions on them). */
  readonly avoid?: ReadonlySet<string>;
  /** The lifecycle token of the launch claiming: refused once that token's completion is owed or done. */
  readonly launch?: string;
}

/**
 * Claims a slot for the member: its existing one if it has one, else a random free one, slot update and member item in
 * one TransactWriteItems, conditioned on the member not being retired (MemberRetiredError) and, for a launch, on its
 * token having no completion owed or done (LaunchSettledError: a redelivered launch). The slot's new fields are
 * the lifecycle machine's `claim` decision. NoFreeSlotError only when a consistent read finds no free slot;
 * SlotConflictError when the attempt budget runs out while slots were still free.
 */
export async function claimSlot(ctx: ClaimContext, backend: string, member: Member, init: ClaimInit): Promise<Claimed> {
  validName('member', member.id);
  validAddress(member.address);
  validPort(member.port);
  validWeight(init.weight);
  if (init.launch !== undefined) owedKey(init.launch);
  const mKey = memberKey(backend, member.id);
  // No read of the member item first: the transaction's attribute_not_exists condition finds an existing member and
  // returns its item, so a new member (the common case) costs one query and one transaction instead of four calls.
  let checkMember = false;
  // Free slots from the store's last consistent read (shared with its other claims, which take from it at once); a
  // lost race drops one and tries another before reading again.
  const usable = (items: readonly Item[]) => templateFirst(items.filter((i) => !init.avoid?.has(String(i.slot))));
  let misses = 0;
  for (let attempt = 0; attempt < ctx.maxAttempts; attempt++) {
    if (attempt > 0) await ctx.sleep(backoffMs(attempt, ctx.random));
    if (checkMember) {
      const existing = await ctx.findByMember(backend, member.id);
      if (existing)
        return { record: await ownedUnlessRefused(ctx, backend, member.id, existing, init.launch), claimed: false };
      checkMember = false;
    }
    let candidates = usable(ctx.free.list(backend));
    if (candidates.length === 0 || misses >= REFRESH_AFTER_MISSES || homeEmpty(candidates, ctx.free.home)) {
      const found = usable(await ctx.free.refresh(backend, () => ctx.table.slotItems(backend, true)));
      misses = 0;
      if (found.length === 0) {
        // A duplicate claim of the same member may have taken the last slot while we looked.
        const existing = await ctx.findByMember(backend, member.id);
        if (existing)
          return { record: await ownedUnlessRefused(ctx, backend, member.id, existing, init.launch), claimed: false };
        throw new NoFreeSlotError(backend);
      }
      // What this store's other claims hold is out of the list; if they hold every free slot, race them for one.
      candidates = usable(ctx.free.list(backend));
      if (candidates.length === 0) candidates = found;
    }
    const [pick] = candidates.splice(pickAt(candidates, ctx.free.home, ctx.random), 1) as [Item];
    ctx.free.take(backend, String(pick.slot));
    const free = itemToRecord(pick);
    const decision = decide(free, { kind: 'claim', member, weight: init.weight, owner: init.owner });
    // Candidates come from a query for free slots, so only a bug could make the machine refuse here.
    if (decision.type !== 'write') throw new SlotConflictError(`claim of ${backend}/${free.slot}: not free`);
    const { slot, version } = free;
    const claiming = ctx.table.transact(`claim ${backend}/${slot} for ${member.id}`, [
      {
        Update: {
          TableName: ctx.table.tableName,
          Key: slotKey(backend, slot),
          ...slotUpdate(decision.patch, { state: 'free', version }),
        },
      },
      {
        Put: {
          TableName: ctx.table.tableName,
          Item: { ...mKey, member: member.id, slot },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      // After the two above, so their indexes stay as they are: a retirement written before this claim makes it fail,
      retiredCheck(ctx.table, backend, member.id, ctx.now()),
      // and so does a completion of the launch's token (the launch was decided: this is a redelivery).
      ...(init.launch ? [unsettledCheck(ctx.table, init.launch, ctx.now())] : []),
    ]);
    const rejected = await claiming.finally(() => ctx.free.settled(backend, slot));
    if (!rejected) return { record: applyPatch(free, decision.patch), claimed: true };
    // A settled launch first: its redelivery answers `duplicate` whatever else has happened to the member since.
    if (rejected.reasons[3]?.code === 'ConditionalCheckFailed') throw new LaunchSettledError(backend, member.id);
    if (rejected.reasons[2]?.code === 'ConditionalCheckFailed') throw new MemberRetiredError(backend, member.id);
    const memberReason = rejected.reasons[1];
    if (memberReason?.code === 'ConditionalCheckFailed') {
      // The member won a slot in a concurrent claim: that one is the answer. The returned member item saves a read.
      const won = memberReason.item?.slot;
      const owned = typeof won === 'string' ? await ctx.table.slot(backend, won) : undefined;
      if (owned?.member === member.id)
        return { record: await ownedUnlessRefused(ctx, backend, member.id, owned, init.launch), claimed: false };
      checkMember = true;
    } else if (memberReason?.code === 'TransactionConflict') {
      checkMember = true; // a concurrent claim of the same member is in flight: look again after the backoff
    }
    misses++; // the slot was taken or changed under us, and the candidate list is that much staler
    ctx.free.lost(candidates);
  }
  throw new SlotConflictError(`claim of a slot in ${backend} for ${member.id} lost ${ctx.maxAttempts} races in a row`);
}

/**
 * The free template slots, or — only when none is left — the free dynamic ones: a dynamic slot costs an `add server`
 * on every host and is deleted again when freed, so growth starts only once the template is full (ARCHITECTURE.md,
 * "Growth"). A lost race re-reads, so a template slot freed meanwhile is preferred again.
 */
function templateFirst(free: Item[]): Item[] {
  const template = free.filter((i) => i.dynamic !== true);
  return template.length > 0 ? template : free;
}

/**
 * The member's existing slot, unless the claim is refused as its transaction would refuse it: a launch whose token was
 * decided meanwhile (LaunchSettledError, first) — found here, in a full backend or after a lost race, its redelivery
 * would otherwise hand the launch over to reconcile again — or a member retired meanwhile (a duplicate launch after a
 * terminate must not get the slot back: it would re-activate what the terminate is draining). Only this already-owned
 * path needs the extra reads; a new claim checks both inside its transaction.
 */
async function ownedUnlessRefused(
  ctx: ClaimContext,
  backend: string,
  memberId: string,
  owned: SlotRecord,
  launch: string | undefined,
): Promise<SlotRecord> {
  const [settled, retired] = await Promise.all([
    launch === undefined ? false : ctx.isSettled(launch),
    ctx.isRetired(backend, memberId),
  ]);
  if (settled) throw new LaunchSettledError(backend, memberId);
  if (retired) throw new MemberRetiredError(backend, memberId);
  return owned;
}
