// Planner vocabulary: its input (table + observations + time), and its output as data (batches, drift, transitions).
import type { BackendConfig } from '../config.js';
import type { Quorum } from '../domain/quorum.js';
import type { HostBatch, HostObservation, SlotRecord } from '../domain/types.js';

/** One backend as the table wants it: its config and every slot record. */
export interface DesiredBackend {
  readonly config: Pick<BackendConfig, 'name' | 'slotPrefix' | 'healthGate' | 'dynamicServerOptions'>;
  readonly slots: readonly SlotRecord[];
}

/** Timing and quorum rules the planner applies; defaults in `DEFAULT_POLICY`. */
export interface PlanPolicy {
  /** A drain is not over before `drainStartedAt + fenceMs`: stale plans sent before the drain must have landed. */
  readonly fenceMs: number;
  /** A pending lifecycle action gets a heartbeat when its last one is this old. */
  readonly heartbeatMs: number;
  /** How many hosts must serve a launched member before its launch completes. */
  readonly quorum: Quorum;
  /** 3.0+: how long `wait … srv-removable` may hold a batch before the `del server` of a freed dynamic slot. */
  readonly removeWaitMs: number;
  /**
   * How long a host that stopped answering still holds a release with what it last showed (`lastSeen`): long enough
   * for a dropped connection, a restart or a flapping link to answer again; past it the host is taken for gone, as
   * one never seen is, so a host that died does not hold every drain in flight until its invocation's end.
   */
  readonly lostHostMs: number;
}

export const DEFAULT_POLICY: PlanPolicy = {
  fenceMs: 1_500,
  heartbeatMs: 300_000,
  quorum: 'all',
  removeWaitMs: 1_000,
  lostHostMs: 15_000,
};

/** Everything the planner decides from. `now` is epoch milliseconds, passed in so the planner stays pure. */
export interface PlanInput {
  readonly desired: readonly DesiredBackend[];
  readonly observed: readonly HostObservation[];
  readonly now: number;
  readonly policy?: Partial<PlanPolicy>;
  /**
   * Slots (readdressKey) the caller re-addressed on a host earlier in the same invocation: on a 3.x host the state
   * change that takes one out of MAINT carries the address in front (slot-rules.ts, readdress).
   */
  readonly readdressed?: ReadonlySet<string>;
}

/** Why a host's view of a slot differs from the table. */
export type DriftKind =
  | 'address'
  | 'weight'
  | 'admin'
  | 'missing-slot'
  | 'unknown-slot'
  | 'blocked-by-sessions'
  | 'awaiting-health'
  /** A dynamic server whose slot is free: set to MAINT, then deleted once no session is left. */
  | 'leftover-server';

/** One difference between the table and one host, for logs and reconcile reports. */
export interface Drift {
  readonly host: string;
  readonly backend: string;
  readonly slot: string;
  readonly kind: DriftKind;
  readonly expected?: string;
  readonly actual?: string;
}

/** A lifecycle event the fleet's state calls for; the caller feeds it to the store (the lifecycle machine). */
export interface SlotTransition {
  readonly kind: 'drain-finished' | 'drain-deadline' | 'launch-ready' | 'launch-timeout' | 'heartbeat-due';
  readonly backend: string;
  readonly slot: string;
  readonly member: string;
  readonly version: number;
}

/** The planner's answer: batches only for hosts that need commands; unreachable hosts get nothing. */
export interface Plan {
  readonly batches: readonly HostBatch[];
  readonly drift: readonly Drift[];
  readonly transitions: readonly SlotTransition[];
  readonly unreachable: readonly { host: string; code: string; message: string }[];
}
