// Domain: the slot lifecycle as one pure state machine — every (state, event) decides the next state, the table
// intent, the side effects, and what the caller is answered, or a typed refusal (docs/ARCHITECTURE.md, "Slot lifecycle").
import {
  InvalidArgumentError,
  MemberLeavingError,
  NotFoundError,
  SlotConflictError,
  type SlotSyncError,
} from '../errors.js';
import { DRAIN_FIELDS, HOLD_FIELDS, LAUNCH_FIELDS, OWNER_FIELDS, type SlotPatch } from './patch.js';
import {
  type DrainReason,
  type LifecycleRef,
  type Member,
  type Owner,
  RETIRING_REASONS,
  type SlotRecord,
  type SlotState,
} from './types.js';
import { type AdminState, canonicalAddress, validAddress, validName, validPort, validWeight } from './values.js';

/**
 * Where a slot is in its lifecycle. `none` is the absence of a record: the member addressed holds no slot in the
 * backend (or the slot named was never seeded). The others are the table's SlotState.
 */
export const SLOT_PHASES = ['none', 'free', 'active', 'held', 'draining'] as const;
export type SlotPhase = (typeof SLOT_PHASES)[number];

/** An operator's hold pins one of these admin states on every host. */
export type HoldAdmin = Exclude<AdminState, 'ready'>;

/** Everything that can happen to a slot. Times are epoch ms, passed in so the machine stays pure. */
export type SlotEvent =
  /** A member takes this free slot (launch, webhook register, ASG cross-check). */
  | { readonly kind: 'claim'; readonly member: Member; readonly weight: number; readonly owner: Owner }
  /** The member that owns the slot registers again, at the same or at a new address/port. */
  | { readonly kind: 'register'; readonly member: Member }
  | { readonly kind: 'weight'; readonly weight: number }
  /** A deploy tool says the member may serve again (ends a hold). */
  | { readonly kind: 'ready' }
  /** An operator (CLI) or deploy tool takes the slot out of traffic: drain or maint on every host. */
  | { readonly kind: 'hold'; readonly admin: HoldAdmin }
  | { readonly kind: 'unhold' }
  /** The instance is leaving for good (ASG terminate, abandoned launch): wins over holds, `ready` and everything. */
  | {
      readonly kind: 'terminate';
      readonly now: number;
      readonly deadline: number;
      readonly lifecycle?: LifecycleRef;
      readonly reason?: Exclude<DrainReason, 'deregister'>;
    }
  /** A deploy tool removes the member: the same drain, without a lifecycle action. */
  | { readonly kind: 'deregister'; readonly now: number; readonly deadline: number }
  /** No host reports a session any more (and the fence has passed): the drain is over. */
  | { readonly kind: 'drain-finished' }
  | { readonly kind: 'drain-deadline' }
  /** The slot is freed without a drain: a claim that no host applied is rolled back. */
  | { readonly kind: 'release' }
  /** The pending lifecycle action (terminate drain or handed-over launch) needs a heartbeat to stay alive. */
  | { readonly kind: 'heartbeat-due'; readonly now: number }
  /** A launch could not see READY everywhere within its invocation: reconcile completes it. */
  | {
      readonly kind: 'launch-pending';
      readonly now: number;
      readonly lifecycle: LifecycleRef;
      readonly deadline: number;
    }
  /** Every host serves the member: the handed-over launch completes with CONTINUE. */
  | { readonly kind: 'launch-ready' }
  /** The handed-over launch passed its deadline without READY everywhere: ABANDON, and the instance drains out. */
  | { readonly kind: 'launch-timeout'; readonly now: number }
  /** A host restarted or lost the slot's runtime state: no table change; the hosts are programmed again. */
  | { readonly kind: 'host-lost-state' };

export type SlotEventKind = SlotEvent['kind'];
export const SLOT_EVENTS = [
  'claim',
  'register',
  'weight',
  'ready',
  'hold',
  'unhold',
  'terminate',
  'deregister',
  'drain-finished',
  'drain-deadline',
  'release',
  'heartbeat-due',
  'launch-pending',
  'launch-ready',
  'launch-timeout',
  'host-lost-state',
] as const satisfies readonly SlotEventKind[];

/** What the caller is told when the event is accepted. */
export type Answer =
  | 'claimed'
  | 'applied'
  | 'moved'
  | 'held'
  | 'unheld'
  | 'draining'
  | 'released'
  | 'not-registered'
  | 'unchanged'
  | 'pending';

/** A side effect the service carries out after the write (or with no write at all). */
export type Effect =
  /**
   * Complete the lifecycle action. `after`: only once the member holds no slot in any other backend (a terminate), or
   * once no other backend's slot still waits for this launch (a launch served everywhere); none: at once.
   */
  | {
      readonly kind: 'complete';
      readonly ref: LifecycleRef;
      readonly result: 'CONTINUE' | 'ABANDON';
      readonly after?: 'last-slot' | 'last-launch';
    }
  | { readonly kind: 'heartbeat'; readonly ref: LifecycleRef }
  /** Record the member as retired (it must never be given a slot again). */
  | { readonly kind: 'retire'; readonly member: string };

/** The machine's verdict on one (state, event). */
export type Decision =
  | {
      readonly type: 'write';
      readonly next: SlotState;
      readonly patch: SlotPatch;
      readonly answer: Answer;
      readonly effects: readonly Effect[];
    }
  | { readonly type: 'noop'; readonly answer: Answer; readonly effects: readonly Effect[] }
  /** The member holds no slot: the store must claim a free one (the `claim` event on a free slot). */
  | { readonly type: 'claim' }
  | { readonly type: 'refuse'; readonly error: SlotSyncError };

/** The phase of a record (or of its absence). */
export function phaseOf(record: SlotRecord | undefined): SlotPhase {
  return record ? record.state : 'none';
}

const noop = (answer: Answer, effects: readonly Effect[] = []): Decision => ({ type: 'noop', answer, effects });
const write = (next: SlotState, patch: SlotPatch, answer: Answer, effects: readonly Effect[] = []): Decision => ({
  type: 'write',
  next,
  patch,
  answer,
  effects,
});
const refuse = (error: SlotSyncError): Decision => ({ type: 'refuse', error });

function where(r: SlotRecord | undefined): string {
  return r ? `${r.backend}/${r.slot}` : 'this backend';
}
const notRegistered = (r: SlotRecord | undefined) =>
  refuse(new NotFoundError(`no member holds ${where(r)}: register it first`));
const leaving = (r: SlotRecord) =>
  refuse(new MemberLeavingError(r.backend, r.member ?? '?', r.drainReason ?? 'terminate', r.drainDeadline));
const taken = (r: SlotRecord) => refuse(new SlotConflictError(`slot ${r.backend}/${r.slot} is ${r.state}, not free`));
const absent = (r: SlotRecord | undefined) => refuse(new NotFoundError(`slot ${where(r)} does not exist`));

function sameEndpoint(r: SlotRecord, m: Member): boolean {
  return r.address !== undefined && canonicalAddress(r.address) === canonicalAddress(m.address) && r.port === m.port;
}

/**
 * The effects of a slot's pending launch when something else ends it: the action is abandoned, never left open. At the
 * end of a drain the ABANDON waits for the member's last slot (`after`): the ASG terminates an abandoned instance at
 * once, so no other backend may still be sending it traffic.
 */
function launchEnds(r: SlotRecord, after?: 'last-slot'): Effect[] {
  if (!r.launch) return [];
  return [{ kind: 'complete', ref: r.launch, result: 'ABANDON', ...(after ? { after } : {}) }];
}

/** Start (or tighten) a drain: the earliest deadline and start win, the first lifecycle token is kept. */
function drain(
  r: SlotRecord,
  e: { now: number; deadline: number; lifecycle?: LifecycleRef },
  reason: DrainReason,
): Decision {
  const patch: SlotPatch = {
    set: {
      state: 'draining',
      drainDeadline: Math.min(r.drainDeadline ?? e.deadline, e.deadline),
      drainStartedAt: Math.min(r.drainStartedAt ?? e.now, e.now),
      drainReason: reason,
      lifecycle: r.lifecycle ?? e.lifecycle,
    },
    // A pending launch stays on the record: it is ABANDONed when the drain ends (finishDrain), once the hosts no longer
    // send the instance traffic, and even if this invocation dies before that.
    remove: [...HOLD_FIELDS],
  };
  const effects: Effect[] = [];
  // A member that leaves for good never comes back; one on its way to the warm pool (or deregistered) may.
  if (RETIRING_REASONS.has(reason) && r.member) effects.push({ kind: 'retire', member: r.member });
  return write('draining', patch, 'draining', effects);
}

/**
 * A drain that ends: the slot is freed, its lifecycle action (if any) completes once the member's last slot is, and a
 * launch still pending on it is abandoned (the instance is going).
 */
function finishDrain(r: SlotRecord): Decision {
  const effects: Effect[] = r.lifecycle
    ? [{ kind: 'complete', ref: r.lifecycle, result: 'CONTINUE', after: 'last-slot' }]
    : [];
  return write('free', freePatch(), 'released', [...effects, ...launchEnds(r, 'last-slot')]);
}

function freePatch(): SlotPatch {
  return { set: { state: 'free' }, remove: [...OWNER_FIELDS, ...HOLD_FIELDS] };
}

type Rule<K extends SlotEventKind> = (
  record: SlotRecord | undefined,
  event: Extract<SlotEvent, { kind: K }>,
) => Decision;
type Row = { readonly [K in SlotEventKind]: Rule<K> };

// The whole table. TypeScript makes every (phase, event) cell mandatory, and test/unit/domain/lifecycle.test.ts pins
// each cell's outcome, so an event cannot be added without deciding what it does in every state.
const RULES: { readonly [P in SlotPhase]: Row } = {
  none: {
    claim: (r) => absent(r),
    register: () => ({ type: 'claim' }),
    weight: (r) => notRegistered(r),
    ready: (r) => notRegistered(r),
    hold: (r) => notRegistered(r),
    unhold: (r) => absent(r),
    terminate: () => noop('not-registered'),
    deregister: () => noop('not-registered'),
    'drain-finished': () => noop('unchanged'),
    'drain-deadline': () => noop('unchanged'),
    release: () => noop('unchanged'),
    'heartbeat-due': () => noop('unchanged'),
    'launch-pending': (r) => notRegistered(r),
    'launch-ready': () => noop('unchanged'),
    'launch-timeout': () => noop('unchanged'),
    'host-lost-state': () => noop('unchanged'),
  },
  free: {
    claim: (_r, e) =>
      write(
        'active',
        {
          set: {
            state: 'active',
            member: e.member.id,
            address: e.member.address,
            port: e.member.port,
            weight: e.weight,
            owner: e.owner,
          },
          remove: [...DRAIN_FIELDS, ...LAUNCH_FIELDS, ...HOLD_FIELDS],
        },
        'claimed',
      ),
    // A member never owns a free slot: registering means claiming one.
    register: () => ({ type: 'claim' }),
    weight: (r) => notRegistered(r),
    ready: (r) => notRegistered(r),
    // The CLI may take a free slot out of the pool: it stays held (and unclaimable) until enabled.
    hold: (_r, e) => write('held', { set: { state: 'held', heldAdmin: e.admin, heldFrom: 'free' } }, 'held'),
    unhold: () => noop('unchanged'),
    terminate: () => noop('not-registered'),
    deregister: () => noop('not-registered'),
    'drain-finished': () => noop('unchanged'),
    'drain-deadline': () => noop('unchanged'),
    release: () => noop('unchanged'),
    'heartbeat-due': () => noop('unchanged'),
    'launch-pending': (r) => notRegistered(r),
    'launch-ready': () => noop('unchanged'),
    'launch-timeout': () => noop('unchanged'),
    'host-lost-state': () => noop('unchanged'),
  },
  active: {
    claim: (r) => taken(r as SlotRecord),
    register: (r, e) => {
      const rec = r as SlotRecord;
      if (sameEndpoint(rec, e.member)) return noop('applied');
      // A move: the hosts keep the slot out of traffic until its sessions end, then re-address it (never with sessions).
      return write('active', { set: { address: e.member.address, port: e.member.port } }, 'moved');
    },
    weight: (r, e) =>
      r?.weight === e.weight ? noop('applied') : write('active', { set: { weight: e.weight } }, 'applied'),
    ready: () => noop('applied'),
    hold: (_r, e) => write('held', { set: { state: 'held', heldAdmin: e.admin, heldFrom: 'active' } }, 'held'),
    unhold: () => noop('unchanged'),
    terminate: (r, e) => drain(r as SlotRecord, e, e.reason ?? 'terminate'),
    deregister: (r, e) => drain(r as SlotRecord, e, 'deregister'),
    'drain-finished': () => noop('unchanged'),
    'drain-deadline': () => noop('unchanged'),
    release: (r) => write('free', freePatch(), 'released', launchEnds(r as SlotRecord)),
    'heartbeat-due': (r, e) =>
      r?.launch
        ? write('active', { set: { heartbeatAt: e.now } }, 'applied', [{ kind: 'heartbeat', ref: r.launch }])
        : noop('unchanged'),
    'launch-pending': (_r, e) =>
      write('active', { set: { launch: e.lifecycle, launchDeadline: e.deadline, heartbeatAt: e.now } }, 'pending'),
    'launch-ready': (r) =>
      r?.launch
        ? write('active', { remove: [...LAUNCH_FIELDS, 'heartbeatAt'] }, 'applied', [
            { kind: 'complete', ref: r.launch, result: 'CONTINUE', after: 'last-launch' },
          ])
        : noop('unchanged'),
    'launch-timeout': (r, e) => launchTimeout(r as SlotRecord, e.now),
    'host-lost-state': () => noop('unchanged'),
  },
  held: {
    claim: (r) => taken(r as SlotRecord),
    // A held slot with no member is nobody's: the member must claim another one.
    register: (r, e) => {
      const rec = r as SlotRecord;
      if (rec.member === undefined) return { type: 'claim' };
      if (sameEndpoint(rec, e.member)) return noop('applied');
      return write('held', { set: { address: e.member.address, port: e.member.port } }, 'moved');
    },
    weight: (r, e) => {
      if (r?.member === undefined) return notRegistered(r);
      return r.weight === e.weight ? noop('applied') : write('held', { set: { weight: e.weight } }, 'applied');
    },
    ready: (r) => (r?.member === undefined ? notRegistered(r) : unhold(r)),
    hold: (r, e) => (r?.heldAdmin === e.admin ? noop('held') : write('held', { set: { heldAdmin: e.admin } }, 'held')),
    unhold: (r) => unhold(r as SlotRecord),
    terminate: (r, e) => (r?.member === undefined ? noop('not-registered') : drain(r, e, e.reason ?? 'terminate')),
    deregister: (r, e) => (r?.member === undefined ? noop('not-registered') : drain(r, e, 'deregister')),
    'drain-finished': () => noop('unchanged'),
    'drain-deadline': () => noop('unchanged'),
    // The operator's hold outlives the member: the slot stays held, without an owner.
    release: (r) =>
      r?.member === undefined
        ? noop('unchanged')
        : write('held', { set: { heldFrom: 'free' }, remove: [...OWNER_FIELDS] }, 'released', launchEnds(r)),
    'heartbeat-due': (r, e) =>
      r?.launch
        ? write('held', { set: { heartbeatAt: e.now } }, 'applied', [{ kind: 'heartbeat', ref: r.launch }])
        : noop('unchanged'),
    'launch-pending': (r, e) =>
      r?.member === undefined
        ? notRegistered(r)
        : write('held', { set: { launch: e.lifecycle, launchDeadline: e.deadline, heartbeatAt: e.now } }, 'pending'),
    // A held slot is not READY: its launch can only complete once an operator enables it in time.
    'launch-ready': () => noop('unchanged'),
    'launch-timeout': (r, e) => launchTimeout(r as SlotRecord, e.now),
    'host-lost-state': () => noop('unchanged'),
  },
  draining: {
    claim: (r) => taken(r as SlotRecord),
    register: (r) => leaving(r as SlotRecord),
    weight: (r) => leaving(r as SlotRecord),
    ready: (r) => leaving(r as SlotRecord),
    hold: (r) => leaving(r as SlotRecord),
    unhold: () => noop('unchanged'),
    // A second terminate (duplicate, or the ASG's hook after a Spot warning) joins the drain in progress.
    terminate: (r, e) => {
      const rec = r as SlotRecord;
      const d = drain(rec, e, stronger(rec.drainReason, e.reason ?? 'terminate'));
      return d.type === 'write' && unchangedDrain(rec, d.patch) ? noop('draining', d.effects) : d;
    },
    deregister: (r, e) => {
      const rec = r as SlotRecord;
      const d = drain(rec, e, rec.drainReason ?? 'deregister');
      return d.type === 'write' && unchangedDrain(rec, d.patch) ? noop('draining') : d;
    },
    'drain-finished': (r) => finishDrain(r as SlotRecord),
    'drain-deadline': (r) => finishDrain(r as SlotRecord),
    release: (r) => finishDrain(r as SlotRecord),
    'heartbeat-due': (r, e) =>
      r?.lifecycle
        ? write('draining', { set: { heartbeatAt: e.now } }, 'applied', [{ kind: 'heartbeat', ref: r.lifecycle }])
        : noop('unchanged'),
    'launch-pending': (r) => leaving(r as SlotRecord),
    'launch-ready': () => noop('unchanged'),
    'launch-timeout': () => noop('unchanged'),
    'host-lost-state': () => noop('unchanged'),
  },
};

// A drain's reason only ever hardens: a deregistered member that is then terminated is retired.
// A stop may still turn into a termination (then the member is retired); nothing turns a termination back.
const STRENGTH: Readonly<Record<DrainReason, number>> = {
  deregister: 0,
  'warm-pool': 1,
  'instance-stopping': 1,
  abandon: 2,
  terminate: 2,
  'spot-interruption': 2,
  rebalance: 2,
  'instance-terminating': 2,
};
function stronger(was: DrainReason | undefined, now: DrainReason): DrainReason {
  return was !== undefined && STRENGTH[was] >= STRENGTH[now] ? was : now;
}

function unhold(r: SlotRecord): Decision {
  const back: SlotState =
    r.member === undefined ? 'free' : r.heldFrom === 'free' || r.heldFrom === undefined ? 'active' : r.heldFrom;
  return write(back, { set: { state: back }, remove: [...HOLD_FIELDS] }, 'unheld');
}

function launchTimeout(r: SlotRecord, now: number): Decision {
  if (!r.launch || r.launchDeadline === undefined || now < r.launchDeadline) return noop('unchanged');
  // The launch stays on the draining record: finishing the drain completes it with ABANDON.
  return drain(r, { now, deadline: now }, 'abandon');
}

function unchangedDrain(r: SlotRecord, patch: SlotPatch): boolean {
  const s = patch.set ?? {};
  return (
    s.drainDeadline === r.drainDeadline &&
    s.drainStartedAt === r.drainStartedAt &&
    s.drainReason === r.drainReason &&
    s.lifecycle?.token === r.lifecycle?.token &&
    r.heldAdmin === undefined
  );
}

/** Bad values never reach a decision: every name, address, port, weight, admin state and time is checked first. */
function checkEvent(e: SlotEvent): void {
  const time = (field: string, v: number) => {
    if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(field, v, 'must be epoch milliseconds');
  };
  if (e.kind === 'claim' || e.kind === 'register') {
    validName('member', e.member.id);
    validAddress(e.member.address);
    validPort(e.member.port);
  }
  if (e.kind === 'claim' || e.kind === 'weight') validWeight(e.weight);
  if (e.kind === 'hold' && e.admin !== 'drain' && e.admin !== 'maint')
    throw new InvalidArgumentError('admin', e.admin, 'a hold is drain or maint');
  if ('now' in e) time('now', e.now);
  if ('deadline' in e) time('deadline', e.deadline);
}

/** The machine: what `event` does to a slot in the state `record` is in (undefined = no record). Pure. */
export function decide(record: SlotRecord | undefined, event: SlotEvent): Decision {
  checkEvent(event);
  const row = RULES[phaseOf(record)];
  return (row[event.kind] as Rule<typeof event.kind>)(record, event as never);
}
