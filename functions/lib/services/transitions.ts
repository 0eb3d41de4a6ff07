// Carries out the planner's due transitions through the machine: drains that are over, launches served or timed out, heartbeats.
import type { ConfigDocument } from '../config.js';
import type { SlotEvent } from '../domain/lifecycle.js';
import type { SlotTransition } from '../plan/types.js';
import type { ServiceDeps } from './deps.js';
import { type EffectsReport, runEffects } from './effects.js';

/** What carrying out one transition came to. `applied` false: the record had moved on (another caller got there). */
export interface TransitionReport {
  readonly transition: SlotTransition;
  readonly applied: boolean;
  readonly completions: EffectsReport['completions'];
  readonly heartbeats: number;
}

/**
 * Feeds the transition to the store (guarded by the member, so it can never land on a slot someone else took since)
 * and runs the effects of a write. The machine's conditional write makes exactly one of several racing callers win.
 */
export async function applyTransition(
  t: SlotTransition,
  config: Pick<ConfigDocument, 'backends' | 'timeouts'>,
  deps: ServiceDeps,
): Promise<TransitionReport> {
  const now = deps.clock.now();
  const event: SlotEvent =
    t.kind === 'heartbeat-due'
      ? { kind: t.kind, now }
      : t.kind === 'launch-timeout'
        ? { kind: t.kind, now }
        : { kind: t.kind };
  const applied = await deps.store.apply(t.backend, { slot: t.slot, member: t.member }, event);
  if (applied.decision.type !== 'write') return { transition: t, applied: false, completions: [], heartbeats: 0 };
  // A launch given up in one backend is given up everywhere: the instance is going, so its other slots drain out too.
  if (t.kind === 'launch-timeout') await abandonElsewhere(t, config, deps, now);
  const effects = await runEffects(applied.decision.effects, config, deps);
  return { transition: t, applied: true, ...effects };
}

async function abandonElsewhere(
  t: SlotTransition,
  config: Pick<ConfigDocument, 'backends' | 'timeouts'>,
  deps: ServiceDeps,
  now: number,
): Promise<void> {
  const event = { kind: 'terminate', now, deadline: now, reason: 'abandon' } as const;
  for (const b of config.backends.filter((x) => x.name !== t.backend)) {
    const out = await deps.store.apply(b.name, { member: t.member }, event);
    if (out.decision.type === 'write') await runEffects(out.decision.effects, config, deps);
  }
}
