// Planner, per dynamic slot and host: add the server where a member's slot is missing, delete it where nobody holds the
// slot any more (docs/ARCHITECTURE.md, "Growth"). Pure; the rest of a present slot is slot-rules.ts's business.
import { addServer, type Command, delServer, enableHealth, setState, waitRemovable } from '../domain/commands.js';
import type { HostTarget } from '../domain/host-target.js';
import { checksHealth, type ServerOptions } from '../domain/server-options.js';
import type { ObservedSlot, SlotRecord } from '../domain/types.js';
import { formatEndpoint } from '../domain/values.js';
import { planSlotOnHost, type SlotOutcome } from './slot-rules.js';
import type { Drift } from './types.js';

/** A dynamic slot on one host, as the planner sees it. */
export interface DynamicOnHost {
  readonly host: string;
  readonly backend: string;
  readonly record: SlotRecord;
  readonly target: HostTarget;
  readonly options: ServerOptions;
  readonly asyncAddr: boolean;
  /** The host has `wait … srv-removable` (3.0+), with this budget; undefined: it has not. */
  readonly removeWaitMs?: number;
}

/**
 * The member's slot is missing on this host (a reload dropped it, or growth just claimed it): `add server` at the
 * member's address with the slot's weight and the backend's options — HAProxy adds it in MAINT with checks off — then
 * `enable health` when it checks, then the usual gate from MAINT (drain until the first passing check, or ready).
 */
export function addOnHost(t: DynamicOnHost): SlotOutcome {
  const { backend: b, record, target } = t;
  const endpoint = target.endpoint;
  if (!endpoint) return { commands: [], drift: [] };
  const check = checksHealth(t.options);
  const weight = target.weight ?? record.weight ?? 1;
  const commands: Command[] = [
    addServer(b, record.slot, endpoint.address, endpoint.port, weight, t.options),
    ...(check ? [enableHealth(b, record.slot)] : []),
  ];
  // The new server exists once `add server` answers (the address is set at creation, not by the async `addr` path):
  // carry on as a host that shows it in MAINT at the member with no check result yet.
  const added: ObservedSlot = {
    backend: b,
    server: record.slot,
    address: endpoint.address,
    port: endpoint.port,
    admin: 'maint',
    weight,
    sessions: 0,
    status: 'MAINT',
    statusWord: 'MAINT',
    checkStatus: '',
    hasCheck: check,
  };
  const rest = planSlotOnHost({ host: t.host, backend: b, record, observed: added, target, asyncAddr: t.asyncAddr });
  const drift: Drift = {
    host: t.host,
    backend: b,
    slot: record.slot,
    kind: 'missing-slot',
    expected: formatEndpoint(endpoint.address, endpoint.port),
    actual: 'absent',
  };
  return { commands: [...commands, ...rest.commands], drift: [drift] };
}

/**
 * Nobody holds the slot: the host's server goes to MAINT, and once it shows no session it is deleted (on 3.0+ after
 * `wait … srv-removable`, which lets a last idle connection go first). A server with sessions is never deleted.
 */
export function removeFromHost(t: DynamicOnHost, o: ObservedSlot): SlotOutcome {
  const { backend: b, record } = t;
  const at = formatEndpoint(o.address, o.port);
  const drift = (kind: Drift['kind'], actual: string): Drift => ({
    host: t.host,
    backend: b,
    slot: record.slot,
    kind,
    expected: 'absent',
    actual,
  });
  if (o.admin !== 'maint')
    return { commands: [setState(b, record.slot, 'maint')], drift: [drift('leftover-server', at)] };
  if (o.sessions > 0)
    return { commands: [], drift: [drift('blocked-by-sessions', `${at} with ${o.sessions} sessions`)] };
  const wait = t.removeWaitMs !== undefined ? [waitRemovable(b, record.slot, t.removeWaitMs)] : [];
  return { commands: [...wait, delServer(b, record.slot)], drift: [drift('leftover-server', at)] };
}
