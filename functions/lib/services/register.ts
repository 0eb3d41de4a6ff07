// Use case: put a member into a slot of a backend on every host (launch event, webhook register, ASG cross-check), or
// several members at once (a lifecycle batch's launches, gathered by register-together.ts).
import { limiter } from '../concurrency.js';
import type { BackendConfig, ConfigDocument } from '../config.js';
import { addressPolicyOf, checkAddress, refusalOf } from '../domain/address-policy.js';
import type { Answer } from '../domain/lifecycle.js';
import { quorumMet } from '../domain/quorum.js';
import type { Member, Owner, SlotRecord } from '../domain/types.js';
import { validAddress, validName, validPort } from '../domain/values.js';
import { AddressRefusedError, MemberRetiredError, QuorumNotMetError } from '../errors.js';
import type { Claimed } from '../ports.js';
import { converge, type HostSlotOutcome, type SlotOutcomeReport } from './converge.js';
import type { ServiceDeps } from './deps.js';
import { CLAIMS_IN_FLIGHT, claimAfterSeeding, claimOrFind, rowsFor } from './register-claims.js';

export interface RegisterInput {
  readonly backend: BackendConfig;
  readonly member: Member;
  readonly weight?: number;
  readonly owner: Owner;
  /** The lifecycle token of the launch registering (the claim proves it is not settled yet: LaunchSettledError). */
  readonly launch?: string;
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
  config: RegisterConfig,
  deps: ServiceDeps,
): Promise<RegisterResult> {
  const [result] = await registerMembers([input], config, deps);
  if (result instanceof Error) throw result;
  return result as RegisterResult;
}

type RegisterConfig = Pick<ConfigDocument, 'timeouts' | 'lifecycle' | 'quorum' | 'backends' | 'allowLoopback'>;

/**
 * Several members at once (a batch's launches, ARCHITECTURE.md "The launch path"), each exactly as registerMember
 * would, with one result per input in input order: its RegisterResult or the error registerMember would have thrown.
 * Per backend: one observation, the claims in parallel (at most CLAIMS_IN_FLIGHT), one converge loop for all the
 * slots (one pipelined batch per host per round, one health-gate poll loop). Backends run side by side, so their
 * reads share each host's round trip (lane.ts) while a backend a host refuses fails only its own members.
 */
export async function registerMembers(
  inputs: readonly RegisterInput[],
  config: RegisterConfig,
  deps: ServiceDeps,
  onResult?: (i: number, result: RegisterResult) => void,
): Promise<(RegisterResult | Error)[]> {
  const groups = new Map<string, number[]>();
  inputs.forEach((input, i) => {
    groups.set(input.backend.name, [...(groups.get(input.backend.name) ?? []), i]);
  });
  const out: (RegisterResult | Error)[] = new Array(inputs.length);
  await Promise.all(
    [...groups.values()].map(async (indices) => {
      const early = onResult && ((k: number, r: RegisterResult) => onResult(indices[k] as number, r));
      const results = await registerGroup(
        indices.map((i) => inputs[i] as RegisterInput),
        config,
        deps,
        early,
      ).catch((error: unknown) => indices.map(() => error as Error));
      indices.forEach((i, k) => {
        out[i] = results[k] as RegisterResult | Error;
      });
    }),
  );
  return out;
}

/** A member on its way into a slot: claimed (or found) and accepted, not yet converged. */
interface Placed {
  readonly k: number;
  readonly record: SlotRecord;
  readonly answer: Answer;
  readonly claimed: boolean;
}

/**
 * registerMembers for inputs that share one backend. `onResult` hears of a member as soon as every host reports its
 * slot done, while the loop goes on for the others (one instance failing its health gate holds no other's CONTINUE).
 */
async function registerGroup(
  inputs: readonly RegisterInput[],
  config: RegisterConfig,
  deps: ServiceDeps,
  onResult?: (k: number, result: RegisterResult) => void,
): Promise<(RegisterResult | Error)[]> {
  const backend = (inputs[0] as RegisterInput).backend;
  const out: (RegisterResult | Error)[] = new Array(inputs.length);
  const live: number[] = [];
  inputs.forEach((input, k) => {
    try {
      validName('member', input.member.id);
      validAddress(input.member.address);
      validPort(input.member.port);
      // Every way into a slot passes here, so no caller can forget the policy (the webhook and launch check earlier too).
      assertAddressAllowed(backend, input.member, config);
      live.push(k);
    } catch (error) {
      out[k] = error as Error;
    }
  });
  if (live.length === 0) return out;
  // The observation runs beside the claims: it is the pre-check that the slots are quiet on every host, shows whether
  // any host answers at all, and seeds a fresh backend. Its rows are chosen once the claims name the slots: those rows
  // parsed, not the whole backend (every row only when a claim found no free slot, for seeding). What a claim returns
  // is the slot as written: the plan uses it as its table read, fenced from before the claims.
  const readAt = deps.clock.now();
  const claim = limiter(CLAIMS_IN_FLIGHT);
  const claiming = Promise.all(
    live.map((k) =>
      claim(() => claimOrFind(inputs[k] as RegisterInput, deps)).catch((error: unknown) => error as Error),
    ),
  );
  const [first, observed] = await Promise.all([
    claiming,
    deps.fleet.observe([backend.name], { servers: claiming.then(rowsFor) }),
  ]);
  const claims = await claimAfterSeeding(backend, live, inputs, deps, observed, first);
  if (!observed.some((o) => o.ok)) {
    const reasons = observed.map((o) => (o.ok ? o.host : `${o.host}: ${o.error.message}`)).join('; ');
    await eachLive(live, out, async (k, i) => {
      const c = claims[i] as Claimed | Error;
      if (c instanceof Error) return c;
      if (c.claimed)
        await deps.store.apply(
          backend.name,
          { slot: c.record.slot, member: inputs[k]?.member.id as string },
          {
            kind: 'release',
          },
        );
      return new QuorumNotMetError(
        `no HAProxy host answered for backend ${backend.name}; nothing was changed (${reasons})`,
      );
    });
    return out;
  }
  const placed: Placed[] = [];
  await eachLive(live, out, async (k, i) => {
    const c = claims[i] as Claimed | Error;
    if (c instanceof Error) return c;
    if (c.claimed) {
      placed.push({ k, record: c.record, answer: 'claimed', claimed: true });
      return undefined;
    }
    const member = (inputs[k] as RegisterInput).member;
    if (await deps.store.isRetired(backend.name, member.id)) return new MemberRetiredError(backend.name, member.id);
    const applied = await deps.store.apply(backend.name, { member: member.id }, { kind: 'register', member });
    placed.push({
      k,
      record: applied.record ?? c.record,
      answer: applied.decision.type === 'claim' ? 'claimed' : applied.decision.answer,
      claimed: false,
    });
    return undefined;
  });
  if (placed.length === 0) return out;
  const gate = backend.healthGate?.enabled === true;
  const gateUntil = gate
    ? deps.clock.now() + (backend.healthGate?.timeoutSeconds ?? 60) * 1000
    : Number.POSITIVE_INFINITY;
  // Members already answered: a slot every host reports done has nothing left in the loop (and nothing to roll back).
  const answered = new Set<number>();
  // Their slots leave the loop: once answered, a member's launch goes on (CONTINUE, perhaps its terminate), and a loop
  // kept alive by the others' health gates must not go on converging that slot from its own, older table reads.
  const answerDone = (slots: readonly SlotOutcomeReport[]): ReadonlySet<string> => {
    const done = new Set<string>();
    for (const p of placed) {
      const slot = slots.find((s) => s.slot === p.record.slot);
      if (answered.has(p.k) || !slot || slot.hosts.length === 0 || !slot.hosts.every((h) => h.applied)) continue;
      answered.add(p.k);
      done.add(`${backend.name}/${p.record.slot}`);
      const result = resultNow(p, inputs[p.k] as RegisterInput, slot, gate, config);
      out[p.k] = result;
      onResult?.(p.k, result);
    }
    return done;
  };
  // One record per slot (two inputs of one member share its slot), the last written: the plan's table read.
  const records = [...new Map(placed.map((p) => [p.record.slot, p.record])).values()];
  // The look beside the claims stands for the hosts only while the slots were ours alone: one a claim found already
  // owned (a duplicate delivery racing its twin, a member registering again) may have been programmed, made READY and
  // given traffic since, so planning from that older look could re-address a slot with sessions. Those look again.
  const ours = placed.every((p) => p.claimed);
  const outcome = await converge([{ backend, slots: records.map((r) => r.slot) }], config, deps, {
    until: Math.min(gateUntil, ...placed.map((p) => (inputs[p.k] as RegisterInput).until)),
    pollMs: config.timeouts.pollMs,
    ...(ours ? { observed } : {}),
    ...(onResult && placed.length > 1 ? { onRound: (slots) => answerDone(slots) } : {}),
    // Still fresh (the observation beside it came back quickly): no second read. A slow host makes it stale, and
    // converge reads the table again rather than plan from a read whose fence has nearly run out.
    ...(deps.clock.now() - readAt < config.timeouts.planTtlMs / 2 ? { records: { slots: records, readAt } } : {}),
  });
  await Promise.all(
    placed.map(async (p) => {
      if (answered.has(p.k)) return;
      try {
        out[p.k] = await resultOf(p, inputs[p.k] as RegisterInput, outcome.slots, gate, config, deps);
      } catch (error) {
        out[p.k] = error as Error;
      }
    }),
  );
  return out;
}

/** One member's result from the shared converge loop; a claim no host applied is released (the table as it was). */
async function resultOf(
  p: Placed,
  input: RegisterInput,
  slots: readonly SlotOutcomeReport[],
  gate: boolean,
  config: Pick<ConfigDocument, 'quorum'>,
  deps: ServiceDeps,
): Promise<RegisterResult> {
  const { backend, member } = input;
  const slot = slots.find((s) => s.slot === p.record.slot);
  const hosts = slot?.hosts ?? [];
  if (p.claimed && hosts.every((h) => !h.applied && !h.awaitingHealth && !h.blocked && !mayHaveWritten(h))) {
    const r = await deps.store.apply(backend.name, { slot: p.record.slot, member: member.id }, { kind: 'release' });
    deps.log.warn('no host applied the new slot; claim rolled back', { backend: backend.name, slot: p.record.slot });
    return { ...resultNow(p, input, slot, gate, config), rolledBack: r.decision.type === 'write' };
  }
  return resultNow(p, input, slot, gate, config);
}

/** A member's result from its slot's outcome as it stands (no rollback). */
function resultNow(
  p: Placed,
  input: RegisterInput,
  slot: SlotOutcomeReport | undefined,
  gate: boolean,
  config: Pick<ConfigDocument, 'quorum'>,
): RegisterResult {
  const hosts = slot?.hosts ?? [];
  const applied = hosts.filter((h) => h.applied).length;
  const blocked = hosts.some((h) => h.blocked);
  const health = blocked ? 'blocked' : !gate ? 'not-gated' : hosts.some((h) => h.awaitingHealth) ? 'waiting' : 'passed';
  return {
    backend: input.backend.name,
    member: input.member.id,
    slot: p.record.slot,
    answer: p.answer,
    hosts,
    quorumMet: quorumMet(config.quorum, applied, hosts.length),
    health,
    rolledBack: false,
    record: slot?.record,
  };
}

/**
 * Runs `step` for every live input (k: its index in the group, i: its index among the live ones) side by side; an
 * Error it returns or throws becomes that input's result, and the input leaves the live list.
 */
async function eachLive(
  live: number[],
  out: (RegisterResult | Error)[],
  step: (k: number, i: number) => Promise<Error | undefined>,
): Promise<void> {
  const failed = await Promise.all(live.map((k, i) => step(k, i).catch((error: unknown) => error as Error)));
  const kept = live.filter((k, i) => {
    const error = failed[i];
    if (error) out[k] = error;
    return !error;
  });
  live.splice(0, live.length, ...kept);
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
