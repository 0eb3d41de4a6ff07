// Converges one slot on every host by running the pure planner in a loop: observe → plan → apply, until settled.
import type { BackendConfig } from '../config.js';
import type { HostObservation, HostResult, SlotRecord } from '../domain.js';
import { type Plan, plan } from '../plan.js';
import type { ServiceDeps } from './deps.js';

/** How one host ended up for the slot. */
export interface HostSlotOutcome {
  readonly host: string;
  /** The host reports the slot exactly as the table wants it (or only waits for its first passing check). */
  readonly applied: boolean;
  readonly awaitingHealth: boolean;
  readonly error?: { readonly code: string; readonly message: string };
  /** Every batch sent to this host during the sync, in order. */
  readonly results: readonly HostResult[];
}

export interface SyncOutcome {
  readonly hosts: readonly HostSlotOutcome[];
  /** The last plan: its transitions (a drain that completed) are for the caller to carry out. */
  readonly lastPlan: Plan;
  /** No host needs a command and none waits for a health check. */
  readonly settled: boolean;
}

export interface SyncOptions {
  /** Stop looping at this epoch-ms time even if hosts still wait for a health check or for sessions to end. */
  readonly until: number;
  readonly pollMs?: number;
  /** Called between polling rounds (lifecycle heartbeats). */
  readonly onTick?: () => Promise<void>;
  /** An observation the caller just made, used for the first round instead of observing again. */
  readonly observed?: readonly HostObservation[];
  /**
   * Keep polling until the planner releases the slot (a drain whose sessions ended everywhere, or whose deadline
   * passed): a draining slot with sessions needs no command, which alone would look settled.
   */
  readonly awaitRelease?: boolean;
}

// Rounds in a row that still had commands to send: past this a host keeps refusing and looping won't help.
const MAX_COMMAND_ROUNDS = 3;
const SLOT_DRIFT = new Set(['address', 'weight', 'admin', 'missing-slot', 'blocked-by-sessions']);

/**
 * Observes, plans and applies for one slot until no host needs a command, a transition (finished drain) appears,
 * or `until` passes. Every round that sent commands is followed by a fresh observation, so "applied" is what the
 * hosts report, not what we hoped.
 */
export async function syncSlot(
  backend: Pick<BackendConfig, 'name' | 'slotPrefix' | 'healthGate'>,
  record: SlotRecord,
  deps: ServiceDeps,
  options: SyncOptions,
): Promise<SyncOutcome> {
  const results = new Map<string, HostResult[]>();
  let commandRounds = 0;
  let initial = options.observed;
  for (;;) {
    // Only this slot's rows: a drain or a health gate polls for a while, and a backend can have hundreds of slots.
    const observed = initial ?? (await deps.fleet.observe([backend.name], { servers: new Set([record.slot]) }));
    initial = undefined;
    const p = plan({ desired: [{ config: backend, slots: [record] }], observed, now: deps.clock.now() });
    const transition = p.transitions.some((t) => t.slot === record.slot);
    if (p.batches.length > 0 && (commandRounds < MAX_COMMAND_ROUNDS || transition)) {
      commandRounds++;
      for (const r of await deps.fleet.run(p.batches)) results.set(r.host, [...(results.get(r.host) ?? []), r]);
      // A finished drain: its maint commands just went out; the caller frees the slot.
      if (transition) return { hosts: afterTransition(observed, results), lastPlan: p, settled: true };
      continue;
    }
    const waiting =
      p.drift.some((d) => d.slot === record.slot && d.kind === 'awaiting-health') ||
      (options.awaitRelease === true && !transition);
    const settled = p.batches.length === 0 && !waiting;
    if (settled || commandRounds >= MAX_COMMAND_ROUNDS || deps.clock.now() >= options.until) {
      return { hosts: outcomes(observed, p, record, results), lastPlan: p, settled };
    }
    commandRounds = 0;
    await options.onTick?.();
    await deps.clock.sleep(options.pollMs ?? 100);
  }
}

function outcomes(
  observed: readonly HostObservation[],
  p: Plan,
  record: SlotRecord,
  results: ReadonlyMap<string, HostResult[]>,
): HostSlotOutcome[] {
  return observed.map((o) => {
    const hostResults = results.get(o.host) ?? [];
    if (!o.ok) return { host: o.host, applied: false, awaitingHealth: false, error: o.error, results: hostResults };
    const drift = p.drift.filter((d) => d.host === o.host && d.slot === record.slot && SLOT_DRIFT.has(d.kind));
    const pending = p.batches.some((b) => b.host === o.host);
    const applied = drift.length === 0 && !pending;
    const failed = [...hostResults].reverse().find((r) => !r.ok)?.error;
    return {
      host: o.host,
      applied,
      awaitingHealth: p.drift.some((d) => d.host === o.host && d.slot === record.slot && d.kind === 'awaiting-health'),
      error: applied ? undefined : (failed ?? { code: 'DRIFT', message: drift.map((d) => d.kind).join(', ') }),
      results: hostResults,
    };
  });
}

function afterTransition(
  observed: readonly HostObservation[],
  results: ReadonlyMap<string, HostResult[]>,
): HostSlotOutcome[] {
  return observed.map((o) => {
    const hostResults = results.get(o.host) ?? [];
    const last = hostResults.at(-1);
    const error = o.ok ? last?.error : o.error;
    return { host: o.host, applied: o.ok && (last?.ok ?? true), awaitingHealth: false, error, results: hostResults };
  });
}
