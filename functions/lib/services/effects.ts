// Carries out the lifecycle machine's side effects: complete a lifecycle action exactly once, heartbeat it, retire a member.
import type { ConfigDocument } from '../config.js';
import type { Effect } from '../domain/lifecycle.js';
import type { LifecycleRef } from '../domain/types.js';
import { LifecycleActionGoneError } from '../errors.js';
import type { ServiceDeps } from './deps.js';

/**
 * How long a retired member, and a completion marker, are kept: a lifecycle action lives at most 48 h (its global
 * timeout), so nothing about that instance can still need deciding after that; EC2 never reuses an instance id.
 */
export const RETIRED_FOR_MS = 48 * 3600 * 1000;

/** What a completion attempt came to. `duplicate`: another caller had already taken this token's completion. */
export type Completion = 'CONTINUE' | 'ABANDON' | 'gone' | 'duplicate';

/**
 * Completes the action once across every invocation and backend: the store's completion marker is taken first (one
 * winner), then AWS is called. "No active Lifecycle Action" is final (`gone`); any other failure gives the marker back
 * so a retry can complete it, and is thrown.
 */
export async function completeOnce(
  ref: LifecycleRef,
  result: 'CONTINUE' | 'ABANDON',
  deps: ServiceDeps,
): Promise<Completion> {
  if (!(await deps.store.claimCompletion(ref.token, deps.clock.now() + RETIRED_FOR_MS))) return 'duplicate';
  try {
    await deps.lifecycle.complete(ref, result);
    return result;
  } catch (error) {
    if (error instanceof LifecycleActionGoneError) {
      deps.log.info('lifecycle action already gone', { instanceId: ref.instanceId });
      return 'gone';
    }
    await deps.store.releaseCompletion(ref.token);
    throw error;
  }
}

/** True when the member still drains for this token in another configured backend (its action completes last). */
async function drainsElsewhere(
  config: Pick<ConfigDocument, 'backends'>,
  backend: string,
  ref: LifecycleRef,
  deps: ServiceDeps,
): Promise<boolean> {
  const others = config.backends.filter((b) => b.name !== backend);
  const slots = await Promise.all(others.map((b) => deps.store.findByMember(b.name, ref.instanceId)));
  return slots.some((s) => s?.state === 'draining' && s.lifecycle?.token === ref.token);
}

/** What the effects came to: the completions made (by token) and the heartbeats sent. */
export interface EffectsReport {
  readonly completions: readonly { readonly token: string; readonly completion: Completion | 'later' }[];
  readonly heartbeats: number;
}

/** Runs the effects of one decision made for a slot of `backend`. */
export async function runEffects(
  effects: readonly Effect[],
  backend: string,
  config: Pick<ConfigDocument, 'backends'>,
  deps: ServiceDeps,
): Promise<EffectsReport> {
  const completions: { token: string; completion: Completion | 'later' }[] = [];
  let heartbeats = 0;
  for (const e of effects) {
    if (e.kind === 'retire') await deps.store.retire(backend, e.member, deps.clock.now() + RETIRED_FOR_MS);
    if (e.kind === 'heartbeat') {
      await deps.lifecycle
        .heartbeat(e.ref)
        .then(() => heartbeats++)
        .catch((error) => deps.log.warn('heartbeat failed', { instanceId: e.ref.instanceId, error }));
    }
    if (e.kind === 'complete') {
      const later = e.lastSlot && (await drainsElsewhere(config, backend, e.ref, deps));
      completions.push({
        token: e.ref.token,
        completion: later ? 'later' : await completeOnce(e.ref, e.result, deps),
      });
    }
  }
  return { completions, heartbeats };
}
