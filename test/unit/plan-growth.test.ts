// Planner, growth: dynamic slots are added where a member's slot is missing, deleted where nobody holds them, and a
// template slot is never added or deleted (docs/ARCHITECTURE.md, "Growth").
import { describe, expect, it } from 'vitest';
import { hostTarget, type Presence } from '../../functions/lib/domain/host-target.js';
import { validServerOptions } from '../../functions/lib/domain/server-options.js';
import {
  type HostObservation,
  type ObservedSlot,
  SLOT_STATES,
  type SlotRecord,
} from '../../functions/lib/domain/types.js';
import { renderCommand } from '../../functions/lib/haproxy/commands.js';
import { plan } from '../../functions/lib/plan/plan.js';
import type { DesiredBackend } from '../../functions/lib/plan/types.js';

const NOW = 1_700_000_000_000;
const IP = '127.0.0.21';
const options = validServerOptions({ check: true, inter: 100, rise: 1 });
const plain = { name: 'be', slotPrefix: 'web', dynamicServerOptions: options };
const gated = { ...plain, healthGate: { enabled: true, timeoutSeconds: 60 } };

function rec(slot: string, state: SlotRecord['state'], extra: Partial<SlotRecord> = {}): SlotRecord {
  return { backend: 'be', slot, state, version: 2, dynamic: true, ...extra };
}
const member = { member: 'i-0abc', address: IP, port: 8080, weight: 4 };
function obs(server: string, extra: Partial<ObservedSlot> = {}): ObservedSlot {
  return {
    backend: 'be',
    server,
    address: IP,
    port: 8080,
    admin: 'maint',
    weight: 4,
    sessions: 0,
    status: 'MAINT',
    statusWord: 'MAINT',
    checkStatus: '',
    hasCheck: true,
    ...extra,
  };
}
function host(name: string, version: string, ...slots: ObservedSlot[]): HostObservation {
  return { host: name, ok: true, backends: new Map([['be', slots]]), version };
}
const V26 = '2.6.12-1+deb12u4';
const V32 = '3.2.26-1';

function texts(desired: DesiredBackend[], observed: HostObservation[]) {
  const p = plan({ desired, observed, now: NOW });
  return { p, byHost: Object.fromEntries(p.batches.map((b) => [b.host, b.commands.map(renderCommand)])) };
}

describe('where a dynamic server must exist (host target presence)', () => {
  const cases: [string, SlotRecord, Presence][] = [
    ['a template slot in any state', { ...rec('web1', 'active', member), dynamic: undefined }, 'kept'],
    ['a free dynamic slot', rec('web5', 'free'), 'absent'],
    ['an active dynamic slot', rec('web5', 'active', member), 'required'],
    ['a held dynamic slot with its member', rec('web5', 'held', { ...member, heldAdmin: 'drain' }), 'required'],
    ['a held dynamic slot without a member', rec('web5', 'held', { heldAdmin: 'maint', heldFrom: 'free' }), 'absent'],
    [
      'a draining dynamic slot',
      rec('web5', 'draining', { ...member, drainDeadline: NOW, drainStartedAt: NOW }),
      'kept',
    ],
  ];
  it.each(cases)('%s: %s', (_name, record, presence) => {
    expect(hostTarget(record, false).presence).toBe(presence);
  });

  it('decides presence for every table state of a template slot: always kept', () => {
    for (const state of SLOT_STATES)
      expect(hostTarget(rec('web1', state, { dynamic: undefined }), true).presence).toBe('kept');
  });
});

describe('adding a dynamic server where it is missing', () => {
  it('adds it at the member with its weight and options, enables health and gates it in DRAIN', () => {
    const { p, byHost } = texts([{ config: gated, slots: [rec('web5', 'active', member)] }], [host('h1', V26)]);
    expect(byHost.h1).toEqual([
      'add server be/web5 127.0.0.21:8080 weight 4 check inter 100ms rise 1',
      'enable health be/web5',
      'set server be/web5 state drain',
    ]);
    expect(p.drift).toEqual([
      { host: 'h1', backend: 'be', slot: 'web5', kind: 'missing-slot', expected: '127.0.0.21:8080', actual: 'absent' },
    ]);
  });

  it('makes it ready in the same batch without a health gate, on 3.x too (the address is set at creation)', () => {
    const { byHost } = texts([{ config: plain, slots: [rec('web5', 'active', member)] }], [host('h1', V32)]);
    expect(byHost.h1).toEqual([
      'add server be/web5 127.0.0.21:8080 weight 4 check inter 100ms rise 1',
      'enable health be/web5',
      'set server be/web5 state ready',
    ]);
  });

  it('sends no enable health when the options have no check', () => {
    const config = { name: 'be', slotPrefix: 'web' };
    const { byHost } = texts([{ config, slots: [rec('web5', 'active', member)] }], [host('h1', V26)]);
    expect(byHost.h1).toEqual(['add server be/web5 127.0.0.21:8080 weight 4', 'set server be/web5 state ready']);
  });

  it('re-adds a held slot in the admin state the operator pinned', () => {
    const held = rec('web5', 'held', { ...member, heldAdmin: 'maint', heldFrom: 'active' });
    const { byHost } = texts([{ config: gated, slots: [held] }], [host('h1', V26)]);
    expect(byHost.h1).toEqual([
      'add server be/web5 127.0.0.21:8080 weight 4 check inter 100ms rise 1',
      'enable health be/web5',
    ]);
  });

  it('only on the host that lacks it, and goes on gating where it exists', () => {
    const { byHost } = texts(
      [{ config: gated, slots: [rec('web5', 'active', member)] }],
      [
        host('h1', V26),
        host('h2', V26, obs('web5', { admin: 'drain', status: 'DRAIN', statusWord: 'DRAIN', checkStatus: 'L7OK' })),
      ],
    );
    expect(byHost.h1?.[0]).toMatch(/^add server be\/web5 /);
    expect(byHost.h2).toEqual(['set server be/web5 state ready']);
  });

  it('never re-adds a draining slot a host lost (its member is leaving), and counts that host as idle', () => {
    const r = rec('web5', 'draining', { ...member, drainDeadline: NOW + 60_000, drainStartedAt: NOW - 10_000 });
    const p = plan({
      desired: [{ config: plain, slots: [r] }],
      observed: [host('h1', V26), host('h2', V26, obs('web5'))],
      now: NOW,
    });
    expect(p.batches).toEqual([]);
    expect(p.transitions.map((t) => t.kind)).toEqual(['drain-finished']);
  });

  it('never adds a template slot a host lacks: that is reported, not repaired', () => {
    const template = { ...rec('web1', 'active', member), dynamic: undefined };
    const p = plan({ desired: [{ config: plain, slots: [template] }], observed: [host('h1', V26)], now: NOW });
    expect(p.batches).toEqual([]);
    expect(p.drift.map((x) => x.kind)).toEqual(['missing-slot']);
  });
});

describe('deleting a dynamic server nobody holds', () => {
  const free = rec('web5', 'free');

  it('sets it to MAINT first when a host still has it in traffic', () => {
    const ready = obs('web5', { admin: 'ready', status: 'UP', statusWord: 'UP' });
    const { p, byHost } = texts([{ config: plain, slots: [free] }], [host('h1', V26, ready)]);
    expect(byHost.h1).toEqual(['set server be/web5 state maint']);
    expect(p.drift[0]).toMatchObject({ kind: 'leftover-server', expected: 'absent' });
  });

  it('waits while it has sessions, deleting nothing', () => {
    const { p } = texts([{ config: plain, slots: [free] }], [host('h1', V26, obs('web5', { sessions: 2 }))]);
    expect(p.batches).toEqual([]);
    expect(p.drift[0]).toMatchObject({ kind: 'blocked-by-sessions', actual: '127.0.0.21:8080 with 2 sessions' });
  });

  it('deletes it in MAINT without sessions: plain del server on 2.6, after wait srv-removable on 3.0+', () => {
    const { byHost } = texts(
      [{ config: plain, slots: [free] }],
      [host('h1', V26, obs('web5')), host('h2', V32, obs('web5'))],
    );
    expect(byHost.h1).toEqual(['del server be/web5']);
    expect(byHost.h2).toEqual(['wait 1000ms srv-removable be/web5', 'del server be/web5']);
  });

  it('leaves a free dynamic slot alone where it is already gone', () => {
    const { p } = texts([{ config: plain, slots: [free] }], [host('h1', V26)]);
    expect(p).toMatchObject({ batches: [], drift: [] });
  });

  it('never deletes a free template slot: it is parked in MAINT', () => {
    const template = rec('web1', 'free', { dynamic: undefined });
    const ready = obs('web1', { admin: 'ready', status: 'UP', statusWord: 'UP' });
    const { byHost } = texts([{ config: plain, slots: [template] }], [host('h1', V32, ready)]);
    expect(byHost.h1).toEqual(['set server be/web1 state maint']);
    const parked = texts([{ config: plain, slots: [template] }], [host('h1', V32, obs('web1'))]);
    expect(parked.p.batches).toEqual([]);
  });
});
