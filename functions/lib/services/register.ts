// Use case: put a member into a slot of a backend on every host (launch event, webhook register).
import type { BackendConfig } from '../config.js';
import type { HostObservation, Member, SlotRecord } from '../domain.js';
import { MemberRetiredError, NoFreeSlotError, QuorumNotMetError } from '../errors.js';
import { validAddress, validName, validPort } from '../haproxy/commands.js';
import type { ServiceDeps } from './deps.js';
import { type Quorum, quorumMet } from './quorum.js';
import { ensureSeeded } from './seeding.js';
import { type HostSlotOutcome, syncSlot } from './sync-slot.js';

export interface RegisterInput {
  readonly backend: BackendConfig;
  readonly member: Member;
  readonly weight?: number;
  readonly quorum: Quorum;
  /** Epoch ms: the latest time the health gate may keep us waiting (bounded by the invocation's remaining time). */
  readonly until: number;
}

export interface RegisterResult {
  readonly backend: string;
  readonly member: string;
  readonly slot: string;
  readonly hosts: readonly HostSlotOutcome[];
  readonly quorumMet: boolean;
  /** `waiting`: the slot is programmed in drain and still waits for its first passing check (reconcile promotes it). */
  readonly health: 'not-gated' | 'passed' | 'waiting';
  /** True when no host applied it and the claim was rolled back: the table is as it was. */
  readonly rolledBack: boolean;
}

/**
 * Claims (or finds) the member's slot and converges it on every host. With a health gate the slot goes
 * maint → addr → drain and becomes ready only after a passing check. When not a single host applied it and the
 * slot was claimed by this call, the claim is released again, so a failure leaves the table unchanged.
 */
export async function registerMember(input: RegisterInput, deps: ServiceDeps): Promise<RegisterResult> {
  const { backend, member } = input;
  validName('member', member.id);
  validAddress(member.address);
  validPort(member.port);
  // Look before claiming (in parallel with the table read): when no host answers, refuse without writing.
  const [existing, observed] = await Promise.all([
    deps.store.findByMember(backend.name, member.id),
    deps.fleet.observe([backend.name]),
  ]);
  if (!existing && !observed.some((o) => o.ok)) {
    const reasons = observed.map((o) => (o.ok ? o.host : `${o.host}: ${o.error.message}`)).join('; ');
    throw new QuorumNotMetError(
      `no HAProxy host answered for backend ${backend.name}; nothing was changed (${reasons})`,
    );
  }
  // A member that has a slot keeps it, unless it was retired meanwhile (a terminated instance must not come back).
  if (existing && (await deps.store.isRetired(backend.name, member.id)))
    throw new MemberRetiredError(backend.name, member.id);
  const record = existing ?? (await claimSeeding(backend, member, input.weight ?? backend.weight, deps, observed));
  // The observation is still current for the slot: a free slot is only ever programmed by whoever claimed it.
  const outcome = await syncSlot(backend, record, deps, { until: input.until, observed });
  const applied = outcome.hosts.filter((h) => h.applied || h.awaitingHealth).length;
  const gated = Boolean(backend.healthGate?.enabled);
  let rolledBack = false;
  if (applied === 0 && !existing) {
    rolledBack = await deps.store.release(backend.name, member.id);
    deps.log?.warn('no host applied the new slot; claim rolled back', { backend: backend.name, slot: record.slot });
  }
  return {
    backend: backend.name,
    member: member.id,
    slot: record.slot,
    hosts: outcome.hosts,
    quorumMet: quorumMet(input.quorum, applied, outcome.hosts.length),
    health: !gated ? 'not-gated' : outcome.hosts.some((h) => h.awaitingHealth) ? 'waiting' : 'passed',
    rolledBack,
  };
}

/** Claims a slot, seeding the backend from the hosts first when the table has never seen it. */
async function claimSeeding(
  backend: BackendConfig,
  member: Member,
  weight: number,
  deps: ServiceDeps,
  observed: readonly HostObservation[],
): Promise<SlotRecord> {
  try {
    return await deps.store.claim(backend.name, member, weight);
  } catch (error) {
    if (!(error instanceof NoFreeSlotError) || !(await ensureSeeded(backend, deps, observed)).seeded) throw error;
    return deps.store.claim(backend.name, member, weight);
  }
}
