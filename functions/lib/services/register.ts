// Use case: put a member into a slot of a backend on every host (launch event, webhook register, ASG cross-check).
import type { BackendConfig, ConfigDocument } from '../config.js';
import { addressPolicyOf, checkAddress, refusalOf } from '../domain/address-policy.js';
import type { Growth } from '../domain/growth.js';
import type { Answer } from '../domain/lifecycle.js';
import { quorumMet } from '../domain/quorum.js';
import type { HostObservation, Member, Owner, SlotRecord } from '../domain/types.js';
import { validAddress, validName, validPort } from '../domain/values.js';
import { AddressRefusedError, MemberRetiredError, NoFreeSlotError, QuorumNotMetError } from '../errors.js';
import type { Claimed } from '../ports.js';
import { converge, type HostSlotOutcome } from './converge.js';
import type { ServiceDeps } from './deps.js';
import { seedMissing } from './seeding.js';

export interface RegisterInput {
  readonly backend: BackendConfig;
  readonly member: Member;
  readonly weight?: number;
  readonly owner: Owner;
  /** Epoch ms: the latest time the health gate may keep us waiting (bounded by the invocation's remaining time). */
  readonly until: number;
}

export interface RegisterResult {
  readonly backend: string;
  readonly member: string;
  readonly slot: string;
  /** The machine's answer: `claimed` (new slot), `applied` (already there), `moved` (new address recorded). */
  readonly answer: Answer;
  readonly hosts: readonly HostSlotOutcome[];
  /** A quorum of hosts reports the member as the lifecycle wants it (READY, past the health gate). */
  readonly quorumMet: boolean;
  /** `waiting`: some host still waits for the first passing check, `blocked`: for sessions to end before a move. */
  readonly health: 'not-gated' | 'passed' | 'waiting' | 'blocked';
  /** True when no host applied it and the claim was rolled back: the table is as it was. */
  readonly rolledBack: boolean;
  /** The record as last read: its state tells a caller whether a terminate got in meanwhile (draining). */
  readonly record?: SlotRecord;
}

/**
 * Claims (or finds) the member's slot and converges it on every host. A member that already holds a slot goes through
 * the lifecycle machine's `register` event (same address: nothing to do; another address: a move, drained first;
 * draining: refused). With a health gate the slot goes maint → addr → drain and becomes ready after a passing check.
 * When not a single host applied a slot this call claimed, the claim is released again: the table is unchanged.
 */
export async function registerMember(
  input: RegisterInput,
  config: Pick<ConfigDocument, 'timeouts' | 'lifecycle' | 'quorum' | 'backends' | 'allowLoopback'>,
  deps: ServiceDeps,
): Promise<RegisterResult> {
  const { backend, member } = input;
  validName('member', member.id);
  validAddress(member.address);
  validPort(member.port);
  // Every way into a slot passes here, so no caller can forget the policy (the webhook and launch check earlier too).
  assertAddressAllowed(backend, member, config);
  // The observation runs beside the claim: it is the pre-check that the slot is quiet on every host, shows whether any
  // host answers at all, and seeds a fresh backend. Its rows are chosen once the claim names the slot: one row parsed,
  // not the whole backend (every row only when the claim found no free slot, for seeding).
  // What the claim returns is the slot as written: the plan uses it as its table read, fenced from before the claim.
  let readAt = deps.clock.now();
  const claiming = claimOrFind(input, deps).catch((error: unknown) => error as Error);
  const [claim, observed] = await Promise.all([
    claiming,
    deps.fleet.observe([backend.name], {
      servers: claiming.then((c) =>
        c instanceof NoFreeSlotError ? undefined : new Set([c instanceof Error ? '' : c.record.slot]),
      ),
    }),
  ]);
  let claimed: Claimed;
  if (claim instanceof NoFreeSlotError) {
    readAt = deps.clock.now();
    claimed = await claimAfterSeeding(input, deps, observed, claim);
  } else if (claim instanceof Error) throw claim;
  else claimed = claim;
  if (!observed.some((o) => o.ok)) {
    if (claimed.claimed)
      await deps.store.apply(backend.name, { slot: claimed.record.slot, member: member.id }, { kind: 'release' });
    const reasons = observed.map((o) => (o.ok ? o.host : `${o.host}: ${o.error.message}`)).join('; ');
    throw new QuorumNotMetError(
      `no HAProxy host answered for backend ${backend.name}; nothing was changed (${reasons})`,
    );
  }
  let record = claimed.record;
  let answer: Answer = 'claimed';
  if (!claimed.claimed) {
    if (await deps.store.isRetired(backend.name, member.id)) throw new MemberRetiredError(backend.name, member.id);
    readAt = deps.clock.now();
    const applied = await deps.store.apply(backend.name, { member: member.id }, { kind: 'register', member });
    answer = applied.decision.type === 'claim' ? 'claimed' : applied.decision.answer;
    record = applied.record ?? record;
  }
  const gate = backend.healthGate?.enabled === true;
  const gateUntil = gate ? deps.clock.now() + (backend.healthGate?.timeoutSeconds ?? 60) * 1000 : input.until;
  const outcome = await converge([{ backend, slots: [record.slot] }], config, deps, {
    until: Math.min(input.until, gateUntil),
    pollMs: config.timeouts.pollMs,
    observed,
    // Still fresh (the observation beside it came back quickly): no second read. A slow host makes it stale, and
    // converge reads the table again rather than plan from a read whose fence has nearly run out.
    ...(deps.clock.now() - readAt < config.timeouts.planTtlMs / 2 ? { records: { slots: [record], readAt } } : {}),
  });
  const slot = outcome.slots[0];
  const hosts = slot?.hosts ?? [];
  const applied = hosts.filter((h) => h.applied).length;
  let rolledBack = false;
  if (claimed.claimed && hosts.every((h) => !h.applied && !h.awaitingHealth && !h.blocked && !mayHaveWritten(h))) {
    const r = await deps.store.apply(backend.name, { slot: record.slot, member: member.id }, { kind: 'release' });
    rolledBack = r.decision.type === 'write';
    deps.log.warn('no host applied the new slot; claim rolled back', { backend: backend.name, slot: record.slot });
  }
  const health = !gate
    ? hosts.some((h) => h.blocked)
      ? 'blocked'
      : 'not-gated'
    : hosts.some((h) => h.blocked)
      ? 'blocked'
      : hosts.some((h) => h.awaitingHealth)
        ? 'waiting'
        : 'passed';
  return {
    backend: backend.name,
    member: member.id,
    slot: record.slot,
    answer,
    hosts,
    quorumMet: quorumMet(config.quorum, applied, hosts.length),
    health,
    rolledBack,
    record: slot?.record,
  };
}

// Failures that happen before a command reaches the host: nothing was written there.
const NOT_WRITTEN = new Set(['HOST_UNREACHABLE', 'STALE_PLAN', 'CONFIG_ERROR']);

/**
 * Whether a batch may have landed on the host although its outcome is not "applied": a timeout or a broken reply
 * after the write means HAProxy may well have run the commands. Such a claim is kept (the intent stays recorded and
 * reconcile converges it); rolling it back would leave the address serving in a slot the table calls free.
 */
function mayHaveWritten(h: HostSlotOutcome): boolean {
  return h.results.some((r) => {
    if (r.ok) return true;
    if (NOT_WRITTEN.has(r.error?.code ?? '')) return false;
    // HAProxy answered every command and refused every write (e.g. `add server` on a backend whose algorithm cannot
    // take dynamic servers): nothing changed on that host.
    if (r.error?.code === 'COMMAND_FAILED') return r.replies.some((x) => x.ok && !READ_ONLY.test(x.command));
    return true;
  });
}
const READ_ONLY = /^(show|wait) /;

/** Throws AddressRefusedError (one refusal) when the backend's address policy refuses the member's address. */
export function assertAddressAllowed(
  backend: BackendConfig,
  member: Member,
  config: Pick<ConfigDocument, 'allowLoopback'>,
): void {
  const verdict = checkAddress(member.address, addressPolicyOf(config, backend));
  if (verdict.ok) return;
  const origin = { path: ['address'], backend: backend.name, member: member.id };
  throw new AddressRefusedError([refusalOf(origin, member.address, verdict)]);
}

function claimOrFind(input: RegisterInput, deps: ServiceDeps): Promise<Claimed> {
  return deps.store.claim(input.backend.name, input.member, {
    weight: input.weight ?? input.backend.weight,
    owner: input.owner,
  });
}

/**
 * A fresh (or partly seeded) backend: seed every slot name the hosts agree on that the table lacks, then claim again.
 * Seeding is idempotent, so two launches racing into a fresh backend both end up with all its slots to choose from;
 * the claim is tried again even when this call created nothing (the other launch may have seeded meanwhile).
 */
async function claimAfterSeeding(
  input: RegisterInput,
  deps: ServiceDeps,
  observed: readonly HostObservation[],
  first: NoFreeSlotError,
): Promise<Claimed> {
  const seeded = await seedMissing(input.backend, deps, observed);
  if (!seeded.slots.some((s) => s.state === 'free')) throw noSlotWhy(input.backend, seeded.slots, seeded.growth, first);
  return claimOrFind(input, deps);
}

/** The no-free-slot answer, saying whether growth is off (and why) or maxSlots is reached. */
function noSlotWhy(
  backend: BackendConfig,
  slots: readonly SlotRecord[],
  growth: Growth | undefined,
  first: NoFreeSlotError,
): NoFreeSlotError {
  if (growth && !growth.enabled && backend.maxSlots !== undefined)
    return new NoFreeSlotError(backend.name, `growth is off: ${growth.reason}`);
  if (backend.maxSlots !== undefined && slots.length >= backend.maxSlots)
    return new NoFreeSlotError(backend.name, `all ${slots.length} slots are taken (maxSlots ${backend.maxSlots})`);
  return first;
}
