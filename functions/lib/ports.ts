// Capability interfaces the services depend on (ports); adapters in slots/, haproxy/ and adapters/ implement them.
import type { HostBatch, HostObservation, HostResult, LifecycleRef, Member, SlotRecord } from './domain.js';
import type { AdminState, Command } from './haproxy/commands.js';

/** The DynamoDB slot table (DESIGN §5). Every method is safe under concurrent and duplicated calls. */
export interface SlotStore {
  /** Creates the missing `free` slot items of a backend; existing items are left untouched. Idempotent. */
  seed(backend: string, slotNames: readonly string[]): Promise<{ readonly created: readonly string[] }>;
  /** The member's slot: its existing one, or a random free one claimed in one transaction. Throws NoFreeSlotError. */
  claim(backend: string, member: Member, weight: number): Promise<SlotRecord>;
  /** The slot the member owns in the backend, if any (strongly consistent). */
  findByMember(backend: string, memberId: string): Promise<SlotRecord | undefined>;
  /** active|draining → draining with a deadline (epoch ms) and the lifecycle action to complete later. Intent first. */
  markDraining(backend: string, memberId: string, deadline: number, lifecycle?: LifecycleRef): Promise<SlotRecord>;
  /** draining|held → active again (webhook `ready` after `drain`). */
  markActive(backend: string, memberId: string): Promise<SlotRecord>;
  /** Changes the weight the member's slot should carry. */
  setWeight(backend: string, memberId: string, weight: number): Promise<SlotRecord>;
  /** Frees the member's slot only while it still owns it; false when it no longer does (idempotent). */
  release(backend: string, memberId: string): Promise<boolean>;
  /** Operator takes a slot out: reconcile leaves it alone; `admin` is what the CLI applied on every host. */
  hold(backend: string, slot: string, admin: AdminState): Promise<SlotRecord>;
  /** Gives a held slot back to the state it had before `hold`. */
  unhold(backend: string, slot: string): Promise<SlotRecord>;
  /** Every slot of the backend, strongly consistent, sorted by slot name (natural order: web2 before web10). */
  list(backend: string): Promise<readonly SlotRecord[]>;
  /**
   * Records that the member left for good until `untilEpochMs` (never shortens an existing record): from then on
   * `claim` refuses it with MemberRetiredError, so a launch event delivered after the terminate registers nothing.
   */
  retire(backend: string, memberId: string, untilEpochMs: number): Promise<void>;
  /** Whether the member is retired in the backend (a retirement that has not expired yet). */
  isRetired(backend: string, memberId: string): Promise<boolean>;
}

/** The HAProxy hosts of the fleet, reached through the Runtime API. */
export interface HaproxyFleet {
  readonly hosts: readonly string[];
  /** Sends each host its own batch in one pipelined connection, all hosts in parallel; one result per batch. */
  run(batches: readonly HostBatch[]): Promise<readonly HostResult[]>;
  /** Sends the same commands to every host. */
  broadcast(commands: readonly Command[]): Promise<readonly HostResult[]>;
  /**
   * `show stat` + `show servers state` of the backends on every host, in parallel; failures per host. With `servers`,
   * only those servers' rows are parsed and reported (HAProxy still sends the whole backend: there is no filter by
   * name), which is what a one-slot sync needs.
   */
  observe(
    backends: readonly string[],
    options?: { readonly servers?: ReadonlySet<string> },
  ): Promise<readonly HostObservation[]>;
}

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
