// Use case: converge every host to the table — observe, seed new slots, plan, apply, carry out due transitions, and
// wait within the pass for the first passing check of every slot it (re)programmed behind a health gate.
import type { BackendConfig, ConfigDocument } from '../config.js';
import { rememberLastSeen } from '../domain/observation.js';
import type { HostBatch, HostObservation, HostResult, SlotRecord } from '../domain/types.js';
import { SlotSyncError } from '../errors.js';
import { plan, readdressedBy } from '../plan/plan.js';
import type { DesiredBackend, Drift, Plan, SlotTransition } from '../plan/types.js';
import { planPolicy, type ServiceDeps } from './deps.js';
import { settleOwed } from './effects.js';
import { seedMissing } from './seeding.js';
import { applyTransition, type TransitionReport } from './transitions.js';

export interface HostReport {
  readonly host: string;
  readonly ok: boolean;
  readonly version?: string;
  readonly driftFound: number;
  readonly commandsSent: number;
  readonly fixed: number;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface ReleaseReport {
  readonly backend: string;
  readonly slot: string;
  readonly member: string;
  readonly reason: 'drained' | 'deadline';
  readonly released: boolean;
  readonly lifecycleCompleted: boolean;
}

export interface ReconcileReport {
  readonly dryRun: boolean;
  readonly hosts: readonly HostReport[];
  readonly slots: number;
  /** Free slots per backend after this pass's releases: the headroom left for launches. */
  readonly freeSlots: Readonly<Record<string, number>>;
  /** Drift found by the first round (what this pass came to fix). */
  readonly drift: readonly Drift[];
  readonly releases: readonly ReleaseReport[];
  /** Handed-over launches this pass completed (CONTINUE once READY everywhere, ABANDON past their deadline). */
  readonly launches: readonly {
    readonly backend: string;
    readonly slot: string;
    readonly member: string;
    readonly result: string;
  }[];
  readonly heartbeats: number;
  /** Owed lifecycle completions this pass settled (left by crashed invocations, or waiting for another backend). */
  readonly settled: readonly { readonly token: string; readonly completion: string }[];
  /**
   * What the pass could not do and went on past (`passErrors` metric): a due transition or an owed completion that
   * failed, e.g. AWS refusing CompleteLifecycleAction. Each is tried again by the next pass.
   */
  readonly errors: readonly PassError[];
  /** Slots the pass programmed behind a health gate and saw pass their first check (promoted to READY) within it. */
  readonly promoted: number;
  /** Rounds the pass ran: 1, plus one per look while slots waited for their first passing check. */
  readonly rounds: number;
  readonly failures: readonly { readonly host: string; readonly reason: string }[];
  readonly seeded: readonly { readonly backend: string; readonly created: readonly string[] }[];
  readonly disagreements: readonly {
    readonly backend: string;
    readonly host: string;
    readonly missing: readonly string[];
    readonly extra: readonly string[];
  }[];
  /**
   * Backends with maxSlots whose dynamic slots the table still lacks: whether growth is on (and the slots were seeded)
   * or off, and why (e.g. a static-rr backend: HAProxy cannot add servers to it).
   */
  readonly growth: readonly {
    readonly backend: string;
    readonly enabled: boolean;
    readonly slots: number;
    readonly reason?: string;
  }[];
  /** The first round's commands, per host, that were sent (or with dryRun, would be). */
  readonly plan: Plan;
}

/** One thing a pass could not do: what, and the error's code (ours, or AWS's name for it) and message. */
export interface PassError {
  readonly what: string;
  readonly code: string;
  readonly message: string;
}

export interface ReconcileInput {
  readonly backends: readonly BackendConfig[];
  readonly dryRun?: boolean;
  /** Epoch ms the pass must end by (the invocation's remaining time); default: no waiting beyond the first round. */
  readonly until?: number;
}

type Config = Pick<ConfigDocument, 'timeouts' | 'lifecycle' | 'quorum' | 'backends'>;

/** One reconcile pass over the given backends. With `dryRun` nothing is written to hosts or to the table. */
export async function reconcile(input: ReconcileInput, config: Config, deps: ServiceDeps): Promise<ReconcileReport> {
  const dryRun = input.dryRun ?? false;
  const policy = planPolicy(config);
  const observed = await deps.fleet.observe(input.backends.map((b) => b.name));
  // The table is read after the hosts: a plan then never acts on records older than what the hosts showed.
  const readAt = deps.clock.now();
  // Backends are seeded in parallel; each returns what it found, so the report lists them in the config's order.
  const perBackend = await Promise.all(
    input.backends.map(async (backend) => {
      const slots = await deps.store.list(backend.name);
      // Only names the table lacks are written: a steady-state pass costs one read per backend, not a write per slot.
      const outcome = await seedMissing(backend, deps, observed, { dryRun, slots });
      if (outcome.growth && !outcome.growth.enabled)
        deps.log.warn('growth is off', { backend: backend.name, reason: outcome.growth.reason });
      const desired: DesiredBackend = { config: backend, slots: dryRun ? slots : outcome.slots };
      return { backend: backend.name, outcome, desired };
    }),
  );
  const desired = perBackend.map((b) => b.desired);
  const seeded: ReconcileReport['seeded'][number][] = perBackend
    .filter((b) => !dryRun && b.outcome.created.length > 0)
    .map((b) => ({ backend: b.backend, created: b.outcome.created }));
  const disagreements: ReconcileReport['disagreements'][number][] = perBackend.flatMap((b) =>
    b.outcome.disagreements.map((d) => ({ backend: b.backend, ...d })),
  );
  const growth: ReconcileReport['growth'][number][] = perBackend.flatMap(({ backend, outcome }) =>
    outcome.growth
      ? [
          {
            backend,
            enabled: outcome.growth.enabled,
            slots: outcome.growth.names.length,
            reason: outcome.growth.reason,
          },
        ]
      : [],
  );
  const first = plan({ desired, observed, now: deps.clock.now(), policy });
  const tally = new Tally(observed, first);
  if (dryRun) return report(desired, observed, first, tally, { seeded, disagreements, growth, dryRun });
  await send(first, readAt, config, deps, tally);
  await carryOut(first.transitions, config, deps, tally);
  await waitWithinPass(input, config, deps, { desired, first, observed, observedAt: readAt }, tally);
  // Completions a crashed invocation owed (the outbox), and those that waited for another backend's slot.
  const owed = await settleOwed(config, deps);
  tally.settled.push(...owed.settled);
  for (const f of owed.failed) tally.failed(`completion of ${f.ref.instanceId} (${f.ref.token})`, f.error);
  return report(desired, observed, first, tally, { seeded, disagreements, growth, dryRun });
}

// A move's wait looks again only at the hosts that have one, this many per look: each look reads every row of the
// host's backends (about 4 MB allocated at 2,000 servers). Looking again at all 50 hosts of the fleet-scale benchmark
// at once, where every host had moves, took the pass's peak RSS to 270-285 MB (issue 10's budget: 256); four per look,
// in turns, kept it at 224-249 MB and the pass at 1.7-2.0 s. The first round (every host read, the plan, ~14,000
// commands sent) sets that peak; traced, the turns after it added 2 MB. Hosts take turns until every move is done or
// the wait ends, so no slot is left in MAINT for the next pass because many hosts had moves at once (PERFORMANCE.md).
const MOVE_HOSTS_PER_LOOK = 4;

/**
 * Slots the first round left waiting — for their first passing check behind the gate (a restarted host), for a MAINT
 * to be confirmed before a finished drain is freed, or for their sessions to end before they are re-addressed — are
 * looked at again, all at once, until they are done, the gate's timeout passes, or the invocation's time runs out. So
 * one pass brings a restarted host back to serving, and moves a slot a host showed at another address.
 */
async function waitWithinPass(
  input: ReconcileInput,
  config: Config,
  deps: ServiceDeps,
  start: {
    desired: readonly DesiredBackend[];
    first: Plan;
    observed: readonly HostObservation[];
    observedAt: number;
  },
  tally: Tally,
): Promise<void> {
  const { desired, first } = start;
  const gateMs = Math.max(
    0,
    ...input.backends.map((b) => (b.healthGate?.enabled ? b.healthGate.timeoutSeconds * 1000 : 0)),
  );
  // A MAINT to confirm needs one round trip more: at least one command deadline even without a gate.
  const until = Math.min(input.until ?? 0, deps.clock.now() + Math.max(gateMs, config.timeouts.commandMs));
  let waiting = waitingSlots(first, desired);
  // Slots this pass re-addressed: on 3.x their state change carries the address too (slot-rules.ts, readdress).
  const readdressed = readdressedBy(first.batches);
  // A host that answered an earlier look of the pass and fails this one is judged by what it showed then (a release
  // waits for it: plan/transitions.ts, maintWherever).
  let previous = { observed: start.observed, at: start.observedAt };
  while (deps.clock.now() < until) {
    const moves = new Map([...waiting.moves].slice(0, MOVE_HOSTS_PER_LOOK));
    const pending = union([waiting.fleet, ...moves.values()]);
    if (pending.size === 0) break;
    // Only moves left: the hosts that have them are enough. Anything else is decided fleet-wide, on every host.
    const hosts = waiting.fleet.size > 0 ? undefined : new Set(moves.keys());
    if (!tally.sentSomething) await deps.clock.sleep(config.timeouts.pollMs);
    tally.sentSomething = false;
    const backends = input.backends.filter((b) => pending.has(b.name));
    const servers = new Set([...pending.values()].flatMap((s) => [...s]));
    const looked = await deps.fleet.observe(
      backends.map((b) => b.name),
      { servers, hosts },
    );
    const lookedAt = deps.clock.now();
    const observed = rememberLastSeen(looked, previous, lookedAt);
    // The hosts not looked at keep what they showed last (taken as heard from now: a release only waits longer).
    const fresh = new Map(observed.map((o) => [o.host, o]));
    previous = { observed: hosts ? previous.observed.map((o) => fresh.get(o.host) ?? o) : observed, at: lookedAt };
    const readAt = deps.clock.now();
    const now: DesiredBackend[] = await Promise.all(
      backends.map(async (b) => {
        const names = [...(pending.get(b.name) ?? [])];
        return { config: b, slots: [...(await deps.store.getMany(b.name, names))] };
      }),
    );
    const planned = plan({ desired: now, observed, now: deps.clock.now(), policy: planPolicy(config), readdressed });
    // A look at some hosts decides nothing fleet-wide: a drain's end and a launch's quorum need every host.
    const p = hosts ? { ...planned, transitions: [] } : planned;
    for (const key of readdressedBy(p.batches)) readdressed.add(key);
    tally.round(p);
    await send(p, readAt, config, deps, tally, {
      hosts: observed.filter((o) => o.ok).map((o) => o.host),
      slots: [...pending].flatMap(([backend, names]) => [...names].map((name) => `${backend}/${name}`)),
    });
    await carryOut(p.transitions, config, deps, tally);
    const next = waitingSlots(p, now);
    // Hosts whose moves wait for a later turn go first, so a host whose sessions hold its moves never starves the others.
    const later = [...waiting.moves].filter(([host]) => !moves.has(host));
    waiting = { fleet: next.fleet, moves: new Map([...later, ...next.moves]) };
  }
}

/** Slot names by backend. */
type Pending = Map<string, Set<string>>;

function union(all: readonly Pending[]): Pending {
  const out: Pending = new Map();
  for (const m of all)
    for (const [backend, names] of m) out.set(backend, new Set([...(out.get(backend) ?? []), ...names]));
  return out;
}

/**
 * Carries out a round's due transitions one by one. One that fails (the table throttling past its retries, AWS refusing
 * the completion a release owes) is reported and the others still go: the record or the outbox keeps it for the next
 * pass.
 */
async function carryOut(
  transitions: readonly SlotTransition[],
  config: Config,
  deps: ServiceDeps,
  tally: Tally,
): Promise<void> {
  for (const t of transitions) {
    try {
      tally.transition(await applyTransition(t, config, deps));
    } catch (error) {
      tally.failed(`${t.kind} of ${t.backend}/${t.slot} (${t.member})`, error);
    }
  }
}

/** Sends a plan's batches, fenced by the read they were planned from; `looked`: what a later round planned afresh. */
async function send(
  p: Plan,
  readAt: number,
  config: Config,
  deps: ServiceDeps,
  tally: Tally,
  looked?: LookedAt,
): Promise<void> {
  const batches = p.batches.map((b) => ({ ...b, notAfter: readAt + config.timeouts.planTtlMs }));
  tally.sent(batches, await deps.fleet.run(batches), looked);
}

/** What a round planned from: the hosts that answered its observation, and the slots (`backend/server`) it read. */
interface LookedAt {
  readonly hosts: readonly string[];
  readonly slots: readonly string[];
}

/**
 * What the pass must look at again. `fleet`, on every host: slots waiting for a first passing check, just sent to DRAIN
 * behind the health gate (their check starts now), or a finished drain whose MAINT must be seen before the slot is
 * freed. `moves`, by host, on that host alone: slots taken out of rotation (or held in MAINT by their sessions) to be
 * re-addressed, and slots re-addressed on a 3.x host whose state follows once the host shows the new address.
 */
function waitingSlots(p: Plan, desired: readonly DesiredBackend[]): { fleet: Pending; moves: Map<string, Pending> } {
  const addTo = (m: Pending, backend: string, slot: string) => m.set(backend, (m.get(backend) ?? new Set()).add(slot));
  const out: Pending = new Map();
  const add = (backend: string, slot: string) => addTo(out, backend, slot);
  const moves = new Map<string, Pending>();
  const move = (host: string, backend: string, slot: string) =>
    moves.set(host, addTo(moves.get(host) ?? new Map(), backend, slot));
  for (const d of p.drift) {
    if (d.kind === 'awaiting-health') add(d.backend, d.slot);
    // A slot that must move waits in MAINT for its sessions to end (plan/slot-rules.ts, rule 2): looked at again, it is
    // re-addressed in this pass, not a schedule later, so a host's drifted slot is out of rotation a poll, not a minute.
    // A session that outlives the wait leaves it to the next pass.
    if (d.kind === 'blocked-by-sessions') move(d.host, d.backend, d.slot);
  }
  // Looked up by name, first record of a name as a scan finds it: a fleet-wide pass sends 10,000s of commands.
  const byBackend = new Map<string, { d: DesiredBackend; slots: Map<string, SlotRecord> }>();
  for (const d of desired) {
    if (byBackend.has(d.config.name)) continue;
    const slots = new Map<string, SlotRecord>();
    for (const r of d.slots) if (!slots.has(r.slot)) slots.set(r.slot, r);
    byBackend.set(d.config.name, { d, slots });
  }
  const moving = new Set(p.drift.filter((d) => d.kind === 'address').map((d) => `${d.host}/${d.backend}/${d.slot}`));
  for (const b of p.batches) {
    // Re-addressed with no admin change in the same batch: the host applies `addr` asynchronously (3.0+,
    // plan/slot-rules.ts), so the slot's state can only follow once a read-back shows the new address.
    const stateSet = new Set<string>();
    for (const c of b.commands) if (c.kind === 'set-state') stateSet.add(`${c.backend}/${c.server}`);
    for (const c of b.commands) {
      // That read-back concerns this host alone: it takes its turn with the moves, so a 3.x fleet re-addressing a slot
      // on many hosts is not read whole again after every turn.
      if (c.kind === 'set-addr' && !stateSet.has(`${c.backend}/${c.server}`)) move(b.host, c.backend, c.server);
      if (c.kind !== 'set-state' && c.kind !== 'set-addr' && c.kind !== 'add-server') continue;
      const found = byBackend.get(c.backend);
      const d = found?.d;
      const r = found?.slots.get(c.server);
      const gated = d?.config.healthGate?.enabled === true && r?.state === 'active';
      const maint = c.kind === 'set-state' && c.state === 'maint';
      // Taken out of rotation to be re-addressed (the host showed it out of MAINT at another address): see above.
      if (maint && moving.has(`${b.host}/${c.backend}/${c.server}`)) move(b.host, c.backend, c.server);
      // A free dynamic server just set to MAINT is deleted in the next round, once it shows no session.
      const leaving = maint && (r?.state === 'draining' || (r?.state === 'free' && r.dynamic === true));
      if (gated || leaving) add(c.backend, c.server);
    }
  }
  return { fleet: out, moves };
}

/** A batch the transport refused to write because its plan expired (`STALE_PLAN`): nothing was sent. */
const isStale = (r: HostResult) => !r.ok && r.error?.code === 'STALE_PLAN';

/** Counts across the rounds of one pass. */
class Tally {
  readonly results = new Map<string, HostResult[]>();
  readonly commands = new Map<string, number>();
  readonly transitions: TransitionReport[] = [];
  readonly settled: { token: string; completion: string }[] = [];
  /** What the pass went on past (see ReconcileReport.errors). */
  readonly errors: PassError[] = [];
  promoted = 0;
  rounds = 1;
  sentSomething = false;
  constructor(
    readonly observed: readonly HostObservation[],
    readonly first: Plan,
  ) {}
  /**
   * Per host, the slots (`backend/server`) of batches whose plan expired unsent that no later round has looked at since.
   * A host whose stale rounds all were looked at again (planned afresh, and written or found in step) lost nothing.
   */
  readonly unsent = new Map<string, Set<string>>();
  sent(batches: readonly HostBatch[], results: readonly HostResult[], looked?: LookedAt): void {
    for (const b of batches) this.commands.set(b.host, (this.commands.get(b.host) ?? 0) + b.commands.length);
    for (const r of results) this.results.set(r.host, [...(this.results.get(r.host) ?? []), r]);
    // A round whose plans all expired unsent wrote nothing to look at again: the next waits a poll like an empty one.
    this.sentSomething = results.some((r) => !isStale(r));
    // This round planned its slots afresh on every host that answered: what it found to do there is in its batch, which
    // was written, refused (a failure of its own), or went stale too (added back below).
    for (const host of looked?.hosts ?? []) {
      const left = this.unsent.get(host);
      if (left) for (const key of looked?.slots ?? []) left.delete(key);
    }
    const stale = new Set(results.filter(isStale).map((r) => r.host));
    for (const b of batches.filter((x) => stale.has(x.host))) {
      const left = this.unsent.get(b.host) ?? new Set<string>();
      // A command on no one server (none in reconcile's plans today) is never covered: the stale round stays a failure.
      for (const c of b.commands) left.add('server' in c ? `${c.backend}/${c.server}` : '*');
      this.unsent.set(b.host, left);
    }
  }
  round(p: Plan): void {
    this.rounds++;
    for (const b of p.batches)
      this.promoted += b.commands.filter((c) => c.kind === 'set-state' && c.state === 'ready').length;
  }
  transition(t: TransitionReport): void {
    this.transitions.push(t);
  }
  failed(what: string, error: unknown): void {
    const e = error as { name?: unknown; message?: unknown };
    const code = error instanceof SlotSyncError ? error.code : typeof e?.name === 'string' ? e.name : 'FAILED';
    this.errors.push({ what, code, message: typeof e?.message === 'string' ? e.message : String(error) });
  }
}

function report(
  desired: readonly DesiredBackend[],
  observed: readonly HostObservation[],
  first: Plan,
  tally: Tally,
  extra: Pick<ReconcileReport, 'seeded' | 'disagreements' | 'growth' | 'dryRun'>,
): ReconcileReport {
  const releases: ReleaseReport[] = tally.transitions
    .filter((t) => t.transition.kind === 'drain-finished' || t.transition.kind === 'drain-deadline')
    .map((t) => ({
      backend: t.transition.backend,
      slot: t.transition.slot,
      member: t.transition.member,
      reason: t.transition.kind === 'drain-finished' ? 'drained' : 'deadline',
      released: t.applied,
      lifecycleCompleted: t.completions.some((c) => c.completion === 'CONTINUE'),
    }));
  const launches = tally.transitions
    .filter((t) => t.applied && (t.transition.kind === 'launch-ready' || t.transition.kind === 'launch-timeout'))
    .map((t) => ({
      backend: t.transition.backend,
      slot: t.transition.slot,
      member: t.transition.member,
      result: t.completions[0]?.completion ?? 'none',
    }));
  const driftOn = new Map<string, number>();
  for (const d of first.drift) driftOn.set(d.host, (driftOn.get(d.host) ?? 0) + 1);
  const hosts = observed.map((o): HostReport => {
    const results = tally.results.get(o.host) ?? [];
    // A real failure is reported before a stale plan (not written: nothing broke), whichever round came first. A stale
    // round is a failure only while something it would have sent was not looked at again by a later round of the pass.
    const failed =
      results.find((r) => !r.ok && !isStale(r)) ??
      ((tally.unsent.get(o.host)?.size ?? 0) > 0 ? results.find(isStale) : undefined);
    return {
      host: o.host,
      ok: o.ok && !failed,
      version: o.ok ? o.version : undefined,
      driftFound: driftOn.get(o.host) ?? 0,
      commandsSent: tally.commands.get(o.host) ?? 0,
      fixed: results.reduce((n, r) => n + r.replies.filter((x) => x.ok).length, 0),
      error: o.ok ? failed?.error : o.error,
    };
  });
  return {
    dryRun: extra.dryRun,
    hosts,
    slots: desired.reduce((n, d) => n + d.slots.length, 0),
    freeSlots: Object.fromEntries(
      desired.map((d) => [
        d.config.name,
        d.slots.filter((s) => s.state === 'free').length +
          releases.filter((r) => r.backend === d.config.name && r.released).length,
      ]),
    ),
    drift: first.drift,
    releases,
    launches,
    heartbeats: tally.transitions.reduce((n, t) => n + t.heartbeats, 0),
    settled: tally.settled,
    errors: tally.errors,
    promoted: tally.promoted,
    rounds: tally.rounds,
    failures: hosts.filter((h) => !h.ok).map((h) => ({ host: h.host, reason: h.error?.message ?? 'failed' })),
    seeded: extra.seeded,
    disagreements: extra.disagreements,
    growth: extra.growth,
    plan: first,
  };
}
