// Use case: take a member out of its slot — drain on every host, wait for sessions to end (bounded), maint, free.
import type { BackendConfig } from '../config.js';
import type { LifecycleRef } from '../domain.js';
import { LifecycleActionGoneError } from '../errors.js';
import type { ServiceDeps } from './deps.js';
import { type HostSlotOutcome, syncSlot } from './sync-slot.js';

export interface DeregisterInput {
  readonly backend: BackendConfig;
  readonly memberId: string;
  /** The lifecycle action to complete once the slot is free (terminate events). */
  readonly lifecycle?: LifecycleRef;
  /** Epoch ms: stop waiting here (the invocation's remaining time); reconcile finishes what is left. */
  readonly until: number;
  /** Heartbeat the lifecycle action this often while waiting (ms). */
  readonly heartbeatMs?: number;
  /** Complete the lifecycle action when the slot is free (default true); false when other backends still drain. */
  readonly complete?: boolean;
}

export type DeregisterStatus = 'released' | 'draining' | 'not-registered';

export interface DeregisterResult {
  readonly backend: string;
  readonly member: string;
  readonly slot?: string;
  readonly status: DeregisterStatus;
  readonly hosts: readonly HostSlotOutcome[];
  /** Whether this call completed the lifecycle action (false when there was none, or AWS said it was gone). */
  readonly lifecycleCompleted: boolean;
}

/**
 * Records the intent (draining + deadline + lifecycle token) before touching any host, so a crash or timeout
 * leaves enough for reconcile to finish the drain and complete the lifecycle action exactly once.
 */
export async function deregisterMember(input: DeregisterInput, deps: ServiceDeps): Promise<DeregisterResult> {
  const { backend, memberId } = input;
  const base = { backend: backend.name, member: memberId };
  const existing = await deps.store.findByMember(backend.name, memberId);
  if (!existing) return { ...base, status: 'not-registered', hosts: [], lifecycleCompleted: false };
  const deadline = deps.clock.now() + backend.drainSeconds * 1000;
  const record = await deps.store.markDraining(backend.name, memberId, deadline, input.lifecycle);
  let lastBeat = deps.clock.now();
  const outcome = await syncSlot(backend, record, deps, {
    until: input.until,
    // Sessions end in seconds to minutes; once a second is plenty and spares the hosts' CLI.
    pollMs: 1_000,
    awaitRelease: true,
    onTick: async () => {
      if (!input.lifecycle || !deps.lifecycle || !input.heartbeatMs) return;
      if (deps.clock.now() - lastBeat < input.heartbeatMs) return;
      lastBeat = deps.clock.now();
      await deps.lifecycle.heartbeat(input.lifecycle).catch((error) => deps.log?.warn('heartbeat failed', { error }));
    },
  });
  const done = outcome.lastPlan.transitions.find((t) => t.slot === record.slot && t.kind === 'release');
  if (!done) return { ...base, slot: record.slot, status: 'draining', hosts: outcome.hosts, lifecycleCompleted: false };
  // Release is conditioned on ownership, so of two racing callers exactly one gets true and completes the action.
  const released = await deps.store.release(backend.name, memberId);
  const lifecycle = record.lifecycle ?? input.lifecycle;
  const lifecycleCompleted =
    released && lifecycle && input.complete !== false ? await completeOnce(lifecycle, deps) : false;
  return { ...base, slot: record.slot, status: 'released', hosts: outcome.hosts, lifecycleCompleted };
}

/** Completes a lifecycle action with CONTINUE; "No active Lifecycle Action" is final and reported as not completed. */
export async function completeOnce(ref: LifecycleRef, deps: ServiceDeps): Promise<boolean> {
  if (!deps.lifecycle) return false;
  try {
    await deps.lifecycle.complete(ref, 'CONTINUE');
    return true;
  } catch (error) {
    if (error instanceof LifecycleActionGoneError) {
      deps.log?.info('lifecycle action already gone', { instanceId: ref.instanceId });
      return false;
    }
    throw error;
  }
}
