// The slot lifecycle machine, cell by cell: every state × every event decided, with the table intent, effects and answer.
import { describe, expect, it } from 'vitest';
import {
  type Decision,
  decide,
  phaseOf,
  SLOT_EVENTS,
  SLOT_PHASES,
  type SlotEvent,
} from '../../../functions/lib/domain/lifecycle.js';
import { applyPatch } from '../../../functions/lib/domain/patch.js';
import type { LifecycleRef, SlotRecord } from '../../../functions/lib/domain/types.js';

const NOW = 1_700_000_000_000;
const terminateRef: LifecycleRef = { token: 'tok-terminate', hookName: 'h', asgName: 'g', instanceId: 'i-1' };
const launchRef: LifecycleRef = { ...terminateRef, token: 'tok-launch' };
const owned = { member: 'i-1', address: '127.0.0.11', port: 8080, weight: 1, owner: 'asg' } as const;
const base = { backend: 'be', slot: 'web1', version: 4 } as const;

/** One record per state the machine distinguishes (a held slot with and without an owner, a launch pending or not). */
const STATES: Record<string, SlotRecord | undefined> = {
  none: undefined,
  free: { ...base, state: 'free' },
  active: { ...base, state: 'active', ...owned },
  'active+launch': { ...base, state: 'active', ...owned, launch: launchRef, launchDeadline: NOW, heartbeatAt: NOW - 1 },
  held: { ...base, state: 'held', ...owned, heldAdmin: 'drain', heldFrom: 'active' },
  'held-unowned': { ...base, state: 'held', heldAdmin: 'maint', heldFrom: 'free' },
  draining: {
    ...base,
    state: 'draining',
    ...owned,
    drainReason: 'terminate',
    drainDeadline: NOW + 60_000,
    drainStartedAt: NOW - 1_000,
    lifecycle: terminateRef,
  },
};

/** One event of each kind (register twice: same endpoint, and a move). */
const EVENTS: Record<string, SlotEvent> = {
  claim: { kind: 'claim', member: { id: 'i-2', address: '127.0.0.12', port: 8080 }, weight: 3, owner: 'webhook' },
  'register same': { kind: 'register', member: { id: 'i-1', address: '127.0.0.11', port: 8080 } },
  'register moved': { kind: 'register', member: { id: 'i-1', address: '127.0.0.13', port: 8081 } },
  weight: { kind: 'weight', weight: 7 },
  ready: { kind: 'ready' },
  hold: { kind: 'hold', admin: 'maint' },
  unhold: { kind: 'unhold' },
  terminate: { kind: 'terminate', now: NOW, deadline: NOW + 60_000, lifecycle: terminateRef },
  deregister: { kind: 'deregister', now: NOW, deadline: NOW + 60_000 },
  'drain-finished': { kind: 'drain-finished' },
  'drain-deadline': { kind: 'drain-deadline' },
  release: { kind: 'release' },
  'heartbeat-due': { kind: 'heartbeat-due', now: NOW },
  'launch-pending': { kind: 'launch-pending', now: NOW, lifecycle: launchRef, deadline: NOW + 300_000 },
  'launch-ready': { kind: 'launch-ready' },
  'launch-timeout': { kind: 'launch-timeout', now: NOW },
  'host-lost-state': { kind: 'host-lost-state' },
};

/**
 * The specification. `→state answer` = a write to that state; `= answer` = no write; `!CODE` = a typed refusal;
 * `claim` = the member holds no slot and must claim a free one. Columns in the order of STATES.
 */
// biome-ignore format: a decision table reads best as a table
const SPEC: Record<string, readonly string[]> = {
  //                 none                free                active                active+launch         held                  held-unowned        draining
  claim:             ['!NOT_FOUND'        , '→active claimed'   , '!SLOT_CONFLICT'    , '!SLOT_CONFLICT'    , '!SLOT_CONFLICT'    , '!SLOT_CONFLICT'    , '!SLOT_CONFLICT'],
  'register same':   ['claim'             , 'claim'             , '= applied'         , '= applied'         , '= applied'         , 'claim'             , '!MEMBER_LEAVING'],
  'register moved':  ['claim'             , 'claim'             , '→active moved'     , '→active moved'     , '→held moved'       , 'claim'             , '!MEMBER_LEAVING'],
  weight:            ['!NOT_FOUND'        , '!NOT_FOUND'        , '→active applied'   , '→active applied'   , '→held applied'     , '!NOT_FOUND'        , '!MEMBER_LEAVING'],
  ready:             ['!NOT_FOUND'        , '!NOT_FOUND'        , '= applied'         , '= applied'         , '→active unheld'    , '!NOT_FOUND'        , '!MEMBER_LEAVING'],
  hold:              ['!NOT_FOUND'        , '→held held'        , '→held held'        , '→held held'        , '→held held'        , '= held'            , '!MEMBER_LEAVING'],
  unhold:            ['!NOT_FOUND'        , '= unchanged'       , '= unchanged'       , '= unchanged'       , '→active unheld'    , '→free unheld'      , '= unchanged'],
  terminate:         ['= not-registered'  , '= not-registered'  , '→draining draining', '→draining draining', '→draining draining', '= not-registered'  , '= draining'],
  deregister:        ['= not-registered'  , '= not-registered'  , '→draining draining', '→draining draining', '→draining draining', '= not-registered'  , '= draining'],
  'drain-finished':  ['= unchanged'       , '= unchanged'       , '= unchanged'       , '= unchanged'       , '= unchanged'       , '= unchanged'       , '→free released'],
  'drain-deadline':  ['= unchanged'       , '= unchanged'       , '= unchanged'       , '= unchanged'       , '= unchanged'       , '= unchanged'       , '→free released'],
  release:           ['= unchanged'       , '= unchanged'       , '→free released'    , '→free released'    , '→held released'    , '= unchanged'       , '→free released'],
  'heartbeat-due':   ['= unchanged'       , '= unchanged'       , '= unchanged'       , '→active applied'   , '= unchanged'       , '= unchanged'       , '→draining applied'],
  'launch-pending':  ['!NOT_FOUND'        , '!NOT_FOUND'        , '→active pending'   , '→active pending'   , '→held pending'     , '!NOT_FOUND'        , '!MEMBER_LEAVING'],
  'launch-ready':    ['= unchanged'       , '= unchanged'       , '= unchanged'       , '→active applied'   , '= unchanged'       , '= unchanged'       , '= unchanged'],
  'launch-timeout':  ['= unchanged'       , '= unchanged'       , '= unchanged'       , '→draining draining', '= unchanged'       , '= unchanged'       , '= unchanged'],
  'host-lost-state': ['= unchanged'       , '= unchanged'       , '= unchanged'       , '= unchanged'       , '= unchanged'       , '= unchanged'       , '= unchanged'],
};

function describeDecision(d: Decision): string {
  if (d.type === 'write') return `→${d.next} ${d.answer}`;
  if (d.type === 'noop') return `= ${d.answer}`;
  if (d.type === 'claim') return 'claim';
  return `!${d.error.code}`;
}

const cells = Object.entries(SPEC).flatMap(([event, row]) =>
  Object.keys(STATES).map((state, i) => ({ event, state, expected: row[i] as string })),
);

describe('slot lifecycle machine', () => {
  it('the spec decides every event kind in every state the machine has', () => {
    const kinds = new Set(Object.values(EVENTS).map((e) => e.kind));
    expect([...kinds].sort()).toEqual([...SLOT_EVENTS].sort());
    expect(Object.keys(SPEC).sort()).toEqual(Object.keys(EVENTS).sort());
    const phases = new Set(Object.values(STATES).map(phaseOf));
    expect([...phases].sort()).toEqual([...SLOT_PHASES].sort());
    for (const row of Object.values(SPEC)) expect(row).toHaveLength(Object.keys(STATES).length);
  });

  it.each(cells)('$event on $state: $expected', ({ event, state, expected }) => {
    expect(describeDecision(decide(STATES[state], EVENTS[event] as SlotEvent))).toBe(expected);
  });

  it('writes only to the state it names: applying the patch gives a record in that state, version bumped', () => {
    for (const { event, state } of cells) {
      const record = STATES[state];
      const d = decide(record, EVENTS[event] as SlotEvent);
      if (d.type !== 'write' || !record) continue;
      const next = applyPatch(record, d.patch);
      expect(next.state, `${event} on ${state}`).toBe(d.next);
      expect(next.version).toBe(record.version + 1);
      // A free slot keeps nothing of a member; an owned one always keeps its member.
      if (next.state === 'free') expect(next.member, `${event} on ${state}`).toBeUndefined();
      if (next.state === 'active' || next.state === 'draining') expect(next.member).toBeDefined();
    }
  });
});

describe('what the machine records and does', () => {
  const apply = (state: string, event: SlotEvent) => {
    const d = decide(STATES[state], event);
    if (d.type !== 'write') throw new Error(`no write: ${describeDecision(d)}`);
    return { record: applyPatch(STATES[state] as SlotRecord, d.patch), effects: d.effects };
  };

  it('claims a free slot with the member, its endpoint, weight and owner', () => {
    expect(apply('free', EVENTS.claim as SlotEvent).record).toMatchObject({
      state: 'active',
      member: 'i-2',
      address: '127.0.0.12',
      port: 8080,
      weight: 3,
      owner: 'webhook',
    });
  });

  it('a terminate wins over a hold and retires the member; a pending launch is abandoned', () => {
    const held = apply('held', EVENTS.terminate as SlotEvent);
    expect(held.record).toMatchObject({ state: 'draining', drainReason: 'terminate', lifecycle: terminateRef });
    expect(held.record.heldAdmin).toBeUndefined();
    expect(held.effects).toEqual([{ kind: 'retire', member: 'i-1' }]);
    // The pending launch is ABANDONed when the drain ends (the hosts no longer send it traffic by then), and only
    // once its last slot in any backend is free: the ASG terminates an abandoned instance at once.
    const starting = apply('active+launch', EVENTS.terminate as SlotEvent);
    expect(starting.record.launch).toEqual(launchRef);
    expect(starting.effects).toEqual([{ kind: 'retire', member: 'i-1' }]);
    const over = decide(starting.record, { kind: 'drain-finished' });
    expect(over.type === 'write' && over.effects).toEqual([
      { kind: 'complete', ref: terminateRef, result: 'CONTINUE', after: 'last-slot' },
      { kind: 'complete', ref: launchRef, result: 'ABANDON', after: 'last-slot' },
    ]);
  });

  it('a deregister drains without retiring; a later terminate hardens it and adds its token', () => {
    const out = apply('active', EVENTS.deregister as SlotEvent);
    expect(out.effects).toEqual([]);
    expect(out.record).toMatchObject({ drainReason: 'deregister' });
    expect(out.record.lifecycle).toBeUndefined();
    const later = decide(out.record, {
      ...(EVENTS.terminate as Extract<SlotEvent, { kind: 'terminate' }>),
      now: NOW + 5,
    });
    if (later.type !== 'write') throw new Error('terminate after deregister must write');
    const next = applyPatch(out.record, later.patch);
    expect(next).toMatchObject({ drainReason: 'terminate', lifecycle: terminateRef, drainStartedAt: NOW });
    expect(later.effects).toEqual([{ kind: 'retire', member: 'i-1' }]);
  });

  it('a duplicate terminate keeps the earlier deadline and the first token; an earlier deadline tightens it', () => {
    const draining = STATES.draining as SlotRecord;
    const dup = decide(draining, {
      kind: 'terminate',
      now: NOW,
      deadline: NOW + 90_000,
      lifecycle: { ...terminateRef, token: 'tok-other' },
    });
    expect(describeDecision(dup)).toBe('= draining');
    const sooner = decide(draining, { kind: 'terminate', now: NOW, deadline: NOW + 1_000 });
    if (sooner.type !== 'write') throw new Error('an earlier deadline must write');
    expect(applyPatch(draining, sooner.patch)).toMatchObject({ drainDeadline: NOW + 1_000, lifecycle: terminateRef });
  });

  it('a finished drain frees the slot and completes its action once the member has no other slot draining', () => {
    const out = apply('draining', { kind: 'drain-finished' });
    expect(out.record).toEqual({ ...base, state: 'free', version: 5 });
    expect(out.effects).toEqual([{ kind: 'complete', ref: terminateRef, result: 'CONTINUE', after: 'last-slot' }]);
  });

  it('a handed-over launch completes with CONTINUE when served, and ABANDONs and drains out at its deadline', () => {
    const ready = apply('active+launch', { kind: 'launch-ready' });
    expect(ready.record.launch).toBeUndefined();
    expect(ready.effects).toEqual([{ kind: 'complete', ref: launchRef, result: 'CONTINUE', after: 'last-launch' }]);
    const early = decide(STATES['active+launch'], { kind: 'launch-timeout', now: NOW - 1 });
    expect(describeDecision(early)).toBe('= unchanged');
    const late = apply('active+launch', { kind: 'launch-timeout', now: NOW });
    expect(late.record).toMatchObject({
      state: 'draining',
      drainReason: 'abandon',
      drainDeadline: NOW,
      launch: launchRef,
    });
    expect(late.effects).toEqual([{ kind: 'retire', member: 'i-1' }]);
    const over = decide(late.record, { kind: 'drain-deadline' });
    expect(over.type === 'write' && over.effects).toEqual([
      { kind: 'complete', ref: launchRef, result: 'ABANDON', after: 'last-slot' },
    ]);
  });

  it('heartbeats the pending action and records when', () => {
    const out = apply('draining', { kind: 'heartbeat-due', now: NOW + 7 });
    expect(out.record.heartbeatAt).toBe(NOW + 7);
    expect(out.effects).toEqual([{ kind: 'heartbeat', ref: terminateRef }]);
  });

  it('a held slot keeps its hold across a move and a release (the hold outlives the member)', () => {
    const moved = apply('held', EVENTS['register moved'] as SlotEvent).record;
    expect(moved).toMatchObject({ state: 'held', heldAdmin: 'drain', address: '127.0.0.13', port: 8081 });
    const released = apply('held', { kind: 'release' }).record;
    expect(released).toEqual({ ...base, state: 'held', heldAdmin: 'drain', heldFrom: 'free', version: 5 });
  });

  it('names the member and why in a refusal', () => {
    const d = decide(STATES.draining, { kind: 'ready' });
    if (d.type !== 'refuse') throw new Error('ready on draining must be refused');
    expect(d.error.message).toMatch(/member i-1 is being terminated and is draining out of backend be/);
  });
});
