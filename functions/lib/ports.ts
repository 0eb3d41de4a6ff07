// Capability interfaces the services depend on (ports); adapters in slots/, haproxy/ and adapters/ implement them.
import type { Command } from './domain/commands.js';
import type { Decision, SlotEvent } from './domain/lifecycle.js';
import type {
  HostBatch,
  HostObservation,
  HostResult,
  LifecycleRef,
  Member,
  Owner,
  SlotRecord,
} from './domain/types.js';

/**
 * A lifecycle completion a slot change owes (a transactional outbox item): written with that change, completed by
 * whoever leases it. `after` as in the machine's complete effect.
 */
export interface OwedCompletion {
  readonly ref: LifecycleRef;
  readonly result: 'CONTINUE' | 'ABANDON';
  readonly after?: 'last-slot' | 'last-launch';
  /** The backend whose slot change owed it (where `after` looks from). */
  readonly backend: string;
  readonly status: 'owed' | 'done';
}

/** A slot named directly (CLI), optionally only while `member` still owns it; or the slot a member owns. */
export type SlotAddress = { readonly slot: string; readonly member?: string } | { readonly member: string };

/** What a store write through the lifecycle machine ended with. */
export interface Applied {
  /** The machine's verdict: a write, a no-op, or `claim` (the member holds no slot: claim a free one). */
  readonly decision: Exclude<Decision, { type: 'refuse' }>;
  /** The record before the event (undefined: none) and after it (the same when nothing was written). */
  readonly before?: SlotRecord;
  readonly record?: SlotRecord;
}

/** A claim's outcome: the slot, and whether this call took it (false: the member already held it). */
export interface Claimed {
  readonly record: SlotRecord;
  readonly claimed: boolean;
}

/**
 * The DynamoDB slot table (DESIGN §5). Every method is safe under concurrent and duplicated calls, and every change to
 * a slot goes through the lifecycle machine (`domain/lifecycle.ts`): the store only carries its decisions out.
 */
export interface SlotStore {
  /**
   * Creates the missing `free` slot items of a backend; existing items are left untouched. Idempotent. With
   * `dynamic`, the items are growth slots (servers added at run time, docs/ARCHITECTURE.md "Growth").
   */
  seed(
    backend: string,
    slotNames: readonly string[],
    options?: { readonly dynamic?: boolean },
  ): Promise<{ readonly created: readonly string[] }>;
  /**
   * The member's existing slot, or a random free one (never one of `avoid`) claimed in one transaction that also proves
   * the member had none and is not retired. A free template slot is always taken before a dynamic one (growth only
   * once the template is full). With `launch` (a lifecycle token), the transaction also proves that no completion of
   * that token is owed or done: a redelivered launch never claims again (LaunchSettledError), which is what makes the
   * launch idempotent without a record of its own. Throws NoFreeSlotError, MemberRetiredError, LaunchSettledError.
   */
  claim(
    backend: string,
    member: Member,
    init: {
      readonly weight: number;
      readonly owner: Owner;
      readonly avoid?: ReadonlySet<string>;
      readonly launch?: string;
    },
  ): Promise<Claimed>;
  /** The slot the member owns in the backend, if any (strongly consistent). */
  findByMember(backend: string, memberId: string): Promise<SlotRecord | undefined>;
  /** One slot record, if seeded (strongly consistent). */
  get(backend: string, slot: string): Promise<SlotRecord | undefined>;
  /** The seeded ones among these slots (strongly consistent), in the order asked: one request, not one per slot. */
  getMany(backend: string, slots: readonly string[]): Promise<readonly SlotRecord[]>;
  /**
   * Feeds one event to the machine for the addressed slot and writes its decision under a version guard (a lost race
   * decides again on the item as it is now). A refusal is thrown as its typed error; nothing is written then.
   */
  apply(backend: string, at: SlotAddress, event: SlotEvent): Promise<Applied>;
  /** Every slot of the backend, strongly consistent, sorted by slot name (natural order: web2 before web10). */
  list(backend: string): Promise<readonly SlotRecord[]>;
  /** Records that the member left for good until `untilEpochMs` (never shortened): `claim` refuses it from then on. */
  retire(backend: string, memberId: string, untilEpochMs: number): Promise<void>;
  isRetired(backend: string, memberId: string): Promise<boolean>;
  /** Whether a completion of the lifecycle token is owed or done: its launch was decided (the claim's check, alone). */
  isSettled(token: string): Promise<boolean>;
  /** Records a completion as owed (idempotent: the first owed result for a token stays). */
  owe(completion: Omit<OwedCompletion, 'status'>): Promise<void>;
  /** Completions still owed, for reconcile to settle. */
  owedCompletions(): Promise<readonly OwedCompletion[]>;
  /** Leases an owed completion for `leaseMs`; undefined when it is done or leased by someone else right now. */
  leaseCompletion(token: string, leaseMs: number): Promise<OwedCompletion | undefined>;
  /**
   * `owe` then `leaseCompletion`, in one write whenever nobody else has the token (the common case: a launch's
   * CONTINUE); undefined as `leaseCompletion` answers it.
   */
  oweAndLease(completion: Omit<OwedCompletion, 'status'>, leaseMs: number): Promise<OwedCompletion | undefined>;
  /** Ends a lease: done (AWS has it) or owed again. */
  settleCompletion(token: string, done: boolean): Promise<void>;
}

/** The HAProxy hosts of the fleet, reached through the Runtime API. */
export interface HaproxyFleet {
  readonly hosts: readonly string[];
  /** Sends each host its own batch in one pipelined connection, all hosts in parallel; one result per batch. */
  run(batches: readonly HostBatch[]): Promise<readonly HostResult[]>;
  /** Sends the same commands to every host. */
  broadcast(commands: readonly Command[]): Promise<readonly HostResult[]>;
  /**
   * `show info` + `show stat` + `show servers state` of the backends on every host (or on `hosts` only), in parallel;
   * failures per host. With `servers`, only those servers' rows are parsed and reported (HAProxy still sends the whole
   * backend).
   */
  observe(backends: readonly string[], options?: ObserveOptions): Promise<readonly HostObservation[]>;
}

/** What an observation reads: every row, or only `servers`; every host, or only `hosts` (the answer lists those alone). */
export interface ObserveOptions {
  readonly servers?: ServerFilter;
  readonly hosts?: ReadonlySet<string>;
}

/**
 * Which servers' rows an observation reports. A promise lets the read go out before the caller knows which slot it
 * wants (a launch reads the backend while its claim is in flight): the reply is taken when it arrives and its rows
 * are chosen when the promise settles, `undefined` meaning every row. It must not reject.
 */
export type ServerFilter = ReadonlySet<string> | PromiseLike<ReadonlySet<string> | undefined>;

/** EC2: where an instance can be reached. */
export interface Instances {
  /** Private IP of the instance, or undefined when EC2 does not know it (terminated long ago). */
  privateAddress(instanceId: string): Promise<string | undefined>;
}

/** Auto Scaling: lifecycle actions and group membership. */
export interface LifecycleActions {
  /** Throws LifecycleActionGoneError when AWS says there is no active lifecycle action (final). */
  complete(ref: LifecycleRef, result: 'CONTINUE' | 'ABANDON'): Promise<void>;
  heartbeat(ref: LifecycleRef): Promise<void>;
  /** Ids of a group's instances that are InService or entering it (Pending*), for the reconcile cross-check. */
  inService(asgName: string): Promise<readonly string[]>;
}

/** Time, injectable so services and tests agree on "now" and can wait without real sleeps in pure code. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}
