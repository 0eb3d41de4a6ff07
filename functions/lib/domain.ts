// Domain vocabulary shared by the slot store, the HAProxy client, the planner and the services. Types only.
import type { AdminState, Command } from './haproxy/commands.js';

/** Table-side state of a slot. `held` = an operator took the slot out; reconcile leaves it alone. */
export type SlotState = 'free' | 'active' | 'draining' | 'held';

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
      /** HAProxy's `show info` Version (`2.6.12-1+deb12u4`); absent when nothing was asked (no backends). */
      readonly version?: string;
    }
  | { readonly host: string; readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

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

/** A batch of commands for one host. */
export type HostBatch = { readonly host: string; readonly commands: readonly Command[] };
