// Use case: a member leaves its slot — drain on every host, wait for sessions to end (bounded), MAINT, free, complete.
import type { BackendConfig, ConfigDocument } from '../config.js';
import type { SlotEvent } from '../domain/lifecycle.js';
import type { DrainReason, LifecycleRef } from '../domain/types.js';
import type { SlotTransition } from '../plan/types.js';
import { converge, type HostSlotOutcome } from './converge.js';
import { planPolicy, type ServiceDeps } from './deps.js';
import { type EffectsReport, runEffects } from './effects.js';
import { applyTransition } from './transitions.js';

/** Whether the member's slot carries a lifecycle action someone must complete. */
async function tokenOf(deps: ServiceDeps, backend: string, slot: string, member: string): Promise<boolean> {
  const r = await deps.store.get(backend, slot);
  return r?.member === member && r.lifecycle !== undefined;
}

/** Why the member leaves: its instance goes (terminate: wins over everything), or a deploy tool removes it. */
export type Leave =
  | {
      readonly kind: 'terminate';
      readonly lifecycle?: LifecycleRef;
      readonly reason?: Exclude<DrainReason, 'deregister'>;
    }
  | { readonly kind: 'deregister' };

export interface DrainInput {
  readonly backend: BackendConfig;
  readonly memberId: string;
  readonly leave: Leave;
  /** Epoch ms: stop waiting here (the invocation's remaining time); reconcile finishes what is left. */
  readonly until: number;
  /** Drain deadline in seconds from now (default the backend's drainSeconds). */
  readonly drainSeconds?: number;
  /** Epoch ms the deadline never passes, however late this drain reads its clock (a Spot warning's action time). */
  readonly notAfter?: number;
  /**
   * Whether this caller may complete a lifecycle action (default true). The webhook's role may not: when the slot it
   * drains carries a terminate's token, it leaves freeing the slot to the lifecycle function or reconcile.
   */
  readonly mayComplete?: boolean;
  /**
   * The caller retired the member in every backend before this drain (a terminate, a notice that retires it): the
   * machine's retire effect would write the same tombstones again, a write per backend per backend drained.
   */
  readonly retired?: boolean;
}

export type DrainStatus = 'released' | 'draining' | 'not-registered';

export interface DrainResult {
  readonly backend: string;
  readonly member: string;
  readonly slot?: string;
  readonly status: DrainStatus;
  readonly hosts: readonly HostSlotOutcome[];
  /** Lifecycle completions made on the way (the terminate's own once the slot is free; an abandoned launch's). */
  readonly completions: EffectsReport['completions'];
}

/**
 * Records the intent first (draining + deadline + lifecycle token, through the machine), then drains on every host and
 * waits within the invocation. The slot is freed — and the action completed — only once every host shows MAINT, after
 * the sessions ended (or the deadline passed) and after the fence, so a stale `ready` planned before the drain can no
 * longer land. Whatever does not finish here, reconcile finishes from the record (ARCHITECTURE.md, "Slot lifecycle").
 */
export async function drainMember(
  input: DrainInput,
  config: Pick<ConfigDocument, 'timeouts' | 'lifecycle' | 'quorum' | 'backends'>,
  deps: ServiceDeps,
): Promise<DrainResult> {
  const { backend, memberId } = input;
  const now = deps.clock.now();
  const wanted = now + (input.drainSeconds ?? backend.drainSeconds) * 1000;
  // Never before now: a bound already passed is a drain with no time left (MAINT at once), as drainSeconds 0 is.
  const deadline = input.notAfter === undefined ? wanted : Math.max(now, Math.min(wanted, input.notAfter));
  const event: SlotEvent =
    input.leave.kind === 'terminate'
      ? { kind: 'terminate', now, deadline, lifecycle: input.leave.lifecycle, reason: input.leave.reason }
      : { kind: 'deregister', now, deadline };
  const applied = await deps.store.apply(backend.name, { member: memberId }, event);
  const base = { backend: backend.name, member: memberId };
  const completions: EffectsReport['completions'][number][] = [];
  if (applied.decision.type === 'write' || applied.decision.type === 'noop') {
    const effects = applied.decision.effects.filter((e) => !(input.retired && e.kind === 'retire'));
    completions.push(...(await runEffects(effects, config, deps)).completions);
  }
  const record = applied.record;
  if (!record) return { ...base, status: 'not-registered', hosts: [], completions };
  // Our own write's completion, not the decision's time, starts the fence we wait out (a slow write must not shorten it).
  const fencedFrom = deps.clock.now();
  const fenceMs = planPolicy(config).fenceMs;
  let released = false;
  const onTransitions = async (transitions: readonly SlotTransition[]): Promise<boolean> => {
    for (const t of transitions.filter((x) => x.slot === record.slot && x.member === memberId)) {
      if (t.kind !== 'heartbeat-due' && deps.clock.now() < fencedFrom + fenceMs) continue;
      if (input.mayComplete === false && (await tokenOf(deps, backend.name, t.slot, memberId))) return true;
      if (t.kind !== 'drain-finished' && t.kind !== 'drain-deadline' && t.kind !== 'heartbeat-due') continue;
      const done = await applyTransition(t, config, deps);
      completions.push(...done.completions);
      if (done.applied && t.kind !== 'heartbeat-due') released = true;
    }
    return released;
  };
  const outcome = await converge([{ backend, slots: [record.slot], member: memberId }], config, deps, {
    until: input.until,
    pollMs: config.timeouts.pollMs,
    untilReleased: true,
    onTransitions,
  });
  const slot = outcome.slots[0];
  // No longer ours at the end: another caller (reconcile, a duplicate event) freed it, which is as good.
  const gone = slot !== undefined && slot.record === undefined;
  const status = released || gone ? 'released' : 'draining';
  // A freed dynamic slot's server is deleted on every host now (ARCHITECTURE.md, "Growth"); what the time left does
  // not allow, reconcile deletes. Converged for whoever holds the slot now: if it was claimed again meanwhile, that is
  // the new member's slot, and converging it is what any caller would do.
  if (status === 'released' && record.dynamic && deps.clock.now() < input.until)
    await converge([{ backend, slots: [record.slot] }], config, deps, {
      until: input.until,
      pollMs: config.timeouts.pollMs,
    });
  return { ...base, slot: record.slot, status, hosts: slot?.hosts ?? [], completions };
}
