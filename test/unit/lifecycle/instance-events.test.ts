// EC2 instance notices at the edge and in the pure rules: every documented shape parses to the notice it means, any
// payload yields a notice or a refusal (never a throw), and each notice's drain reason and deadline per backend.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BackendConfig, parseConfig } from '../../../functions/lib/config.js';
import { decide } from '../../../functions/lib/domain/lifecycle.js';
import { DRAIN_REASONS, RETIRING_REASONS, type SlotRecord } from '../../../functions/lib/domain/types.js';
import { type InstanceNotice, leavingFor } from '../../../functions/lib/services/instance-events.js';
import { instanceEventSchema, noticeOf } from '../../../functions/lifecycle/instance-events.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/events/${name}.json`, import.meta.url), 'utf8'));
const spot = fixture('spot-interruption');
const rebalance = fixture('rebalance-recommendation');
const state = fixture('instance-state-change');

const config = parseConfig({
  hosts: [{ name: 'h1', host: '127.0.0.1', port: 9999 }],
  backends: [
    { name: 'web', slotPrefix: 'web', port: 8080, drainSeconds: 300 },
    { name: 'fast', slotPrefix: 'fast', port: 8080, drainSeconds: 5, onRebalance: 'drain' },
  ],
});
const [web, fast] = config.backends as [BackendConfig, BackendConfig];
const NOW = Date.parse('2026-12-02T08:22:00Z');

describe('EC2 notices at the edge', () => {
  it('parses each documented shape to the notice it means (a Spot warning acts two minutes after its time)', () => {
    expect(noticeOf(instanceEventSchema.parse(spot))).toEqual({
      kind: 'spot-interruption',
      instanceId: 'i-1234567890abcdef0',
      action: 'terminate',
      actionAt: NOW + 120_000,
    });
    expect(noticeOf(instanceEventSchema.parse(rebalance))).toEqual({
      kind: 'rebalance',
      instanceId: 'i-1234567890abcdef0',
    });
    expect(noticeOf(instanceEventSchema.parse(state))).toEqual({
      kind: 'state-change',
      instanceId: 'i-1234567890abcdef0',
      state: 'terminated',
    });
  });

  it('refuses another source, an unknown detail-type, a bad instance id, action or state', () => {
    const bad = [
      { ...spot, source: 'aws.autoscaling' },
      { ...spot, 'detail-type': 'EC2 Instance Launch Successful' },
      { ...spot, detail: { 'instance-id': 'i-12;show info', 'instance-action': 'terminate' } },
      { ...spot, detail: { 'instance-id': 'i-1234567890abcdef0', 'instance-action': 'reboot' } },
      { ...state, detail: { 'instance-id': 'i-1234567890abcdef0', state: 'exploded' } },
      { ...rebalance, detail: {} },
      { ...spot, time: 'yesterday' },
    ];
    for (const event of bad) expect(instanceEventSchema.safeParse(event).success).toBe(false);
  });

  it('keeps working when AWS adds a field to a detail (the known ones are still checked)', () => {
    const more = { ...spot, detail: { ...spot.detail, 'new-field': 1 } };
    expect(noticeOf(instanceEventSchema.parse(more))).toMatchObject({ kind: 'spot-interruption' });
  });

  it('any payload is a notice with a clean instance id or a refusal, never a throw', () => {
    const value = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.constant(null),
      fc.object(),
      fc.constant('i-1234567890abcdef0'),
    );
    const fields = fc.constantFrom('instance-id', 'instance-action', 'state', 'source', 'detail-type', 'time');
    fc.assert(
      fc.property(fc.constantFrom(spot, rebalance, state), fields, value, (base, field, v) => {
        const event =
          field === 'source' || field === 'detail-type' || field === 'time'
            ? { ...base, [field]: v }
            : { ...base, detail: { ...base.detail, [field]: v } };
        const parsed = instanceEventSchema.safeParse(event);
        if (parsed.success) expect(noticeOf(parsed.data).instanceId).toMatch(/^i-[0-9a-f]{8,17}$/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('what a notice means per backend', () => {
  const id = 'i-1234567890abcdef0';
  it('maps every state change: a short drain while going, MAINT at once when gone, nothing when coming', () => {
    const of = (s: string, b = web) =>
      leavingFor({ kind: 'state-change', instanceId: id, state: s } as InstanceNotice, b, config, NOW);
    expect(of('stopping')).toEqual({ reason: 'instance-stopping', drainSeconds: 30 });
    expect(of('shutting-down')).toEqual({ reason: 'instance-terminating', drainSeconds: 30 });
    expect(of('shutting-down', fast)).toEqual({ reason: 'instance-terminating', drainSeconds: 5 });
    expect(of('stopped')).toEqual({ reason: 'instance-stopping', drainSeconds: 0 });
    expect(of('terminated')).toEqual({ reason: 'instance-terminating', drainSeconds: 0 });
    expect(of('running')).toBeUndefined();
    expect(of('pending')).toBeUndefined();
  });

  it('drains on a rebalance recommendation only where the backend says drain', () => {
    const notice: InstanceNotice = { kind: 'rebalance', instanceId: id };
    expect(leavingFor(notice, web, config, NOW)).toBeUndefined();
    expect(leavingFor(notice, fast, config, NOW)).toEqual({ reason: 'rebalance', drainSeconds: 5 });
  });

  it('ends a Spot drain inside the notice: never past the action time less the margin, never past drainSeconds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -200_000, max: 200_000 }),
        fc.constantFrom('terminate', 'stop', 'hibernate'),
        (offset, action) => {
          const actionAt = NOW + offset;
          const l = leavingFor(
            { kind: 'spot-interruption', instanceId: id, action, actionAt } as InstanceNotice,
            web,
            config,
            NOW,
          );
          expect(l?.reason).toBe(action === 'terminate' ? 'spot-interruption' : 'instance-stopping');
          const seconds = l?.drainSeconds ?? -1;
          expect(l?.notAfter).toBe(actionAt - config.lifecycle.spotMarginSeconds * 1000);
          expect(seconds).toBeGreaterThanOrEqual(0);
          expect(seconds).toBeLessThanOrEqual(web.drainSeconds);
          if (actionAt - config.lifecycle.spotMarginSeconds * 1000 >= NOW)
            expect(NOW + seconds * 1000).toBeLessThanOrEqual(actionAt - config.lifecycle.spotMarginSeconds * 1000);
          else expect(seconds).toBe(0);
        },
      ),
    );
  });
});

describe('the notices in the machine', () => {
  const active: SlotRecord = {
    backend: 'web',
    slot: 'web1',
    state: 'active',
    version: 3,
    member: 'i-1234567890abcdef0',
    address: '10.0.0.5',
    port: 8080,
    weight: 1,
    owner: 'asg',
  };
  it('retires the member for every reason that means the instance is gone for good, and only for those', () => {
    for (const reason of DRAIN_REASONS) {
      if (reason === 'deregister') continue;
      const d = decide(active, { kind: 'terminate', now: NOW, deadline: NOW + 1000, reason });
      expect(d.type).toBe('write');
      const retires = d.type === 'write' && d.effects.some((e) => e.kind === 'retire');
      expect([reason, retires]).toEqual([reason, RETIRING_REASONS.has(reason)]);
    }
  });

  it('hardens a stop into a termination, never the other way, and keeps the earliest deadline', () => {
    const stopping = { ...active, state: 'draining' as const, drainReason: 'instance-stopping' as const };
    const draining = { ...stopping, drainStartedAt: NOW, drainDeadline: NOW + 30_000 };
    const gone = decide(draining, {
      kind: 'terminate',
      now: NOW + 1,
      deadline: NOW + 1,
      reason: 'instance-terminating',
    });
    expect(gone).toMatchObject({
      type: 'write',
      patch: { set: { drainReason: 'instance-terminating', drainDeadline: NOW + 1 } },
    });
    expect(gone.type === 'write' && gone.effects.some((e) => e.kind === 'retire')).toBe(true);
    const terminating = { ...draining, drainReason: 'instance-terminating' as const };
    const later = decide(terminating, {
      kind: 'terminate',
      now: NOW + 2,
      deadline: NOW + 60_000,
      reason: 'instance-stopping',
    });
    // Nothing to change: same start, the earlier deadline and the stronger reason stay.
    expect(later.type).toBe('noop');
  });
});
