// Carries out the lifecycle machine's side effects: complete a lifecycle action exactly once, heartbeat it, retire a member.
import type { BackendConfig, ConfigDocument } from '../config.js';
import type { Effect } from '../domain/lifecycle.js';
import type { LifecycleRef } from '../domain/types.js';
import { LifecycleActionGoneError } from '../errors.js';
import type { OwedCompletion } from '../ports.js';
import type { ServiceDeps } from './deps.js';

/**
 * How long a retired member, and a completion marker, are kept: a lifecycle action lives at most 48 h (its global
 * timeout), so nothing about that instance can still need deciding after that; EC2 never reuses an instance id.
 */
export const RETIRED_FOR_MS = 48 * 3600 * 1000;

/** What a completion attempt came to. `duplicate`: another caller had already taken this token's completion. */
export type Completion = 'CONTINUE' | 'ABANDON' | 'gone' | 'duplicate';

/** How long a completer holds an owed completion before another may try: a few command deadlines. */
function leaseMs(config: Pick<ConfigDocument, 'timeouts'>): number {
  return config.timeouts.commandMs * 2;
}

/**
 * Settles one owed completion: leases it (one caller at a time, never one that is done), waits if another backend still
 * holds the member (`after`), then tells AWS and marks it done. "No active Lifecycle Action" is final (`gone`, done);
 * any other failure gives the lease back, so the next attempt (reconcile at the latest) completes it.
 */
export async function settle(
  token: string,
  config: Pick<ConfigDocument, 'backends' | 'timeouts'>,
  deps: ServiceDeps,
): Promise<Completion | 'later'> {
  return settleLeased(await deps.store.leaseCompletion(token, leaseMs(config)), config, deps);
}

/** The rest of `settle`, once the lease is taken (or was not: `duplicate`). */
async function settleLeased(
  owed: OwedCompletion | undefined,
  config: Pick<ConfigDocument, 'backends' | 'timeouts'>,
  deps: ServiceDeps,
): Promise<Completion | 'later'> {
  if (!owed) return 'duplicate';
  const token = owed.ref.token;
  if (owed.after && (await waitsElsewhere(config, owed.backend, owed.ref, owed.after, deps))) {
    await deps.store.settleCompletion(token, false);
    return 'later';
  }
  try {
    await deps.lifecycle.complete(owed.ref, owed.result);
  } catch (error) {
    if (!(error instanceof LifecycleActionGoneError)) {
      await deps.store.settleCompletion(token, false);
      throw error;
    }
    deps.log.info('lifecycle action already gone', { instanceId: owed.ref.instanceId });
    await markDone(owed, deps);
    return 'gone';
  }
  await markDone(owed, deps);
  return owed.result;
}

/**
 * AWS has the completion (or says the action is gone): failing to record that must not fail the caller, whose event
 * would come again only to answer `duplicate`. The outbox keeps the token leased until the lease runs out; reconcile
 * then asks AWS again, hears "gone", and marks it done.
 */
async function markDone(owed: OwedCompletion, deps: ServiceDeps): Promise<void> {
  try {
    await deps.store.settleCompletion(owed.ref.token, true);
  } catch (error) {
    deps.log.warn('lifecycle action completed, not yet recorded as done: reconcile records it', {
      instanceId: owed.ref.instanceId,
      error: (error as Error).message,
    });
  }
}

/**
 * Completes an action with CONTINUE once across every invocation and backend: owed first (so a crash right after still
 * leaves it for reconcile), then settled. A token completed before answers `duplicate`. An ABANDON never goes this way:
 * the ASG terminates at once, so it waits for the member's last slot to be free (`abandonOnceFree`).
 */
export async function continueOnce(
  ref: LifecycleRef,
  config: Pick<ConfigDocument, 'backends' | 'timeouts'>,
  deps: ServiceDeps,
): Promise<Completion> {
  // Owed and leased in one write: the table's cost of a launch's CONTINUE is this and the `done` mark.
  const done = await settleLeased(
    await deps.store.oweAndLease({ ref, result: 'CONTINUE', backend: '' }, leaseMs(config)),
    config,
    deps,
  );
  return done === 'later' ? 'duplicate' : done;
}

/**
 * Abandons a launch once across every invocation, but only once the member holds no slot in any backend: the ASG
 * terminates an abandoned instance at once, so nothing may still send it traffic — a slot this launch claimed and is
 * draining, or one from the member's earlier life that a terminate has not finished draining. `later`: owed, and
 * reconcile's pass settles it once the last slot is free.
 */
export async function abandonOnceFree(
  ref: LifecycleRef,
  config: Pick<ConfigDocument, 'backends' | 'timeouts'>,
  deps: ServiceDeps,
): Promise<Completion | 'later'> {
  const owed = { ref, result: 'ABANDON', backend: '', after: 'last-slot' } as const;
  return settleLeased(await deps.store.oweAndLease(owed, leaseMs(config)), config, deps);
}

/** A completion that could not be settled: AWS (or the table) refused it; it stays owed for the next pass. */
export interface UnsettledCompletion {
  readonly ref: LifecycleRef;
  readonly error: unknown;
}

/**
 * Settles every completion still owed (reconcile's pass: whatever a crashed invocation left). One that fails (AWS
 * refuses it, the table throttles) gives its lease back and is reported, and the others are still settled: a token
 * AWS refuses every time (a role without the group's CompleteLifecycleAction) must not hold up every token after it.
 */
export async function settleOwed(
  config: Pick<ConfigDocument, 'backends' | 'timeouts'>,
  deps: ServiceDeps,
): Promise<{
  readonly settled: readonly { readonly token: string; readonly completion: Completion | 'later' }[];
  readonly failed: readonly UnsettledCompletion[];
}> {
  const settled: { token: string; completion: Completion | 'later' }[] = [];
  const failed: UnsettledCompletion[] = [];
  for (const o of await deps.store.owedCompletions()) {
    try {
      const completion = await settle(o.ref.token, config, deps);
      if (completion !== 'duplicate') settled.push({ token: o.ref.token, completion });
    } catch (error) {
      deps.log.warn('owed lifecycle completion not settled: the next pass tries again', {
        instanceId: o.ref.instanceId,
        error: (error as Error).message,
      });
      failed.push({ ref: o.ref, error });
    }
  }
  return { settled, failed };
}

/**
 * Whether the completion must wait for another backend: for a terminate, the member still holds a slot there (any state:
 * a backend the terminate has not reached yet must not be left serving); for a launch, a slot in any backend still
 * waits for this launch (not served yet). A launch looks at every backend, the one that owed it too: `backend` names
 * whichever owed first, and a redelivery may have handed that backend's slot over again since (ARCHITECTURE.md, "A
 * launch completes only when served"). The write that owes the CONTINUE removed the launch from its own slot.
 */
async function waitsElsewhere(
  config: Pick<ConfigDocument, 'backends'>,
  backend: string,
  ref: LifecycleRef,
  after: 'last-slot' | 'last-launch',
  deps: ServiceDeps,
): Promise<boolean> {
  const looked = after === 'last-launch' ? config.backends : config.backends.filter((b) => b.name !== backend);
  const slots = await Promise.all(looked.map((b) => deps.store.findByMember(b.name, ref.instanceId)));
  if (after === 'last-slot') return slots.some((s) => s !== undefined);
  return slots.some((s) => s?.launch?.token === ref.token);
}

/** Retires the member in each of `backends` for RETIRED_FOR_MS: no claim there succeeds for it from then on. */
export async function retireIn(
  backends: readonly Pick<BackendConfig, 'name'>[],
  memberId: string,
  deps: ServiceDeps,
): Promise<void> {
  const until = deps.clock.now() + RETIRED_FOR_MS;
  await Promise.all(backends.map((b) => deps.store.retire(b.name, memberId, until)));
}

/** What the effects came to: the completions made (by token) and the heartbeats sent. */
export interface EffectsReport {
  readonly completions: readonly { readonly token: string; readonly completion: Completion | 'later' }[];
  readonly heartbeats: number;
}

/** Runs the effects of one decision: retirements, heartbeats, and settling the completions the change owed. */
export async function runEffects(
  effects: readonly Effect[],
  config: Pick<ConfigDocument, 'backends' | 'timeouts'>,
  deps: ServiceDeps,
): Promise<EffectsReport> {
  const completions: { token: string; completion: Completion | 'later' }[] = [];
  let heartbeats = 0;
  for (const e of effects) {
    // An instance that leaves, leaves every backend: a launch delivered late must find it retired wherever it looks.
    if (e.kind === 'retire') {
      await retireIn(config.backends, e.member, deps);
    }
    if (e.kind === 'heartbeat') {
      await deps.lifecycle
        .heartbeat(e.ref)
        .then(() => heartbeats++)
        .catch((error) => deps.log.warn('heartbeat failed', { instanceId: e.ref.instanceId, error }));
    }
    // The store wrote the owed completion with the change that caused it; this only settles it.
    if (e.kind === 'complete')
      completions.push({ token: e.ref.token, completion: await settle(e.ref.token, config, deps) });
  }
  return { completions, heartbeats };
}
