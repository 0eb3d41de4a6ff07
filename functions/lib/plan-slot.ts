// Planner, per-slot rules: what one host must be told about one slot, and what differs from the table. Pure.
import { isIPv6 } from 'node:net';
import type { ObservedSlot, SlotRecord } from './domain.js';
import { type Command, setAddr, setState, setWeight } from './haproxy/commands.js';
import type { Drift, DriftKind } from './plan.js';

/** Commands for one slot on one host, in the order they must run, and the drift that explains them. */
export interface SlotOutcome {
  readonly commands: readonly Command[];
  readonly drift: readonly Drift[];
}

/** Where a slot is, on which host: enough to build commands and drift for it. */
export interface SlotTarget {
  readonly host: string;
  readonly backend: string;
  readonly record: SlotRecord;
  readonly observed: ObservedSlot;
}

const PASSING = /^L[467]OK/;

/** A passing health check: `check_status` L4OK/L6OK/L7OK (L7OKC too) and HAProxy does not hold the server DOWN. */
export function checkPassing(o: ObservedSlot): boolean {
  return PASSING.test(o.checkStatus) && o.statusWord !== 'DOWN';
}

/** HAProxy prints IPv6 in canonical form; a record may not be (`2001:DB8:0::1`), and that must not re-address forever. */
export function canonicalAddress(address: string): string {
  return isIPv6(address) ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}

/** `ip:port` as operators read it (`[::1]:80` for IPv6), `none` when the server has no address. */
export function formatEndpoint(address: string | null | undefined, port: number | null | undefined): string {
  if (address == null) return 'none';
  return `${isIPv6(address) ? `[${address}]` : address}:${port ?? '?'}`;
}

function sameEndpoint(record: SlotRecord, o: ObservedSlot): boolean {
  return (
    o.address !== null &&
    record.address !== undefined &&
    canonicalAddress(record.address) === canonicalAddress(o.address) &&
    record.port === o.port
  );
}

function drift(t: SlotTarget, kind: DriftKind, expected: string, actual: string): Drift {
  return { host: t.host, backend: t.backend, slot: t.record.slot, kind, expected, actual };
}

const NOTHING: SlotOutcome = { commands: [], drift: [] };

/** A free slot carries no traffic: anything but MAINT goes to MAINT; its address is left as it is. */
export function planFree(t: SlotTarget): SlotOutcome {
  if (t.observed.admin === 'maint') return NOTHING;
  return {
    commands: [setState(t.backend, t.record.slot, 'maint')],
    drift: [drift(t, 'admin', 'maint', t.observed.admin)],
  };
}

/** An active slot: right address (never while sessions remain), right weight, then drain (gated) or ready. */
export function planActive(t: SlotTarget, gateEnabled: boolean): SlotOutcome {
  const { record: r, observed: o, backend: b } = t;
  if (r.member === undefined || r.address === undefined || r.port === undefined) return NOTHING;
  const gated = gateEnabled && o.hasCheck;
  const open = gated ? 'drain' : 'ready';
  const commands: Command[] = [];
  const weight = r.weight !== undefined && r.weight !== o.weight ? [setWeight(b, r.slot, r.weight)] : [];
  const expected = formatEndpoint(r.address, r.port);
  const actual = formatEndpoint(o.address, o.port);
  if (!sameEndpoint(r, o)) {
    if (o.sessions > 0) {
      // Moving the address would keep the old instance's sessions counted here; stop new traffic to it and wait instead.
      const stop = o.admin === 'ready' ? [setState(b, r.slot, 'drain')] : [];
      return {
        commands: stop,
        drift: [drift(t, 'blocked-by-sessions', expected, `${actual} with ${o.sessions} sessions`)],
      };
    }
    if (o.admin !== 'maint') commands.push(setState(b, r.slot, 'maint'));
    commands.push(setAddr(b, r.slot, r.address, r.port), ...weight, setState(b, r.slot, open));
    return { commands, drift: [drift(t, 'address', expected, actual)] };
  }
  const found: Drift[] = [];
  if (weight.length > 0) found.push(drift(t, 'weight', String(r.weight), String(o.weight)));
  commands.push(...weight);
  if (o.admin === 'maint') {
    commands.push(setState(b, r.slot, open));
    found.push(drift(t, 'admin', open, o.admin));
  } else if (o.admin === 'drain') {
    if (gated && !checkPassing(o)) {
      found.push(drift(t, 'awaiting-health', 'passing check', `${o.status}, check ${o.checkStatus || 'none'}`));
    } else {
      commands.push(setState(b, r.slot, 'ready'));
      found.push(drift(t, 'admin', 'ready', o.admin));
    }
  }
  return { commands, drift: found };
}

/** A draining slot: no new traffic (never re-addressed); MAINT on every host once the drain is over (`done`). */
export function planDraining(t: SlotTarget, done: boolean): SlotOutcome {
  const { record: r, observed: o, backend: b } = t;
  if (done) return o.admin === 'maint' ? NOTHING : { commands: [setState(b, r.slot, 'maint')], drift: [] };
  if (!sameEndpoint(r, o)) {
    // The host lost its state (restart): whatever it points at now is not the leaving instance; keep it out of traffic.
    if (o.admin === 'maint') return NOTHING;
    const d = drift(t, 'address', formatEndpoint(r.address, r.port), formatEndpoint(o.address, o.port));
    return { commands: [setState(b, r.slot, 'maint')], drift: [d] };
  }
  if (o.admin !== 'ready') return NOTHING;
  return { commands: [setState(b, r.slot, 'drain')], drift: [drift(t, 'admin', 'drain', o.admin)] };
}
