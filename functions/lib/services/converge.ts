// Converges a few slots on every host by running the pure planner in a loop: observe → read → plan → send, until done.
import type { BackendConfig, ConfigDocument } from '../config.js';
import { onlyServers, rememberLastSeen } from '../domain/observation.js';
import type { HostObservation, HostResult, SlotRecord } from '../domain/types.js';
import { plan, readdressedBy } from '../plan/plan.js';
import type { Plan, SlotTransition } from '../plan/types.js';
import { planPolicy, type ServiceDeps } from './deps.js';

/** Slots of one backend to converge. */
export interface ConvergeTarget {
  readonly backend: Pick<BackendConfig, 'name' | 'slotPrefix' | 'healthGate' | 'dynamicServerOptions'>;
  readonly slots: readonly string[];
  /**
   * The member these slots are converged for: a slot it no longer owns (freed by another caller, perhaps claimed by
   * someone else since) leaves the loop instead of being converged for its new owner.
   */
  readonly member?: string;
}

/** How one host ended up for one slot. */
export interface HostSlotOutcome {
  readonly host: string;
  /** The host reports the slot exactly as the lifecycle machine wants it. */
  readonly applied: boolean;
  /** Only waits for its first passing check (health gate). */
  readonly awaitingHealth: boolean;
  /** Waits for sessions to end before it may be re-addressed. */
  readonly blocked: boolean;
  readonly error?: { readonly code: string; readonly message: string };
  /** Every batch sent to this host during the loop, in order. */
  readonly results: readonly HostResult[];
}

/** One slot at the end of the loop: its record as last read and one outcome per host. */
export interface SlotOutcomeReport {
  readonly backend: string;
  readonly slot: string;
  readonly record?: SlotRecord;
  readonly hosts: readonly HostSlotOutcome[];
}

export interface ConvergeOptions {
  /** Epoch ms: stop looping here even if hosts still wait for a check or for sessions to end. */
  readonly until: number;
  readonly pollMs: number;
  /** An observation the caller just made, for the first round (it must include the target slots' rows). */
  readonly observed?: readonly HostObservation[];
  /** Records the caller just read or wrote, for the first round, and when they were read (the plan's fence). */
  readonly records?: { readonly slots: readonly SlotRecord[]; readonly readAt: number };
  /**
   * Called with every round's due transitions (a drain over, a heartbeat due...). Returns true when the caller is done
   * (e.g. the slot was released), which ends the loop.
   */
  readonly onTransitions?: (transitions: readonly SlotTransition[]) => Promise<boolean>;
  /** Keep looping while a record is draining, even when no host needs a command (a drain waits for sessions). */
  readonly untilReleased?: boolean;
  /**
   * Called with every round's outcome per slot (what the result would say if the loop ended there): a caller
   * converging several members' slots answers each one as soon as its slot is done, not when the slowest is. The
   * slots it returns (`backend/slot`) leave the loop: a slot whose member has been answered is not converged on, from
   * a table read that may be older than what that member does next (a terminate, another claim of the slot).
   */
  readonly onRound?: (slots: readonly SlotOutcomeReport[]) => ReadonlySet<string> | undefined;
}

export interface ConvergeResult {
  readonly slots: readonly SlotOutcomeReport[];
  /** No host needs a command and none waits (for a check, for sessions, or for a drain to end). */
  readonly settled: boolean;
  readonly lastPlan: Plan;
  readonly lastObserved: readonly HostObservation[];
}

// Rounds in a row that planned exactly the commands of the round before: past this a host keeps refusing (or ignoring)
// them and looping won't help.
const MAX_REPEATED_ROUNDS = 4;
// Rounds in a row that had commands at all, progress or not. A round that moves a slot on is no reason to stop: on 3.x
// (asynchronous `addr`) the address and the admin state take a round each, and a reload in the middle sends a plan made
// on the old worker to the new one (`Proxy is disabled.`, a slot back on its placeholder), so a launch may need ~7.
const MAX_COMMAND_ROUNDS = 12;
const SLOT_DRIFT = new Set([
  'address',
  'weight',
  'admin',
  'missing-slot',
  'blocked-by-sessions',
  'awaiting-health',
  'leftover-server',
]);

/**
 * The loop behind every service that changes slots. Each round observes first and reads the records after, so a plan
 * never acts on a table older than what the hosts showed, and every batch is fenced (`notAfter`): it is not written
 * later than planTtlMs after the read it was planned from. "Applied" is what the hosts report, not what we hoped.
 */
export async function converge(
  allTargets: readonly ConvergeTarget[],
  config: Pick<ConfigDocument, 'timeouts' | 'lifecycle' | 'quorum'>,
  deps: ServiceDeps,
  options: ConvergeOptions,
): Promise<ConvergeResult> {
  let targets = allTargets;
  const policy = planPolicy(config);
  const backends = targets.map((t) => t.backend.name);
  let servers = new Set(targets.flatMap((t) => t.slots));
  const results = new Map<string, HostResult[]>();
  // A caller's observation may hold the whole backend (a launch observes before it knows its slot): planning 1,000
  // rows to converge one would sort and report every other slot of the backend, each round, for every record.
  let observedFirst: readonly HostObservation[] | undefined =
    options.observed && onlyServers(options.observed, servers);
  let recordsFirst = options.records;
  let commandRounds = 0;
  let repeatedRounds = 0;
  let lastSent = '';
  let readBackOnly = false;
  // Every slot this loop re-addressed: on 3.x its state change carries the address too (slot-rules.ts, readdress).
  const readdressed = new Set<string>();
  // The round before's look: a host that answered it and fails this one keeps what it showed (its batch's connection
  // dropped, the read-back with it), so a release waits for it to answer again (plan/transitions.ts, maintWherever).
  let previous: { observed: readonly HostObservation[]; at: number } | undefined;
  for (;;) {
    const looked = observedFirst ?? (await deps.fleet.observe(backends, { servers }));
    const lookedAt = deps.clock.now();
    const observed = rememberLastSeen(looked, previous, lookedAt);
    previous = { observed, at: lookedAt };
    const { slots: read, readAt } = recordsFirst ?? (await readRecords(targets, deps));
    observedFirst = undefined;
    recordsFirst = undefined;
    const desired = targets.map((t) => ({
      config: t.backend,
      slots: read.filter((r) => r.backend === t.backend.name && t.slots.includes(r.slot) && owns(t, r)),
    }));
    if (desired.every((d) => d.slots.length === 0)) {
      // Every slot left this member (released by someone else): nothing is ours to converge any more.
      const p = plan({ desired, observed, now: deps.clock.now(), policy, readdressed });
      return { slots: outcomes(targets, [], observed, p, results), settled: true, lastPlan: p, lastObserved: observed };
    }
    const p = plan({ desired, observed, now: deps.clock.now(), policy, readdressed });
    const left = options.onRound?.(outcomes(targets, read, observed, p, results));
    if (left && left.size > 0) {
      // Their slots have no command in this plan (done on every host): the plan goes on for the others.
      targets = targets
        .map((t) => ({ ...t, slots: t.slots.filter((slot) => !left.has(`${t.backend.name}/${slot}`)) }))
        .filter((t) => t.slots.length > 0);
      servers = new Set(targets.flatMap((t) => t.slots));
      if (targets.length === 0) return { slots: [], settled: true, lastPlan: p, lastObserved: observed };
    }
    const finished =
      options.onTransitions && p.transitions.length > 0 ? await options.onTransitions(p.transitions) : false;
    const report = () => ({
      slots: outcomes(targets, read, observed, p, results),
      lastPlan: p,
      lastObserved: observed,
    });
    if (finished) return { ...report(), settled: true };
    const planned = p.batches.length > 0 ? JSON.stringify(p.batches) : '';
    repeatedRounds = planned !== '' && planned === lastSent ? repeatedRounds + 1 : 1;
    const giveUp = commandRounds >= MAX_COMMAND_ROUNDS || repeatedRounds > MAX_REPEATED_ROUNDS;
    if (p.batches.length > 0 && !giveUp && !readBackOnly) {
      commandRounds++;
      lastSent = planned;
      for (const key of readdressedBy(p.batches)) readdressed.add(key);
      const notAfter = readAt + config.timeouts.planTtlMs;
      // Read back in the same round trip: issued together, the commands and the one-slot `show` share each host's
      // pipelined batch (lane.ts). "Applied" is what hosts report. The next round plans from that read-back and reads
      // the table after it, as every round does (observe first, read after). Read beside the batch, the table request
      // competed with it for the event loop and made a launch's one round trip 2–3× the bare batch (PERFORMANCE.md).
      const [sent, readBack] = await Promise.all([
        deps.fleet.run(p.batches.map((b) => ({ ...b, notAfter }))),
        deps.fleet.observe(backends, { servers }),
      ]);
      for (const r of sent) results.set(r.host, [...(results.get(r.host) ?? []), r]);
      // Past `until`, the next look is the last round.
      readBackOnly = deps.clock.now() >= options.until;
      // A host that answered this round's look but not the read-back (the batch's connection dropped: they share it)
      // is looked at again on its own, after a poll, as a host that waits is: planned from the read-back, every round
      // would carry a batch for it and fail with it, and what it last showed would age out (lostHostMs) while it still
      // serves. The same batch sent again after that pause is a retry, not a plan that repeats itself.
      const lost = readBack.some((o) => !o.ok && observed.some((p) => p.host === o.host && p.ok));
      observedFirst = lost ? undefined : readBack;
      if (lost) {
        commandRounds = 0;
        lastSent = '';
        if (!readBackOnly) await deps.clock.sleep(options.pollMs);
      }
      continue;
    }
    const draining = options.untilReleased === true && read.some((r) => r.state === 'draining');
    const waiting = p.drift.some((d) => d.kind === 'awaiting-health' || d.kind === 'blocked-by-sessions');
    const settled = p.batches.length === 0 && !waiting && !draining;
    if (settled || readBackOnly || giveUp || deps.clock.now() >= options.until) {
      return { ...report(), settled };
    }
    commandRounds = 0;
    lastSent = '';
    await deps.clock.sleep(draining && !waiting ? config.timeouts.drainPollMs : options.pollMs);
  }
}

function owns(t: ConvergeTarget, r: SlotRecord): boolean {
  return t.member === undefined || r.member === t.member;
}

async function readRecords(
  targets: readonly ConvergeTarget[],
  deps: ServiceDeps,
): Promise<{ slots: SlotRecord[]; readAt: number }> {
  // The fence starts before the reads are sent: a plan built on them expires no later than one built on a read at
  // that moment (ARCHITECTURE.md, fencing). Taken first, nothing can throw between starting the reads and awaiting
  // them, so no read is ever left without a handler.
  const readAt = deps.clock.now();
  const slots = (await Promise.all(targets.map((t) => deps.store.getMany(t.backend.name, t.slots)))).flat();
  return { slots, readAt };
}

function outcomes(
  targets: readonly ConvergeTarget[],
  records: readonly SlotRecord[],
  observed: readonly HostObservation[],
  p: Plan,
  results: ReadonlyMap<string, HostResult[]>,
): SlotOutcomeReport[] {
  return targets.flatMap((t) =>
    t.slots.map((slot) => ({
      backend: t.backend.name,
      slot,
      record: records.find((r) => r.backend === t.backend.name && r.slot === slot),
      hosts: observed.map((o) => hostOutcome(o, t.backend.name, slot, p, results.get(o.host) ?? [])),
    })),
  );
}

function hostOutcome(
  o: HostObservation,
  backend: string,
  slot: string,
  p: Plan,
  hostResults: readonly HostResult[],
): HostSlotOutcome {
  if (!o.ok)
    return {
      host: o.host,
      applied: false,
      awaitingHealth: false,
      blocked: false,
      error: o.error,
      results: hostResults,
    };
  const drift = p.drift.filter(
    (d) => d.host === o.host && d.backend === backend && d.slot === slot && SLOT_DRIFT.has(d.kind),
  );
  const pending = p.batches.some(
    (b) => b.host === o.host && b.commands.some((c) => 'server' in c && c.server === slot),
  );
  const applied = drift.length === 0 && !pending;
  const failed = [...hostResults].reverse().find((r) => !r.ok)?.error;
  return {
    host: o.host,
    applied,
    awaitingHealth: drift.some((d) => d.kind === 'awaiting-health'),
    blocked: drift.some((d) => d.kind === 'blocked-by-sessions'),
    error: applied
      ? undefined
      : (failed ?? { code: 'DRIFT', message: drift.map((d) => d.kind).join(', ') || 'pending' }),
    results: hostResults,
  };
}
