// Test fake of the SlotStore port: the DynamoDB adapter's semantics (functions/lib/slots/) in memory — versions, guards,
// member items, tombstones, the owed-completion outbox — pinned to it by test/integration/slot-store-contract.test.ts.
import { decide, type SlotEvent } from '../../../functions/lib/domain/lifecycle.js';
import { naturalCompare } from '../../../functions/lib/domain/natural-order.js';
import { applyPatch } from '../../../functions/lib/domain/patch.js';
import type { Member, SlotRecord } from '../../../functions/lib/domain/types.js';
import { validAddress, validName, validPort, validWeight } from '../../../functions/lib/domain/values.js';
import {
  InvalidArgumentError,
  LaunchSettledError,
  MemberRetiredError,
  NoFreeSlotError,
  SlotConflictError,
} from '../../../functions/lib/errors.js';
import type { Applied, Claimed, OwedCompletion, SlotAddress, SlotStore } from '../../../functions/lib/ports.js';
import { backoffMs, type ClaimInit } from '../../../functions/lib/slots/claim.js';
import { owedKey } from '../../../functions/lib/slots/completion.js';
import { chooseStripe, homeEmpty, pickAt, STRIPES } from '../../../functions/lib/slots/free-slots.js';
import { memberKey, retiredKey, slotKey } from '../../../functions/lib/slots/keys.js';
import { FakeCompletions } from './completions.js';

export interface FakeSlotStoreOptions {
  /** Epoch ms now (tombstone expiry, leases); default Date.now. */
  readonly now?: () => number;
  /** Picks the free slot like the adapter does (same candidate order), and the retry jitter. */
  readonly random?: () => number;
  readonly maxAttempts?: number;
}

/** Where a write is about to happen: between its read and its conditional write (see `beforeWrite`). */
export interface WritePoint {
  readonly op: 'claim' | 'apply';
  readonly backend: string;
  readonly slot: string;
}

// The adapter keeps a completion owed this long (dynamodb-store.ts).
const OWED_FOR_MS = 48 * 3600 * 1000;
const REFRESH_AFTER_MISSES = 3;

/** The in-memory SlotStore. Every read returns a copy; every write is checked against the record it was decided on. */
export class FakeSlotStore implements SlotStore {
  private readonly slots = new Map<string, Map<string, SlotRecord>>();
  /** `backend member` → slot name: the member items that make "one slot per member" a condition. */
  private readonly members = new Map<string, string>();
  /** `backend member` → expiry in epoch seconds, as the tombstones' TTL attribute. */
  private readonly retired = new Map<string, number>();
  private readonly completions: FakeCompletions;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly maxAttempts: number;
  /** The stripe claims take from, as the adapter's (free-slots.ts; drawn at construction like it). */
  private readonly home: { stripe: number };
  private failures: { method: keyof SlotStore; error: Error }[] = [];
  /**
   * Runs between a write's read and its conditional write: a test changes the table here to make the write lose a
   * race (the adapter then decides again on the record as it is now, exactly like DynamoDB's conditions make it).
   */
  beforeWrite?: (at: WritePoint) => void | Promise<void>;

  constructor(options: FakeSlotStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.maxAttempts = options.maxAttempts ?? 100;
    this.completions = new FakeCompletions(this.now);
    this.home = { stripe: Math.floor(this.random() * STRIPES) };
  }

  /** The next call of `method` throws `error` (e.g. a StoreUnavailableError), before it reads or writes anything. */
  failNext(method: keyof SlotStore, error: Error): void {
    this.failures.push({ method, error });
  }

  private enter(method: keyof SlotStore): void {
    const i = this.failures.findIndex((f) => f.method === method);
    if (i === -1) return;
    const [failure] = this.failures.splice(i, 1);
    throw failure?.error;
  }

  private backend(name: string): Map<string, SlotRecord> {
    const b = this.slots.get(name) ?? new Map<string, SlotRecord>();
    this.slots.set(name, b);
    return b;
  }

  private async gap(at: WritePoint): Promise<void> {
    // A real write is a network round trip: other callers run meanwhile.
    await Promise.resolve();
    await this.beforeWrite?.(at);
  }

  async seed(backend: string, slotNames: readonly string[]): Promise<{ readonly created: readonly string[] }> {
    this.enter('seed');
    const names = [...new Set(slotNames)];
    for (const name of names) slotKey(backend, name);
    const slots = this.backend(backend);
    const created = names.filter((slot) => {
      if (slots.has(slot)) return false;
      slots.set(slot, { backend, slot, state: 'free', version: 1 });
      return true;
    });
    return { created: created.sort(naturalCompare) };
  }

  async claim(backend: string, member: Member, init: ClaimInit): Promise<Claimed> {
    this.enter('claim');
    validName('member', member.id);
    validAddress(member.address);
    validPort(member.port);
    validWeight(init.weight);
    memberKey(backend, member.id);
    if (init.launch !== undefined) owedKey(init.launch);
    let checkMember = false;
    let candidates: SlotRecord[] = [];
    let misses = 0;
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      // The adapter waits this long (its jitter draws from the same random source, so the picks stay in step).
      if (attempt > 0) backoffMs(attempt, this.random);
      if (checkMember) {
        const existing = await this.findByMember(backend, member.id);
        if (existing) return { record: this.unlessRefused(backend, member.id, existing, init.launch), claimed: false };
        checkMember = false;
      }
      if (candidates.length === 0 || misses >= REFRESH_AFTER_MISSES || homeEmpty(candidates, this.home)) {
        candidates = this.freeInKeyOrder(backend).filter((r) => !init.avoid?.has(r.slot));
        misses = 0;
        if (candidates.length === 0) {
          const existing = await this.findByMember(backend, member.id);
          if (existing)
            return { record: this.unlessRefused(backend, member.id, existing, init.launch), claimed: false };
          throw new NoFreeSlotError(backend);
        }
      }
      // The adapter's pick (free-slots.ts, `pickAt`): from this store's stripe, moved after a lost race.
      const [free] = candidates.splice(pickAt(candidates, this.home, this.random), 1) as [SlotRecord];
      const decision = decide(free, { kind: 'claim', member, weight: init.weight, owner: init.owner });
      if (decision.type !== 'write') throw new SlotConflictError(`claim of ${backend}/${free.slot}: not free`);
      await this.gap({ op: 'claim', backend, slot: free.slot });
      const now = this.backend(backend).get(free.slot);
      const slotOk = now?.state === 'free' && now.version === free.version;
      const owned = this.members.get(`${backend} ${member.id}`);
      const retired = this.retiredNow(backend, member.id);
      const settled = init.launch !== undefined && this.completions.live(init.launch);
      if (slotOk && owned === undefined && !retired && !settled) {
        const record = applyPatch(free, decision.patch);
        this.backend(backend).set(free.slot, record);
        this.members.set(`${backend} ${member.id}`, free.slot);
        return { record: structuredClone(record), claimed: true };
      }
      if (settled) throw new LaunchSettledError(backend, member.id);
      if (retired) throw new MemberRetiredError(backend, member.id);
      if (owned !== undefined) {
        const won = this.backend(backend).get(owned);
        if (won?.member === member.id)
          return { record: this.unlessRefused(backend, member.id, structuredClone(won), init.launch), claimed: false };
        checkMember = true;
      }
      misses++;
      this.home.stripe = chooseStripe(candidates, this.random);
    }
    throw new SlotConflictError(`claim of a slot in ${backend} for ${member.id} lost ${this.maxAttempts} races`);
  }

  /** Free slots in the order the adapter's query returns them: by sort key, `slot#web10` before `slot#web2`. */
  private freeInKeyOrder(backend: string): SlotRecord[] {
    return [...this.backend(backend).values()]
      .filter((r) => r.state === 'free')
      .sort((a, b) => (a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0))
      .map((r) => structuredClone(r));
  }

  /** The adapter's `ownedUnlessRefused`: a settled launch first, then a retired member. */
  private unlessRefused(backend: string, memberId: string, owned: SlotRecord, launch: string | undefined): SlotRecord {
    if (launch !== undefined && this.completions.live(launch)) throw new LaunchSettledError(backend, memberId);
    if (this.retiredNow(backend, memberId)) throw new MemberRetiredError(backend, memberId);
    return owned;
  }

  private retiredNow(backend: string, memberId: string): boolean {
    const expiresAt = this.retired.get(`${backend} ${memberId}`);
    return expiresAt !== undefined && expiresAt > Math.floor(this.now() / 1000);
  }

  async findByMember(backend: string, memberId: string): Promise<SlotRecord | undefined> {
    this.enter('findByMember');
    memberKey(backend, memberId);
    const slot = this.members.get(`${backend} ${memberId}`);
    const record = slot === undefined ? undefined : this.backend(backend).get(slot);
    return record?.member === memberId ? structuredClone(record) : undefined;
  }

  async get(backend: string, slot: string): Promise<SlotRecord | undefined> {
    this.enter('get');
    slotKey(backend, slot);
    const record = this.backend(backend).get(slot);
    return record ? structuredClone(record) : undefined;
  }

  async getMany(backend: string, slots: readonly string[]): Promise<readonly SlotRecord[]> {
    this.enter('getMany');
    for (const slot of slots) slotKey(backend, slot);
    return [...new Set(slots)].flatMap((slot) => {
      const record = this.backend(backend).get(slot);
      return record ? [structuredClone(record)] : [];
    });
  }

  async apply(backend: string, at: SlotAddress, event: SlotEvent): Promise<Applied> {
    this.enter('apply');
    const expected = at.member;
    if (expected !== undefined) memberKey(backend, expected);
    if ('slot' in at) slotKey(backend, at.slot);
    const load = async (): Promise<SlotRecord | undefined> => {
      const r = 'slot' in at ? await this.get(backend, at.slot) : await this.findByMember(backend, expected as string);
      return expected !== undefined && r?.member !== expected ? undefined : r;
    };
    let current = await load();
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const decision = decide(current, event);
      if (decision.type === 'refuse') throw decision.error;
      if (decision.type !== 'write' || !current) return { decision, before: current, record: current };
      const record = current;
      const owed = decision.effects.flatMap((e) => (e.kind === 'complete' ? [e] : []));
      for (const e of owed) owedKey(e.ref.token);
      const dropsMember = record.member !== undefined && decision.patch.remove?.includes('member');
      await this.gap({ op: 'apply', backend, slot: record.slot });
      const now = this.backend(backend).get(record.slot);
      const guardOk = now !== undefined && now.version === record.version && now.member === record.member;
      const memberKeyOk = !dropsMember || this.members.get(`${backend} ${record.member}`) === record.slot;
      if (guardOk && memberKeyOk) {
        const next = applyPatch(record, decision.patch);
        this.backend(backend).set(record.slot, next);
        if (dropsMember) this.members.delete(`${backend} ${record.member}`);
        for (const e of owed)
          this.completions.owe({ ref: e.ref, result: e.result, after: e.after, backend }, this.now() + OWED_FOR_MS);
        return { decision, before: record, record: structuredClone(next) };
      }
      current = await load();
      if (attempt > 0) this.random(); // the adapter's retry jitter
    }
    throw new SlotConflictError(`${event.kind} on ${backend} lost ${this.maxAttempts} races in a row`);
  }

  async list(backend: string): Promise<readonly SlotRecord[]> {
    this.enter('list');
    validName('backend', backend);
    return [...this.backend(backend).values()]
      .sort((a, b) => naturalCompare(a.slot, b.slot))
      .map((r) => structuredClone(r));
  }

  async retire(backend: string, memberId: string, untilEpochMs: number): Promise<void> {
    this.enter('retire');
    if (!Number.isSafeInteger(untilEpochMs) || untilEpochMs < 0)
      throw new InvalidArgumentError('until', untilEpochMs, 'must be epoch milliseconds');
    retiredKey(backend, memberId);
    const expiresAt = Math.ceil(untilEpochMs / 1000);
    const key = `${backend} ${memberId}`;
    if ((this.retired.get(key) ?? -1) < expiresAt) this.retired.set(key, expiresAt);
  }

  async isRetired(backend: string, memberId: string): Promise<boolean> {
    this.enter('isRetired');
    retiredKey(backend, memberId);
    return this.retiredNow(backend, memberId);
  }

  async owe(completion: Omit<OwedCompletion, 'status'>): Promise<void> {
    this.enter('owe');
    this.completions.owe(completion, this.now() + OWED_FOR_MS);
  }

  async isSettled(token: string): Promise<boolean> {
    this.enter('isSettled');
    return this.completions.live(token);
  }

  async owedCompletions(): Promise<readonly OwedCompletion[]> {
    this.enter('owedCompletions');
    return this.completions.owedOnes();
  }

  async leaseCompletion(token: string, leaseMs: number): Promise<OwedCompletion | undefined> {
    this.enter('leaseCompletion');
    return this.completions.lease(token, leaseMs);
  }

  async oweAndLease(completion: Omit<OwedCompletion, 'status'>, leaseMs: number): Promise<OwedCompletion | undefined> {
    this.enter('oweAndLease');
    this.completions.owe(completion, this.now() + OWED_FOR_MS);
    return this.completions.lease(completion.ref.token, leaseMs);
  }

  async settleCompletion(token: string, done: boolean): Promise<void> {
    this.enter('settleCompletion');
    this.completions.settle(token, done);
  }

  /** Every completion item, done ones included (what the `lifecycle-actions` partition holds). */
  allCompletions(): readonly OwedCompletion[] {
    return this.completions.all();
  }
}
