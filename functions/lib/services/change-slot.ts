// Use case: one operator or deploy-tool change to a slot (hold, unhold, ready, weight) through the machine, then hosts.
import type { BackendConfig, ConfigDocument } from '../config.js';
import type { Answer, SlotEvent } from '../domain/lifecycle.js';
import type { SlotRecord } from '../domain/types.js';
import { SlotSyncError } from '../errors.js';
import type { SlotAddress } from '../ports.js';
import { converge, type HostSlotOutcome } from './converge.js';
import type { ServiceDeps } from './deps.js';
import { runEffects } from './effects.js';

export interface SlotChangeInput {
  readonly backend: BackendConfig;
  /** The slot by name (CLI), by name but only while a member owns it, or the member's slot (webhook). */
  readonly at: SlotAddress;
  readonly event: Extract<SlotEvent, { kind: 'hold' | 'unhold' | 'ready' | 'weight' }>;
  /** Epoch ms: how long the hosts may take (an unhold behind the health gate waits for the first passing check). */
  readonly until: number;
}

export interface SlotChangeResult {
  readonly backend: string;
  readonly slot: string;
  readonly answer: Answer;
  readonly record: SlotRecord;
  readonly hosts: readonly HostSlotOutcome[];
  /**
   * The change is recorded, but converging the hosts failed part way (the table or the fleet unavailable past
   * retries), so which hosts have it is unknown: reconcile converges them. Set instead of throwing, since a thrown
   * error would say nothing changed.
   */
  readonly unconverged?: { readonly code: string; readonly message: string };
}

/**
 * Intent first (DESIGN invariant 7): the machine decides and the table records the change before any host is told,
 * so a reconcile running meanwhile converges to it instead of undoing it; then every host is converged to the
 * record's target. A refusal (e.g. `ready` for a member being terminated) is thrown before anything changes.
 */
export async function changeSlot(
  input: SlotChangeInput,
  config: Pick<ConfigDocument, 'timeouts' | 'lifecycle' | 'quorum' | 'backends'>,
  deps: ServiceDeps,
): Promise<SlotChangeResult> {
  const { backend } = input;
  const applied = await deps.store.apply(backend.name, input.at, input.event);
  const decision = applied.decision;
  // Hold, unhold, ready and weight on a record always come back as a write or a no-op; `claim` only follows `register`.
  if (decision.type === 'claim' || !applied.record) throw new Error(`${input.event.kind}: no slot to change`);
  const record = applied.record;
  let outcome: Awaited<ReturnType<typeof converge>>;
  try {
    await runEffects(decision.effects, config, deps);
    outcome = await converge([{ backend, slots: [record.slot] }], config, deps, {
      until: input.until,
      pollMs: config.timeouts.pollMs,
    });
  } catch (error) {
    // Only our own typed failures (an unavailable table or fleet): anything else is a bug and stays one.
    if (!(error instanceof SlotSyncError)) throw error;
    deps.log.warn('change recorded; converging the hosts failed, reconcile finishes it', {
      backend: backend.name,
      slot: record.slot,
      code: error.code,
      error,
    });
    const unconverged = { code: error.code, message: error.message };
    return { backend: backend.name, slot: record.slot, answer: decision.answer, record, hosts: [], unconverged };
  }
  const slot = outcome.slots[0];
  return {
    backend: backend.name,
    slot: record.slot,
    answer: decision.answer,
    record: slot?.record ?? record,
    hosts: slot?.hosts ?? [],
  };
}
