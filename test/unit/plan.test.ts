// Planner behaviour, table by table: exact command texts per host, the drift reported and the slot transitions.
import { describe, expect, it } from 'vitest';
import type { HostObservation, LifecycleRef, ObservedSlot, SlotRecord } from '../../functions/lib/domain.js';
import {
  checkPassing,
  type DesiredBackend,
  type Drift,
  naturalCompare,
  type PlanInput,
  plan,
} from '../../functions/lib/plan.js';

const NOW = 1_700_000_000_000;
const IP = '127.0.0.11';
const lifecycle: LifecycleRef = { token: 'tok-1', hookName: 'drain-hook', asgName: 'web-asg', instanceId: 'i-0abc' };

const plain = { name: 'be', slotPrefix: 'web', healthGate: undefined };
const gated = { ...plain, healthGate: { enabled: true, timeoutSeconds: 60 } };

function rec(slot: string, state: SlotRecord['state'], extra: Partial<SlotRecord> = {}): SlotRecord {
  return { backend: 'be', slot, state, version: 3, ...extra };
}
function active(slot: string, extra: Partial<SlotRecord> = {}): SlotRecord {
  return rec(slot, 'active', { member: 'i-0abc', address: IP, port: 8080, weight: 5, ...extra });
}
function draining(slot: string, extra: Partial<SlotRecord> = {}): SlotRecord {
  return rec(slot, 'draining', {
    member: 'i-0abc',
    address: IP,
    port: 8080,
    weight: 5,
    drainDeadline: NOW + 60_000,
    lifecycle,
    ...extra,
  });
}

/** A template slot as HAProxy starts it: placeholder address, MAINT, weight 1. */
function obs(server: string, extra: Partial<ObservedSlot> = {}): ObservedSlot {
  return {
    backend: 'be',
    server,
    address: '127.0.0.1',
    port: 9,
    admin: 'maint',
    weight: 1,
    sessions: 0,
    status: 'MAINT',
    statusWord: 'MAINT',
    checkStatus: '',
    hasCheck: false,
    ...extra,
  };
}
/** Observed as the table wants an active slot without health checks. */
function live(server: string, extra: Partial<ObservedSlot> = {}): ObservedSlot {
  return obs(server, {
    address: IP,
    port: 8080,
    admin: 'ready',
    weight: 5,
    status: 'no check',
    statusWord: 'no check',
    ...extra,
  });
}
function host(name: string, ...slots: ObservedSlot[]): HostObservation {
  return { host: name, ok: true, backends: new Map([['be', slots]]) };
}
function down(name: string): HostObservation {
  return { host: name, ok: false, error: { code: 'HOST_UNREACHABLE', message: `${name}: connect ECONNREFUSED` } };
}
function d(h: string, slot: string, kind: Drift['kind'], expected?: string, actual?: string): Drift {
  return {
    host: h,
    backend: 'be',
    slot,
    kind,
    ...(expected === undefined ? {} : { expected }),
    ...(actual === undefined ? {} : { actual }),
  };
}
const cmd = (slot: string, rest: string) => `set server be/${slot} ${rest}`;

interface Case {
  name: string;
  desired: DesiredBackend[];
  observed: HostObservation[];
  now?: number;
  batches: Record<string, string[]>;
  drift: Drift[];
  released?: { slot: string; reason: 'drained' | 'deadline' }[];
}

const cases: Case[] = [
  {
    name: 're-programs a slot a restarted host reset to the placeholder',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [host('h1', live('web1')), host('h2', obs('web1'))],
    batches: { h2: [cmd('web1', `addr ${IP} port 8080`), cmd('web1', 'weight 5'), cmd('web1', 'state ready')] },
    drift: [d('h2', 'web1', 'address', `${IP}:8080`, '127.0.0.1:9')],
  },
  {
    name: 're-programs a slot a reload left ready on the placeholder IP with the right port (maint first)',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [host('h1', live('web1', { address: '127.0.0.1' }))],
    batches: { h1: [cmd('web1', 'state maint'), cmd('web1', `addr ${IP} port 8080`), cmd('web1', 'state ready')] },
    drift: [d('h1', 'web1', 'address', `${IP}:8080`, '127.0.0.1:8080')],
  },
  {
    name: 'fixes the weight of an active slot without touching anything else',
    desired: [{ config: plain, slots: [active('web1', { weight: 50 })] }],
    observed: [host('h1', live('web1'))],
    batches: { h1: [cmd('web1', 'weight 50')] },
    drift: [d('h1', 'web1', 'weight', '50', '5')],
  },
  {
    name: 'brings an active slot that is in maint back to ready',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [host('h1', live('web1', { admin: 'maint', status: 'MAINT', statusWord: 'MAINT' }))],
    batches: { h1: [cmd('web1', 'state ready')] },
    drift: [d('h1', 'web1', 'admin', 'ready', 'maint')],
  },
  {
    name: 'brings an active slot that is draining back to ready when the backend has no health gate',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [host('h1', live('web1', { admin: 'drain', status: 'DRAIN', statusWord: 'DRAIN' }))],
    batches: { h1: [cmd('web1', 'state ready')] },
    drift: [d('h1', 'web1', 'admin', 'ready', 'drain')],
  },
  {
    name: 'gates a new slot behind its first passing check: maint → addr → drain',
    desired: [{ config: gated, slots: [active('web1')] }],
    observed: [host('h1', obs('web1', { hasCheck: true }))],
    batches: { h1: [cmd('web1', `addr ${IP} port 8080`), cmd('web1', 'weight 5'), cmd('web1', 'state drain')] },
    drift: [d('h1', 'web1', 'address', `${IP}:8080`, '127.0.0.1:9')],
  },
  {
    name: 'keeps a gated slot in drain while its first check has not passed',
    desired: [{ config: gated, slots: [active('web1')] }],
    observed: [
      host(
        'h1',
        live('web1', { admin: 'drain', hasCheck: true, status: 'DRAIN 1/3', statusWord: 'DRAIN', checkStatus: 'INI' }),
      ),
    ],
    batches: {},
    drift: [d('h1', 'web1', 'awaiting-health', 'passing check', 'DRAIN 1/3, check INI')],
  },
  {
    name: 'keeps a gated slot out of traffic while its check fails (DOWN)',
    desired: [{ config: gated, slots: [active('web1')] }],
    observed: [
      host(
        'h1',
        live('web1', { admin: 'drain', hasCheck: true, status: 'DOWN', statusWord: 'DOWN', checkStatus: 'L4CON' }),
      ),
    ],
    batches: {},
    drift: [d('h1', 'web1', 'awaiting-health', 'passing check', 'DOWN, check L4CON')],
  },
  {
    name: 'lets a gated slot into traffic once its check passes',
    desired: [{ config: gated, slots: [active('web1')] }],
    observed: [
      host(
        'h1',
        live('web1', { admin: 'drain', hasCheck: true, status: 'DRAIN', statusWord: 'DRAIN', checkStatus: 'L7OK' }),
      ),
    ],
    batches: { h1: [cmd('web1', 'state ready')] },
    drift: [d('h1', 'web1', 'admin', 'ready', 'drain')],
  },
  {
    name: 'sends a gated slot found in maint to drain, not ready',
    desired: [{ config: gated, slots: [active('web1')] }],
    observed: [host('h1', live('web1', { admin: 'maint', hasCheck: true, status: 'MAINT', statusWord: 'MAINT' }))],
    batches: { h1: [cmd('web1', 'state drain')] },
    drift: [d('h1', 'web1', 'admin', 'drain', 'maint')],
  },
  {
    name: 'does not gate a slot whose server has no health check',
    desired: [{ config: gated, slots: [active('web1')] }],
    observed: [host('h1', obs('web1'))],
    batches: { h1: [cmd('web1', `addr ${IP} port 8080`), cmd('web1', 'weight 5'), cmd('web1', 'state ready')] },
    drift: [d('h1', 'web1', 'address', `${IP}:8080`, '127.0.0.1:9')],
  },
  {
    name: 'does not gate when the backend turned its health gate off',
    desired: [{ config: { ...plain, healthGate: { enabled: false, timeoutSeconds: 60 } }, slots: [active('web1')] }],
    observed: [
      host(
        'h1',
        live('web1', { admin: 'drain', hasCheck: true, status: 'DRAIN', statusWord: 'DRAIN', checkStatus: 'INI' }),
      ),
    ],
    batches: { h1: [cmd('web1', 'state ready')] },
    drift: [d('h1', 'web1', 'admin', 'ready', 'drain')],
  },
  {
    name: 'never re-addresses a slot with sessions; drains it instead',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [host('h1', live('web1', { address: '127.0.0.12', sessions: 3 }))],
    batches: { h1: [cmd('web1', 'state drain')] },
    drift: [d('h1', 'web1', 'blocked-by-sessions', `${IP}:8080`, '127.0.0.12:8080 with 3 sessions')],
  },
  {
    name: 'waits without commands while a wrongly addressed slot that is already draining still has sessions',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [
      host('h1', live('web1', { port: 8081, sessions: 1, admin: 'drain', status: 'DRAIN', statusWord: 'DRAIN' })),
    ],
    batches: {},
    drift: [d('h1', 'web1', 'blocked-by-sessions', `${IP}:8080`, `${IP}:8081 with 1 sessions`)],
  },
  {
    name: 'puts a free slot that is ready into maint without touching its address',
    desired: [{ config: plain, slots: [rec('web1', 'free')] }],
    observed: [host('h1', live('web1'))],
    batches: { h1: [cmd('web1', 'state maint')] },
    drift: [d('h1', 'web1', 'admin', 'maint', 'ready')],
  },
  {
    name: 'puts a free slot that is draining into maint and leaves free slots already in maint alone',
    desired: [{ config: plain, slots: [rec('web1', 'free'), rec('web2', 'free')] }],
    observed: [host('h1', live('web1', { admin: 'drain' }), obs('web2', { address: IP, port: 8080, sessions: 2 }))],
    batches: { h1: [cmd('web1', 'state maint')] },
    drift: [d('h1', 'web1', 'admin', 'maint', 'drain')],
  },
  {
    name: 'leaves a held slot alone, whatever the hosts report',
    desired: [
      {
        config: gated,
        slots: [
          rec('web1', 'held', { heldAdmin: 'maint', heldFrom: 'active', member: 'i-0abc', address: IP, port: 8080 }),
        ],
      },
    ],
    observed: [host('h1', live('web1', { address: '127.0.0.12', weight: 9 })), host('h2')],
    batches: {},
    drift: [],
  },
  {
    name: 'drains a leaving slot on the host that still has it ready',
    desired: [{ config: plain, slots: [draining('web1')] }],
    observed: [host('h1', live('web1', { admin: 'drain', sessions: 2 })), host('h2', live('web1', { sessions: 1 }))],
    batches: { h2: [cmd('web1', 'state drain')] },
    drift: [d('h2', 'web1', 'admin', 'drain', 'ready')],
  },
  {
    name: 'frees a draining slot once every host reports 0 sessions',
    desired: [{ config: plain, slots: [draining('web1')] }],
    observed: [host('h1', live('web1', { admin: 'drain' })), host('h2', live('web1', { admin: 'maint' }))],
    batches: { h1: [cmd('web1', 'state maint')] },
    drift: [],
    released: [{ slot: 'web1', reason: 'drained' }],
  },
  {
    name: 'frees a draining slot when its deadline passed even with sessions left',
    desired: [{ config: plain, slots: [draining('web1', { drainDeadline: NOW })] }],
    observed: [host('h1', live('web1', { admin: 'drain', sessions: 4 })), host('h2', live('web1', { sessions: 1 }))],
    batches: { h1: [cmd('web1', 'state maint')], h2: [cmd('web1', 'state maint')] },
    drift: [],
    released: [{ slot: 'web1', reason: 'deadline' }],
  },
  {
    name: 'waits for the deadline while a host is unreachable',
    desired: [{ config: plain, slots: [draining('web1')] }],
    observed: [host('h1', live('web1', { admin: 'drain' })), down('h2'), host('h3', live('web1'))],
    batches: { h3: [cmd('web1', 'state drain')] },
    drift: [d('h3', 'web1', 'admin', 'drain', 'ready')],
  },
  {
    name: 'finishes an expired drain on reachable hosts while another host is unreachable',
    desired: [{ config: plain, slots: [draining('web1', { drainDeadline: NOW - 1 })] }],
    observed: [down('h1'), host('h2', live('web1', { admin: 'drain', sessions: 2 }))],
    batches: { h2: [cmd('web1', 'state maint')] },
    drift: [],
    released: [{ slot: 'web1', reason: 'deadline' }],
  },
  {
    name: 'waits for the deadline while a host lacks the draining slot',
    desired: [{ config: plain, slots: [draining('web1')] }],
    observed: [host('h1', live('web1', { admin: 'drain' })), host('h2')],
    batches: {},
    drift: [d('h2', 'web1', 'missing-slot', 'draining')],
  },
  {
    name: 'puts a draining slot a restarted host lost into maint without re-addressing it',
    desired: [{ config: plain, slots: [draining('web1')] }],
    observed: [
      host('h1', live('web1', { admin: 'drain', sessions: 1 })),
      host('h2', obs('web1', { admin: 'ready', port: 8080 })),
    ],
    batches: { h2: [cmd('web1', 'state maint')] },
    drift: [d('h2', 'web1', 'address', `${IP}:8080`, '127.0.0.1:8080')],
  },
  {
    name: 'reports a slot a host lacks as missing and sends it nothing',
    desired: [{ config: plain, slots: [active('web1'), rec('web2', 'free')] }],
    observed: [host('h1', live('web1'))],
    batches: {},
    drift: [d('h1', 'web2', 'missing-slot', 'free')],
  },
  {
    name: 'reports servers named like slots but missing from the table, and ignores other servers',
    desired: [{ config: plain, slots: [rec('web1', 'free'), rec('web2', 'free')] }],
    observed: [
      host(
        'h1',
        obs('web1'),
        obs('web11', { admin: 'ready' }),
        obs('web2'),
        obs('backup1', { admin: 'ready' }),
        obs('webx'),
      ),
    ],
    batches: {},
    drift: [d('h1', 'web11', 'unknown-slot', undefined, '127.0.0.1:9')],
  },
  {
    name: 'sends nothing to an unreachable host and reports it',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [down('h1'), host('h2', live('web1'))],
    batches: {},
    drift: [],
  },
  {
    name: 'orders commands by slot in natural order (web2 before web10)',
    desired: [{ config: plain, slots: [rec('web10', 'free'), rec('web2', 'free'), rec('web1', 'free')] }],
    observed: [host('h1', live('web10'), live('web1'), live('web2'))],
    batches: { h1: [cmd('web1', 'state maint'), cmd('web2', 'state maint'), cmd('web10', 'state maint')] },
    drift: [
      d('h1', 'web1', 'admin', 'maint', 'ready'),
      d('h1', 'web2', 'admin', 'maint', 'ready'),
      d('h1', 'web10', 'admin', 'maint', 'ready'),
    ],
  },
  {
    name: 'treats an IPv6 address spelt differently from the host as the same address',
    desired: [{ config: plain, slots: [active('web1', { address: '2001:DB8:0::1' })] }],
    observed: [host('h1', live('web1', { address: '2001:db8::1' }))],
    batches: {},
    drift: [],
  },
  {
    name: 're-addresses, re-weights and gates a wrongly addressed idle slot in one ordered sequence',
    desired: [{ config: gated, slots: [active('web1', { weight: 7 })] }],
    observed: [
      host(
        'h1',
        live('web1', { address: '127.0.0.12', hasCheck: true, status: 'UP', statusWord: 'UP', checkStatus: 'L7OK' }),
      ),
    ],
    batches: {
      h1: [
        cmd('web1', 'state maint'),
        cmd('web1', `addr ${IP} port 8080`),
        cmd('web1', 'weight 7'),
        cmd('web1', 'state drain'),
      ],
    },
    drift: [d('h1', 'web1', 'address', `${IP}:8080`, '127.0.0.12:8080')],
  },
];

describe('plan', () => {
  it.each(cases)('$name', ({ desired, observed, now, batches, drift, released }) => {
    const result = plan({ desired, observed, now: now ?? NOW });
    const texts = Object.fromEntries(result.batches.map((b) => [b.host, b.commands.map((c) => c.text)]));
    expect(texts).toEqual(batches);
    expect(result.drift).toEqual(drift);
    const records = desired.flatMap((b) => b.slots);
    const expected = (released ?? []).map(({ slot, reason }) => {
      const r = records.find((x) => x.slot === slot) as SlotRecord;
      return {
        kind: 'release',
        backend: 'be',
        slot,
        member: r.member,
        version: r.version,
        reason,
        lifecycle: r.lifecycle,
      };
    });
    expect(result.transitions).toEqual(expected);
    expect(result.unreachable.map((u) => u.host)).toEqual(observed.filter((h) => !h.ok).map((h) => h.host));
  });

  it('keeps hosts in input order and backends in table order inside each batch', () => {
    const api = { name: 'api', slotPrefix: 'api', healthGate: undefined };
    const input: PlanInput = {
      desired: [
        { config: plain, slots: [rec('web1', 'free')] },
        { config: api, slots: [{ backend: 'api', slot: 'api1', state: 'free', version: 1 }] },
      ],
      observed: [
        { host: 'zz', ok: true, backends: new Map([['api', [obs('api1', { backend: 'api', admin: 'ready' })]]]) },
        {
          host: 'aa',
          ok: true,
          backends: new Map([
            ['api', [obs('api1', { backend: 'api', admin: 'ready' })]],
            ['be', [live('web1')]],
          ]),
        },
      ],
      now: NOW,
    };
    const result = plan(input);
    expect(result.batches.map((b) => [b.host, b.commands.map((c) => c.text)])).toEqual([
      ['zz', ['set server api/api1 state maint']],
      ['aa', ['set server be/web1 state maint', 'set server api/api1 state maint']],
    ]);
    expect(result.drift.map((x) => `${x.host} ${x.backend}/${x.slot} ${x.kind}`)).toEqual([
      'zz be/web1 missing-slot',
      'zz api/api1 admin',
      'aa be/web1 admin',
      'aa api/api1 admin',
    ]);
  });

  it('reports the unreachable host with its error code and message', () => {
    const result = plan({ desired: [{ config: plain, slots: [active('web1')] }], observed: [down('h1')], now: NOW });
    expect(result).toEqual({
      batches: [],
      drift: [],
      transitions: [],
      unreachable: [{ host: 'h1', code: 'HOST_UNREACHABLE', message: 'h1: connect ECONNREFUSED' }],
    });
  });

  it('omits the lifecycle from a release when the draining slot has none (webhook drain)', () => {
    const input = {
      desired: [{ config: plain, slots: [draining('web1', { lifecycle: undefined })] }],
      observed: [host('h1', obs('web1'))],
      now: NOW,
    };
    expect(plan(input).transitions).toEqual([
      { kind: 'release', backend: 'be', slot: 'web1', member: 'i-0abc', version: 3, reason: 'drained' },
    ]);
  });
});

describe('checkPassing', () => {
  it.each([
    ['L7OK', 'DRAIN', true],
    ['L7OKC', 'UP', true],
    ['L6OK', 'DRAIN', true],
    ['L4OK', 'UP', true],
    ['L7OK', 'DOWN', false],
    ['INI', 'DRAIN', false],
    ['L4CON', 'DOWN', false],
    ['L7STS', 'DRAIN', false],
    ['', 'MAINT', false],
  ])('check %s with status %s passes: %s', (checkStatus, statusWord, expected) => {
    expect(checkPassing(obs('web1', { checkStatus, statusWord, hasCheck: true }))).toBe(expected);
  });
});

describe('naturalCompare', () => {
  it('sorts numbered slot names by number and everything else by text', () => {
    expect(['web10', 'web2', 'api1', 'web1', 'web02', 'web'].sort(naturalCompare)).toEqual([
      'api1',
      'web',
      'web1',
      'web2',
      'web02',
      'web10',
    ]);
  });
});
