// Planner behaviour, table by table: exact command texts per host, the drift reported and the slot transitions.
import { describe, expect, it } from 'vitest';
import { type Command, setAddr, setState, setWeight } from '../../functions/lib/domain/commands.js';
import { naturalCompare } from '../../functions/lib/domain/natural-order.js';
import type { HostObservation, LifecycleRef, ObservedSlot, SlotRecord } from '../../functions/lib/domain/types.js';
import type { AdminState } from '../../functions/lib/domain/values.js';
import { checkPassing } from '../../functions/lib/plan/health.js';
import { plan, readdressKey } from '../../functions/lib/plan/plan.js';
import type { DesiredBackend, Drift, PlanInput } from '../../functions/lib/plan/types.js';

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
    // Started long enough ago for the fence to have passed, recently enough for no heartbeat to be due.
    drainStartedAt: NOW - 10_000,
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
/** A host running Debian 12's 2.6.12, where `set server addr` applies at once. */
function host(name: string, ...slots: ObservedSlot[]): HostObservation {
  return { host: name, ok: true, backends: new Map([['be', slots]]), version: '2.6.12-1+deb12u4' };
}
/** A host running 3.2, where `set server addr` applies asynchronously. */
function host32(name: string, ...slots: ObservedSlot[]): HostObservation {
  return { host: name, ok: true, backends: new Map([['be', slots]]), version: '3.2.26-1' };
}
function down(name: string): HostObservation {
  return { host: name, ok: false, error: { code: 'HOST_UNREACHABLE', message: `${name}: connect ECONNREFUSED` } };
}
/** A host that answered an earlier look of the invocation, `ago` ms before NOW, with these rows, and not this one. */
function gone(name: string, ago: number, ...lastSeen: ObservedSlot[]): HostObservation {
  return { ...down(name), lastSeen: new Map([['be', lastSeen]]), lastSeenAt: NOW - ago } as HostObservation;
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
const st = (slot: string, state: AdminState) => setState('be', slot, state);
const addr = (slot: string, address = IP, port = 8080) => setAddr('be', slot, address, port);
const wt = (slot: string, weight: number) => setWeight('be', slot, weight);

interface Case {
  name: string;
  desired: DesiredBackend[];
  observed: HostObservation[];
  now?: number;
  batches: Record<string, Command[]>;
  drift: Drift[];
  released?: { slot: string; kind: 'drain-finished' | 'drain-deadline' }[];
  readdressed?: string[];
}

const cases: Case[] = [
  {
    name: 're-programs a slot a restarted host reset to the placeholder',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [host('h1', live('web1')), host('h2', obs('web1'))],
    batches: { h2: [addr('web1'), wt('web1', 5), st('web1', 'ready')] },
    drift: [d('h2', 'web1', 'address', `${IP}:8080`, '127.0.0.1:9')],
  },
  {
    name: 'takes a slot a reload left ready on the wrong address to maint first, and re-addresses it only from there',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [host('h1', live('web1', { address: '127.0.0.1' }))],
    batches: { h1: [st('web1', 'maint')] },
    drift: [d('h1', 'web1', 'address', `${IP}:8080`, '127.0.0.1:8080')],
  },
  {
    name: 're-addresses and readies, in one batch, a slot that is in maint at the wrong address (2.6: addr is synchronous)',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [
      host('h1', live('web1', { address: '127.0.0.1', admin: 'maint', status: 'MAINT', statusWord: 'MAINT' })),
    ],
    batches: { h1: [addr('web1'), st('web1', 'ready')] },
    drift: [d('h1', 'web1', 'address', `${IP}:8080`, '127.0.0.1:8080')],
  },
  {
    name: 'sends only the address to a 3.x host (asynchronous addr): the admin change waits for a read-back',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [host32('h1', obs('web1'))],
    batches: { h1: [addr('web1'), wt('web1', 5)] },
    drift: [d('h1', 'web1', 'address', `${IP}:8080`, '127.0.0.1:9')],
  },
  {
    name: 'readies a 3.x slot once the read-back shows its new address',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [host32('h1', live('web1', { admin: 'maint', status: 'MAINT', statusWord: 'MAINT' }))],
    batches: { h1: [st('web1', 'ready')] },
    drift: [d('h1', 'web1', 'admin', 'ready', 'maint')],
  },
  {
    // A no-op there (`nothing changed`); on a worker a reload swapped in since, the ready never lands without it.
    name: 'puts the address in front of the ready of a 3.x slot the caller re-addressed in an earlier round',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [host32('h1', live('web1', { admin: 'maint', status: 'MAINT', statusWord: 'MAINT' }))],
    readdressed: [readdressKey('h1', 'be', 'web1')],
    batches: { h1: [addr('web1'), st('web1', 'ready')] },
    drift: [d('h1', 'web1', 'admin', 'ready', 'maint')],
  },
  {
    name: 'puts no address in front on 2.6, where the address and the state went out in one batch',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [host('h1', live('web1', { admin: 'maint', status: 'MAINT', statusWord: 'MAINT' }))],
    readdressed: [readdressKey('h1', 'be', 'web1')],
    batches: { h1: [st('web1', 'ready')] },
    drift: [d('h1', 'web1', 'admin', 'ready', 'maint')],
  },
  {
    name: 'treats a host of unknown version as asynchronous (one more round trip, never traffic to the old address)',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [{ host: 'h1', ok: true, backends: new Map([['be', [obs('web1')]]]) }],
    batches: { h1: [addr('web1'), wt('web1', 5)] },
    drift: [d('h1', 'web1', 'address', `${IP}:8080`, '127.0.0.1:9')],
  },
  {
    name: 'fixes the weight of an active slot without touching anything else',
    desired: [{ config: plain, slots: [active('web1', { weight: 50 })] }],
    observed: [host('h1', live('web1'))],
    batches: { h1: [wt('web1', 50)] },
    drift: [d('h1', 'web1', 'weight', '50', '5')],
  },
  {
    name: 'brings an active slot that is in maint back to ready',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [host('h1', live('web1', { admin: 'maint', status: 'MAINT', statusWord: 'MAINT' }))],
    batches: { h1: [st('web1', 'ready')] },
    drift: [d('h1', 'web1', 'admin', 'ready', 'maint')],
  },
  {
    name: 'brings an active slot that is draining back to ready when the backend has no health gate',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [host('h1', live('web1', { admin: 'drain', status: 'DRAIN', statusWord: 'DRAIN' }))],
    batches: { h1: [st('web1', 'ready')] },
    drift: [d('h1', 'web1', 'admin', 'ready', 'drain')],
  },
  {
    name: 'gates a new slot behind its first passing check: maint → addr → drain',
    desired: [{ config: gated, slots: [active('web1')] }],
    observed: [host('h1', obs('web1', { hasCheck: true }))],
    batches: { h1: [addr('web1'), wt('web1', 5), st('web1', 'drain')] },
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
    batches: { h1: [st('web1', 'ready')] },
    drift: [d('h1', 'web1', 'admin', 'ready', 'drain')],
  },
  {
    name: 'sends a gated slot found in maint to drain, not ready',
    desired: [{ config: gated, slots: [active('web1')] }],
    observed: [host('h1', live('web1', { admin: 'maint', hasCheck: true, status: 'MAINT', statusWord: 'MAINT' }))],
    batches: { h1: [st('web1', 'drain')] },
    drift: [d('h1', 'web1', 'admin', 'drain', 'maint')],
  },
  {
    name: 'does not gate a slot whose server has no health check',
    desired: [{ config: gated, slots: [active('web1')] }],
    observed: [host('h1', obs('web1'))],
    batches: { h1: [addr('web1'), wt('web1', 5), st('web1', 'ready')] },
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
    batches: { h1: [st('web1', 'ready')] },
    drift: [d('h1', 'web1', 'admin', 'ready', 'drain')],
  },
  {
    name: 'never re-addresses a slot with sessions (a move): maint first, so no new session arrives',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [host('h1', live('web1', { address: '127.0.0.12', sessions: 3 }))],
    batches: { h1: [st('web1', 'maint')] },
    drift: [d('h1', 'web1', 'blocked-by-sessions', `${IP}:8080`, '127.0.0.12:8080 with 3 sessions')],
  },
  {
    name: 'takes a wrongly addressed slot that drains with sessions to maint as well',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [
      host('h1', live('web1', { port: 8081, sessions: 1, admin: 'drain', status: 'DRAIN', statusWord: 'DRAIN' })),
    ],
    batches: { h1: [st('web1', 'maint')] },
    drift: [d('h1', 'web1', 'blocked-by-sessions', `${IP}:8080`, `${IP}:8081 with 1 sessions`)],
  },
  {
    name: 'waits without commands while a wrongly addressed slot in maint still has sessions',
    desired: [{ config: plain, slots: [active('web1')] }],
    observed: [
      host('h1', live('web1', { port: 8081, sessions: 1, admin: 'maint', status: 'MAINT', statusWord: 'MAINT' })),
    ],
    batches: {},
    drift: [d('h1', 'web1', 'blocked-by-sessions', `${IP}:8080`, `${IP}:8081 with 1 sessions`)],
  },
  {
    name: 'puts a free slot that is ready into maint without touching its address',
    desired: [{ config: plain, slots: [rec('web1', 'free')] }],
    observed: [host('h1', live('web1'))],
    batches: { h1: [st('web1', 'maint')] },
    drift: [d('h1', 'web1', 'admin', 'maint', 'ready')],
  },
  {
    name: 'puts a free slot that is draining into maint and leaves free slots already in maint alone',
    desired: [{ config: plain, slots: [rec('web1', 'free'), rec('web2', 'free')] }],
    observed: [host('h1', live('web1', { admin: 'drain' }), obs('web2', { address: IP, port: 8080, sessions: 2 }))],
    batches: { h1: [st('web1', 'maint')] },
    drift: [d('h1', 'web1', 'admin', 'maint', 'drain')],
  },
  {
    name: "keeps a held slot at the operator's admin state on every host (maint first when it points elsewhere)",
    desired: [
      {
        config: gated,
        slots: [
          rec('web1', 'held', {
            heldAdmin: 'maint',
            heldFrom: 'active',
            member: 'i-0abc',
            address: IP,
            port: 8080,
            weight: 5,
          }),
        ],
      },
    ],
    observed: [host('h1', live('web1', { address: '127.0.0.12', weight: 9 })), host('h2')],
    batches: { h1: [st('web1', 'maint')] },
    drift: [d('h1', 'web1', 'address', `${IP}:8080`, '127.0.0.12:8080'), d('h2', 'web1', 'missing-slot', 'held')],
  },
  {
    name: 'repairs a held slot on a host that missed the hold: drain there, weight as recorded, never ready',
    desired: [
      {
        config: gated,
        slots: [
          rec('web1', 'held', {
            heldAdmin: 'drain',
            heldFrom: 'active',
            member: 'i-0abc',
            address: IP,
            port: 8080,
            weight: 5,
          }),
        ],
      },
    ],
    observed: [host('h1', live('web1', { admin: 'drain' })), host('h2', live('web1', { weight: 9 }))],
    batches: { h2: [wt('web1', 5), st('web1', 'drain')] },
    drift: [d('h2', 'web1', 'weight', '5', '9'), d('h2', 'web1', 'admin', 'drain', 'ready')],
  },
  {
    name: 'drains a leaving slot on the host that still has it ready',
    desired: [{ config: plain, slots: [draining('web1')] }],
    observed: [host('h1', live('web1', { admin: 'drain', sessions: 2 })), host('h2', live('web1', { sessions: 1 }))],
    batches: { h2: [st('web1', 'drain')] },
    drift: [d('h2', 'web1', 'admin', 'drain', 'ready')],
  },
  {
    name: 'sends maint once every host reports 0 sessions, and frees the slot only when every host shows maint',
    desired: [{ config: plain, slots: [draining('web1')] }],
    observed: [host('h1', live('web1', { admin: 'drain' })), host('h2', live('web1', { admin: 'maint' }))],
    batches: { h1: [st('web1', 'maint')] },
    drift: [],
  },
  {
    name: 'frees a drained slot that every host shows in maint',
    desired: [{ config: plain, slots: [draining('web1')] }],
    observed: [host('h1', live('web1', { admin: 'maint' })), host('h2', live('web1', { admin: 'maint' }))],
    batches: {},
    drift: [],
    released: [{ slot: 'web1', kind: 'drain-finished' }],
  },
  {
    name: 'does not end a drain before the fence has passed, even with no session anywhere',
    desired: [{ config: plain, slots: [draining('web1', { drainStartedAt: NOW - 100 })] }],
    observed: [host('h1', live('web1', { admin: 'drain' }))],
    batches: {},
    drift: [],
  },
  {
    name: 'sends maint when the deadline passed even with sessions left',
    desired: [{ config: plain, slots: [draining('web1', { drainDeadline: NOW })] }],
    observed: [host('h1', live('web1', { admin: 'drain', sessions: 4 })), host('h2', live('web1', { sessions: 1 }))],
    batches: { h1: [st('web1', 'maint')], h2: [st('web1', 'maint')] },
    drift: [],
  },
  {
    name: 'frees a slot past its deadline once every host shows maint, sessions or not',
    desired: [{ config: plain, slots: [draining('web1', { drainDeadline: NOW })] }],
    observed: [host('h1', live('web1', { admin: 'maint', sessions: 4 })), host('h2', live('web1', { admin: 'maint' }))],
    batches: {},
    drift: [],
    released: [{ slot: 'web1', kind: 'drain-deadline' }],
  },
  {
    name: 'waits for the deadline while a host is unreachable',
    desired: [{ config: plain, slots: [draining('web1')] }],
    observed: [host('h1', live('web1', { admin: 'drain' })), down('h2'), host('h3', live('web1'))],
    batches: { h3: [st('web1', 'drain')] },
    drift: [d('h3', 'web1', 'admin', 'drain', 'ready')],
  },
  {
    name: 'finishes an expired drain on reachable hosts while another host is unreachable',
    desired: [{ config: plain, slots: [draining('web1', { drainDeadline: NOW - 1 })] }],
    observed: [down('h1'), host('h2', live('web1', { admin: 'drain', sessions: 2 }))],
    batches: { h2: [st('web1', 'maint')] },
    drift: [],
  },
  {
    name: 'frees an expired drain once the reachable hosts show maint while another host is unreachable',
    desired: [{ config: plain, slots: [draining('web1', { drainDeadline: NOW - 1 })] }],
    observed: [down('h1'), host('h2', live('web1', { admin: 'maint', sessions: 2 }))],
    batches: {},
    drift: [],
    released: [{ slot: 'web1', kind: 'drain-deadline' }],
  },
  {
    name: 'holds an expired drain while a host that showed the slot serving earlier in the invocation stops answering',
    desired: [{ config: plain, slots: [draining('web1', { drainDeadline: NOW - 1 })] }],
    observed: [gone('h1', 1_000, live('web1')), host('h2', live('web1', { admin: 'maint' }))],
    batches: {},
    drift: [],
  },
  {
    name: 'frees an expired drain once a host that stopped answering has been silent past lostHostMs (taken for gone)',
    desired: [{ config: plain, slots: [draining('web1', { drainDeadline: NOW - 1 })] }],
    observed: [gone('h1', 15_001, live('web1')), host('h2', live('web1', { admin: 'maint' }))],
    batches: {},
    drift: [],
    released: [{ slot: 'web1', kind: 'drain-deadline' }],
  },
  {
    name: 'frees an expired drain when a host that stopped answering had shown the slot in maint',
    desired: [{ config: plain, slots: [draining('web1', { drainDeadline: NOW - 1 })] }],
    observed: [gone('h1', 1_000, live('web1', { admin: 'maint' })), host('h2', live('web1', { admin: 'maint' }))],
    batches: {},
    drift: [],
    released: [{ slot: 'web1', kind: 'drain-deadline' }],
  },
  {
    name: 'keeps a leaving slot a host shows in maint there while another host’s silence makes the drain look unfinished',
    desired: [{ config: plain, slots: [draining('web1')] }],
    observed: [host('h1', live('web1', { admin: 'maint' })), down('h2'), host('h3', live('web1', { admin: 'drain' }))],
    batches: {},
    drift: [],
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
    batches: { h2: [st('web1', 'maint')] },
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
    batches: { h1: [st('web1', 'maint'), st('web2', 'maint'), st('web10', 'maint')] },
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
    name: 'moves a wrongly addressed idle gated slot in two rounds: maint, then addr + weight + drain (gate)',
    desired: [{ config: gated, slots: [active('web1', { weight: 7 })] }],
    observed: [
      host(
        'h1',
        live('web1', { address: '127.0.0.12', hasCheck: true, status: 'UP', statusWord: 'UP', checkStatus: 'L7OK' }),
        live('web2', { address: '127.0.0.12', hasCheck: true, admin: 'maint', status: 'MAINT', statusWord: 'MAINT' }),
      ),
    ],
    batches: { h1: [st('web1', 'maint')] },
    drift: [
      d('h1', 'web1', 'address', `${IP}:8080`, '127.0.0.12:8080'),
      d('h1', 'web2', 'unknown-slot', undefined, '127.0.0.12:8080'),
    ],
  },
  {
    name: 'second round of a move: from maint with no session, addr + weight + drain behind the gate',
    desired: [{ config: gated, slots: [active('web1', { weight: 7 })] }],
    observed: [
      host(
        'h1',
        live('web1', { address: '127.0.0.12', hasCheck: true, admin: 'maint', status: 'MAINT', statusWord: 'MAINT' }),
      ),
    ],
    batches: { h1: [addr('web1'), wt('web1', 7), st('web1', 'drain')] },
    drift: [d('h1', 'web1', 'address', `${IP}:8080`, '127.0.0.12:8080')],
  },
];

describe('plan', () => {
  it.each(cases)('$name', ({ desired, observed, now, batches, drift, released, readdressed }) => {
    const result = plan({ desired, observed, now: now ?? NOW, readdressed: new Set(readdressed) });
    expect(Object.fromEntries(result.batches.map((b) => [b.host, b.commands]))).toEqual(batches);
    expect(result.drift).toEqual(drift);
    const records = desired.flatMap((b) => b.slots);
    const expected = (released ?? []).map(({ slot, kind }) => {
      const r = records.find((x) => x.slot === slot) as SlotRecord;
      return { kind, backend: 'be', slot, member: r.member, version: r.version };
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
    expect(result.batches.map((b) => [b.host, b.commands])).toEqual([
      ['zz', [setState('api', 'api1', 'maint')]],
      ['aa', [st('web1', 'maint'), setState('api', 'api1', 'maint')]],
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

  it('asks for a heartbeat of a draining slot whose last heartbeat is a period old, and not before', () => {
    const policy = { heartbeatMs: 60_000 };
    const at = (heartbeatAt: number) => ({
      desired: [{ config: plain, slots: [draining('web1', { drainStartedAt: NOW - 120_000, heartbeatAt })] }],
      observed: [host('h1', live('web1', { admin: 'drain', sessions: 2 }))],
      now: NOW,
      policy,
    });
    expect(plan(at(NOW - 60_000)).transitions).toEqual([
      { kind: 'heartbeat-due', backend: 'be', slot: 'web1', member: 'i-0abc', version: 3 },
    ]);
    expect(plan(at(NOW - 59_999)).transitions).toEqual([]);
  });

  it('completes a handed-over launch once a quorum of hosts serves it, and times it out at its deadline', () => {
    const launch = { ...lifecycle, token: 'tok-launch' };
    const pending = (extra: Partial<SlotRecord>) => [
      { config: gated, slots: [active('web1', { launch, heartbeatAt: NOW, ...extra })] },
    ];
    const serving = live('web1', { hasCheck: true, status: 'UP', statusWord: 'UP', checkStatus: 'L7OK' });
    const waiting = live('web1', {
      hasCheck: true,
      admin: 'drain',
      status: 'DRAIN',
      statusWord: 'DRAIN',
      checkStatus: 'INI',
    });
    const ready = plan({
      desired: pending({ launchDeadline: NOW + 1 }),
      observed: [host('h1', serving), host('h2', serving)],
      now: NOW,
    });
    expect(ready.transitions.map((t) => t.kind)).toEqual(['launch-ready']);
    const partly = {
      desired: pending({ launchDeadline: NOW + 1 }),
      observed: [host('h1', serving), host('h2', waiting)],
      now: NOW,
    };
    expect(plan(partly).transitions).toEqual([]);
    expect(plan({ ...partly, policy: { quorum: 'majority' } }).transitions).toEqual([]);
    expect(plan({ ...partly, policy: { quorum: 'any' } }).transitions.map((t) => t.kind)).toEqual(['launch-ready']);
    const late = plan({ desired: pending({ launchDeadline: NOW }), observed: [host('h1', waiting)], now: NOW });
    expect(late.transitions.map((t) => t.kind)).toEqual(['launch-timeout']);
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
    // Right after MAINT the last result from before it can still show: not passing until the status settles.
    ['L7OK', 'UP 1/3', false],
    ['L7OK', 'DRAIN 1/3', false],
  ])('check %s with status %s passes: %s', (checkStatus, status, expected) => {
    const statusWord = status.split(' ')[0] ?? '';
    expect(checkPassing(obs('web1', { checkStatus, status, statusWord, hasCheck: true }))).toBe(expected);
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
