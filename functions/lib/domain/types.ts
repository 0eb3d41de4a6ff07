// Domain vocabulary shared by the slot store, the HAProxy client, the planner and the services. Types only.
import type { Command } from './commands.js';
import type { AdminState } from './values.js';

/** Table-side state of a slot (docs/ARCHITECTURE.md, "Slot lifecycle"). `held` = an operator pinned its admin state. */
export const SLOT_STATES = ['free', 'active', 'held', 'draining'] as const;
export type SlotState = (typeof SLOT_STATES)[number];

/** Who registered a member: the Auto Scaling path (lifecycle events, the ASG cross-check) or a deploy tool's webhook. */
export const OWNERS = ['asg', 'webhook'] as const;
export type Owner = (typeof OWNERS)[number];

/**
 * Why a slot drains: the instance is terminated (ASG hook), its launch was abandoned, it goes back to the warm pool,
 * a deploy tool deregistered it, or EC2 said it is going (ARCHITECTURE.md, "Every way an instance leaves"): a Spot
 * interruption warning, a rebalance recommendation the backend drains on, a stop (`stopping`/`stopped`, or a Spot
 * stop/hibernate) or a termination (`shutting-down`/`terminated`) seen as an EC2 state change.
 */
export const DRAIN_REASONS = [
  'terminate',
  'abandon',
  'warm-pool',
  'deregister',
  'spot-interruption',
  'rebalance',
  'instance-stopping',
  'instance-terminating',
] as const;
export type DrainReason = (typeof DRAIN_REASONS)[number];

/**
 * The reasons after which the member never gets a slot again (retired): the instance is gone for good. A stopped
 * instance may be started again, a warm-pool one returns, a deregistered member may be registered again.
 */
export const RETIRING_REASONS: ReadonlySet<DrainReason> = new Set([
  'terminate',
  'abandon',
  'spot-interruption',
  'rebalance',
  'instance-terminating',
]);

/** What an instance (or a webhook member) contributes: its id and where it serves. */
export interface Member {
  readonly id: string;
  readonly address: string;
  readonly port: number;
}

/** The Auto Scaling lifecycle action a draining slot must complete once the drain is over. */
export interface LifecycleRef {
  readonly token: string;
  readonly hookName: string;
  readonly asgName: string;
  readonly instanceId: string;
}

/** One slot as the table records it. `version` increases by one on every write (optimistic concurrency). */
export interface SlotRecord {
  readonly backend: string;
  readonly slot: string;
  readonly state: SlotState;
  readonly version: number;
  readonly member?: string;
  readonly address?: string;
  readonly port?: number;
  readonly weight?: number;
  /** Epoch milliseconds after which a draining slot goes to maint even with sessions left. */
  readonly drainDeadline?: number;
  readonly lifecycle?: LifecycleRef;
  /** For `held` slots: the admin state the operator asked for on every host (drain or maint), or undefined = untouched. */
  readonly heldAdmin?: AdminState;
  /** For `held` slots: the state to go back to on `unhold`. */
  readonly heldFrom?: Exclude<SlotState, 'held'>;
  /** Who registered the member (absent on records written before owners were recorded: `i-…` ids count as `asg`). */
  readonly owner?: Owner;
  /** For `draining` slots: epoch ms when the drain was decided; the slot is not freed before this plus the fence. */
  readonly drainStartedAt?: number;
  readonly drainReason?: DrainReason;
  /** Epoch ms of the last lifecycle heartbeat sent for this slot's pending action (terminate or launch). */
  readonly heartbeatAt?: number;
  /** A launch whose completion was handed to reconcile: CONTINUE once READY everywhere, ABANDON after the deadline. */
  readonly launch?: LifecycleRef;
  readonly launchDeadline?: number;
  /**
   * A slot past the server-template (growth, docs/ARCHITECTURE.md "Growth"): its server is added at run time on every
   * host while a member holds it and deleted once it is free. Set when the slot is seeded, never changed after.
   */
  readonly dynamic?: true;
}

/** One server row as a host reports it, merged from `show stat` and `show servers state`. */
export interface ObservedSlot {
  readonly backend: string;
  readonly server: string;
  /** IP literal, or null when the server has no address. */
  readonly address: string | null;
  readonly port: number | null;
  /** Decoded from the admin bitmask: maint = `& 0x23`, drain = `& 0x18`, else ready. */
  readonly admin: AdminState;
  /** `uweight`: what `set server … weight` set (CSV `weight` is stale in MAINT). */
  readonly weight: number;
  /** Current sessions (`scur`): a slot is never re-addressed while this is above 0. */
  readonly sessions: number;
  /** Raw `status` (`UP 1/3`, `DRAIN`, `MAINT (resolution)`...). */
  readonly status: string;
  /** First word of `status`: UP, DOWN, DRAIN, MAINT, NOLB, no check... */
  readonly statusWord: string;
  /** `check_status` (`L7OK`, `INI`, `L4CON`, '' when checks are off or paused). */
  readonly checkStatus: string;
  /** True when the server has a health check configured (check columns present). */
  readonly hasCheck: boolean;
}

/** What one host reported for one backend, or why it could not. */
export type HostObservation =
  | {
      readonly host: string;
      readonly ok: true;
      readonly backends: ReadonlyMap<string, readonly ObservedSlot[]>;
      /** HAProxy's `Version` from `show info`, when the observation asked for it. */
      readonly version?: string;
    }
  | {
      readonly host: string;
      readonly ok: false;
      readonly error: { readonly code: string; readonly message: string };
      /**
       * What the host showed the last time it answered in this invocation (`rememberLastSeen`): a host that stopped
       * answering mid-invocation may still send a slot traffic, so a release is judged on these rows, not waved through.
       */
      readonly lastSeen?: ReadonlyMap<string, readonly ObservedSlot[]>;
      /** When the host answered with `lastSeen` (epoch ms). */
      readonly lastSeenAt?: number;
    };

/** A classified reply to one command. */
export interface CommandReply {
  readonly command: string;
  readonly ok: boolean;
  /** HAProxy's text, trimmed ('' for the empty success reply). */
  readonly reply: string;
}

/** Outcome of one batch on one host (DESIGN §4): never hidden behind another host's success. */
export interface HostResult {
  readonly host: string;
  /** True when the host answered every command and every reply classified as success. */
  readonly ok: boolean;
  readonly replies: readonly CommandReply[];
  /** Transport failure (unreachable, timeout, protocol) or the first failed command. */
  readonly error?: { readonly code: string; readonly message: string };
}

/**
 * A batch of commands for one host. `notAfter` (epoch ms) fences plans made from a table read: the transport refuses to
 * write the batch later than that, so a stale `ready` can never land after a terminate's drain fence (ARCHITECTURE.md).
 */
export type HostBatch = { readonly host: string; readonly commands: readonly Command[]; readonly notAfter?: number };
