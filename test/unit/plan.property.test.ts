// Planner properties over arbitrary tables × observations: one plan converges, and no plan breaks the safety rules.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HostObservation, ObservedSlot, SlotRecord } from '../../functions/lib/domain/types.js';
import { ADMIN_STATES } from '../../functions/lib/domain/values.js';
import { renderCommand } from '../../functions/lib/haproxy/commands.js';
import { plan } from '../../functions/lib/plan/plan.js';
import type { DesiredBackend, PlanInput } from '../../functions/lib/plan/types.js';
import { applyPlan, SET_SERVER_GRAMMAR } from '../support/apply-plan.js';

const NOW = 1_700_000_000_000;
const RUNS = { numRuns: 600 };
const CONFIGS = [
  { name: 'be', slotPrefix: 'web' },
  { name: 'api', slotPrefix: 'api' },
] as const;

// Small pools so that generated observations often match the table, half-match it, or differ in one field.
const recordAddress = fc.constantFrom('127.0.0.11', '127.0.0.12', '2001:DB8::1');
const recordPort = fc.constantFrom(8080, 8081);
const weight = fc.constantFrom(0, 1, 5, 256);

function recordArb(backend: string, slot: string): fc.Arbitrary<SlotRecord> {
  const base = { backend, slot, version: 1 } as const;
  const member = fc.constantFrom('i-1', 'i-2');
  const lifecycle = fc.option(fc.constant({ token: 't', hookName: 'h', asgName: 'g', instanceId: 'i-1' }), {
    nil: undefined,
  });
  return fc.oneof(
    fc.constant<SlotRecord>({ ...base, state: 'free' }),
    fc
      .record({ member, address: recordAddress, port: recordPort, weight })
      .map((r): SlotRecord => ({ ...base, state: 'active', ...r })),
    fc
      .record({
        member,
        address: recordAddress,
        port: recordPort,
        weight,
        drainDeadline: fc.option(fc.constantFrom(NOW - 1_000, NOW, NOW + 1_000), { nil: undefined }),
        drainStartedAt: fc.option(fc.constantFrom(NOW - 10_000, NOW - 100), { nil: undefined }),
        lifecycle,
      })
      .map((r): SlotRecord => ({ ...base, state: 'draining', ...r })),
    fc
      .record({
        heldAdmin: fc.option(fc.constantFrom('drain', 'maint'), { nil: undefined }),
        member,
        address: recordAddress,
        port: recordPort,
        weight,
      })
      .map((r): SlotRecord => ({ ...base, state: 'held', heldFrom: 'active', ...r })),
  );
}

const desiredArb: fc.Arbitrary<DesiredBackend[]> = fc.subarray([...CONFIGS], { minLength: 1 }).chain((configs) =>
  fc.tuple(
    ...configs.map((c) =>
      fc.record({
        config: fc.record({
          name: fc.constant(c.name),
          slotPrefix: fc.constant(c.slotPrefix),
          healthGate: fc.option(fc.record({ enabled: fc.boolean(), timeoutSeconds: fc.constant(60) }), {
            nil: undefined,
          }),
        }),
        slots: fc
          .uniqueArray(fc.integer({ min: 1, max: 8 }), { maxLength: 6 })
          .chain((ns) => fc.tuple(...ns.map((n) => recordArb(c.name, `${c.slotPrefix}${n}`)))),
      }),
    ),
  ),
);

/** Half the time the host points the slot where the table does (as HAProxy prints it), so the converged paths get exercised. */
function endpointArb(record?: SlotRecord): fc.Arbitrary<{ address: string | null; port: number | null }> {
  const any = fc.record({
    address: fc.constantFrom('127.0.0.11', '127.0.0.12', '2001:db8::1', '127.0.0.1', null),
    port: fc.constantFrom(8080, 8081, 9, null),
  });
  if (record?.address === undefined || record.port === undefined) return any;
  return fc.oneof(any, fc.constant({ address: record.address.toLowerCase(), port: record.port }));
}

function observedArb(backend: string, server: string, record?: SlotRecord): fc.Arbitrary<ObservedSlot> {
  return fc
    .record({
      endpoint: endpointArb(record),
      admin: fc.constantFrom(...ADMIN_STATES),
      weight,
      sessions: fc.constantFrom(0, 0, 0, 1, 5),
      status: fc.constantFrom('UP', 'UP 1/3', 'DOWN', 'DOWN 1/2', 'DRAIN', 'DRAIN 1/3', 'MAINT', 'NOLB', 'no check'),
      checkStatus: fc.constantFrom('', 'INI', 'L4OK', 'L6OK', 'L7OK', 'L7OKC', 'L4CON', 'L7STS'),
      hasCheck: fc.boolean(),
    })
    .map(({ endpoint, ...o }) => ({
      ...o,
      ...endpoint,
      backend,
      server,
      statusWord: o.status.startsWith('no check') ? 'no check' : (o.status.split(' ')[0] ?? ''),
    }));
}

function hostArb(desired: readonly DesiredBackend[]): fc.Arbitrary<Omit<HostObservation, 'host'>> {
  const unreachable = fc.constant({ ok: false as const, error: { code: 'HOST_TIMEOUT', message: 'timed out' } });
  // 2.6 applies `set server addr` at once, 3.x asynchronously: both planning paths get exercised.
  const version = fc.constantFrom('2.6.12-1+deb12u4', '3.2.26-1');
  const perBackend = desired.map((b) => {
    const p = b.config.slotPrefix;
    const extras = fc.subarray([`${p}9`, `${p}12`, 'backup1']);
    const known = fc.tuple(
      ...b.slots.map((r) => fc.option(observedArb(b.config.name, r.slot, r), { nil: undefined, freq: 6 })),
    );
    const servers = fc
      .tuple(known, extras)
      .chain(([k, x]) =>
        fc
          .tuple(...x.map((n) => observedArb(b.config.name, n)))
          .map((xs) => [...k.filter((o) => o !== undefined), ...xs]),
      );
    return fc.option(
      servers.map((s) => [b.config.name, s] as const),
      { nil: undefined, freq: 8 },
    );
  });
  const reachable = fc.tuple(version, ...perBackend).map(([v, ...entries]) => ({
    ok: true as const,
    version: v,
    backends: new Map(entries.filter((e) => e !== undefined)),
  }));
  return fc.oneof({ weight: 1, arbitrary: unreachable }, { weight: 4, arbitrary: reachable });
}

const inputArb: fc.Arbitrary<PlanInput> = desiredArb.chain((desired) =>
  fc.array(hostArb(desired), { minLength: 1, maxLength: 3 }).map((hosts) => ({
    desired,
    observed: hosts.map((h, i) => ({ ...h, host: `h${i + 1}` }) as HostObservation),
    now: NOW,
  })),
);

function observedSlot(input: PlanInput, host: string, backend: string, server: string): ObservedSlot | undefined {
  const h = input.observed.find((x) => x.host === host);
  return h?.ok ? h.backends.get(backend)?.find((o) => o.server === server) : undefined;
}

describe('plan properties', () => {
  it('converges within four rounds (maint, addr, admin, release): then no commands and no transitions', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        let world = input;
        for (let round = 0; round < 4; round++) world = applyPlan(world, plan(world));
        const next = plan(world);
        expect(next.batches).toEqual([]);
        expect(next.transitions).toEqual([]);
      }),
      RUNS,
    );
  });

  it('sends addr only for a slot the host shows in maint with no session (no slot with sessions is re-addressed)', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        for (const b of plan(input).batches) {
          for (const c of b.commands) {
            if (c.kind !== 'set-addr') continue;
            const o = observedSlot(input, b.host, c.backend, c.server);
            expect([o?.admin, o?.sessions]).toEqual(['maint', 0]);
          }
        }
      }),
      RUNS,
    );
  });

  it('never readies a held or draining slot, and never re-addresses a draining one', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const states = new Map(input.desired.flatMap((b) => b.slots.map((r) => [`${r.backend}/${r.slot}`, r.state])));
        for (const b of plan(input).batches) {
          for (const c of b.commands) {
            if (!('server' in c)) continue;
            const state = states.get(`${c.backend}/${c.server}`);
            if (state === 'held' || state === 'draining')
              expect(c.kind === 'set-state' && c.state === 'ready').toBe(false);
            if (state === 'draining') expect(c.kind).not.toBe('set-addr');
          }
        }
      }),
      RUNS,
    );
  });

  it('emits only builder-grammar commands, in allowed per-slot sequences, to reachable hosts only', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const p = plan(input);
        const reachable = input.observed.filter((h) => h.ok).map((h) => h.host);
        expect(p.batches.map((b) => b.host)).toEqual(reachable.filter((h) => p.batches.some((b) => b.host === h)));
        for (const b of p.batches) {
          expect(b.commands.length).toBeGreaterThan(0);
          const perSlot = new Map<string, string[]>();
          for (const c of b.commands) {
            expect(renderCommand(c)).toMatch(SET_SERVER_GRAMMAR);
            if (!('server' in c)) throw new Error(`planner sent a read: ${c.kind}`);
            const step = c.kind === 'set-state' ? c.state : c.kind;
            perSlot.set(`${c.backend}/${c.server}`, [...(perSlot.get(`${c.backend}/${c.server}`) ?? []), step]);
          }
          // The only multi-step sequences: weight → state, and addr → [weight →] [drain|ready] (from maint only).
          for (const steps of perSlot.values())
            expect(steps.join(' ')).toMatch(
              /^(?:set-weight|(?:set-weight )?(?:ready|drain|maint)|set-addr(?: set-weight)?(?: (?:ready|drain))?)$/,
            );
        }
      }),
      RUNS,
    );
  });
});
