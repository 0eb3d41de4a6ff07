// Use case: a deploy tool's webhook — explicit member changes, or a backend's full desired member set.
import type { BackendConfig, ConfigDocument } from '../config.js';
import { addressPolicyOf, checkAddress, refusalOf } from '../domain/address-policy.js';
import { decide, type SlotEvent } from '../domain/lifecycle.js';
import { applyPatch } from '../domain/patch.js';
import type { Member, SlotRecord } from '../domain/types.js';
import {
  type AddressRefusal,
  AddressRefusedError,
  NoFreeSlotError,
  RequestRefusedError,
  SlotSyncError,
  ValidationError,
} from '../errors.js';
import { changeSlot } from './change-slot.js';
import type { HostSlotOutcome } from './converge.js';
import type { ServiceDeps } from './deps.js';
import { drainMember } from './drain.js';
import { registerMember } from './register.js';
import { seedMissing } from './seeding.js';

export type ChangeAction = 'register' | 'deregister' | 'drain' | 'ready' | 'maint' | 'weight';
export interface MemberChange {
  readonly action: ChangeAction;
  readonly backend: string;
  readonly member: Member;
  readonly weight?: number;
}
export type DeployRequest =
  | { readonly kind: 'changes'; readonly changes: readonly MemberChange[] }
  | { readonly kind: 'desired'; readonly backend: string; readonly members: readonly Member[] };

export type ChangeStatus =
  | 'applied'
  | 'moved'
  | 'awaiting-health'
  | 'draining'
  | 'released'
  | 'not-registered'
  | 'rolled-back'
  | 'partial'
  | 'refused'
  | 'not-attempted';

export interface ChangeResult {
  readonly action: ChangeAction;
  readonly backend: string;
  readonly member: string;
  readonly slot?: string;
  /**
   * `draining`: the drain goes on and reconcile frees the slot when sessions end or the deadline passes;
   * `refused`: the state changed between the check and this change (`error` says why); `not-attempted`: the request's
   * time budget ran out before this change (nothing of it was written).
   */
  readonly status: ChangeStatus;
  readonly error?: { readonly code: string; readonly message: string };
  readonly hosts: readonly { readonly host: string; readonly ok: boolean; readonly error?: string }[];
}

export interface DeployOutcome {
  readonly results: readonly ChangeResult[];
  /** True when not a single change was applied on any host and the table is as before (HTTP 502). */
  readonly nothingApplied: boolean;
}

type Config = Pick<ConfigDocument, 'backends' | 'timeouts' | 'lifecycle' | 'quorum' | 'allowLoopback'>;

/**
 * Applies a webhook request. Every change is checked against the lifecycle machine (and the slot capacity) before the
 * first write, in order, as if the earlier ones had applied: a request with a refused change is refused whole (409)
 * and changes nothing. Then the changes run in order, each only while the request's time budget allows a full round.
 */
export async function applyDeploy(
  request: DeployRequest,
  config: Config,
  deps: ServiceDeps,
  budget: { readonly until: number },
): Promise<DeployOutcome> {
  const backends = new Map(config.backends.map((b) => [b.name, b]));
  checkBackends(request, backends);
  checkAddresses(request, backends, config);
  const records = await currentRecords(request, backends, deps);
  const changes = request.kind === 'changes' ? request.changes : desiredToChanges(request, records);
  precheck(changes, records, backends);
  const results: ChangeResult[] = [];
  // A change needs at least one full round trip to every host; starting one that cannot finish would be a partial write.
  const reserve = config.timeouts.commandMs;
  for (const change of changes) {
    if (deps.clock.now() + reserve > budget.until) {
      results.push({ ...base(change), status: 'not-attempted', hosts: [] });
      continue;
    }
    const single = changes.length === 1;
    results.push(await applyOne(change, backends.get(change.backend) as BackendConfig, config, deps, budget, single));
  }
  const nothingApplied = results.length > 0 && results.every(nothing);
  return { results, nothingApplied };
}

/**
 * Whether the change left the table as it was: rolled back, never tried, or refused. A change the table recorded is not
 * "nothing" even when no host took it (a deregister's drain, a hold, a weight): the record stands and reconcile
 * converges the hosts, so a 502 ("unchanged, retry") would be false (ARCHITECTURE.md, invariant 7).
 */
function nothing(r: ChangeResult): boolean {
  return r.status === 'rolled-back' || r.status === 'not-attempted' || r.status === 'refused';
}

function checkBackends(request: DeployRequest, backends: ReadonlyMap<string, BackendConfig>): void {
  const names = request.kind === 'changes' ? request.changes.map((c) => c.backend) : [request.backend];
  const issues = names
    .map((b, i) => ({ b, i }))
    .filter(({ b }) => !backends.has(b))
    .map(({ b, i }) => ({
      path: request.kind === 'changes' ? ['changes', i, 'backend'] : ['backend'],
      message: `no backend ${b} in the config`,
    }));
  if (issues.length > 0) throw new ValidationError('unknown backend', issues);
}

/**
 * Every address the request would point a slot at (registers, desired members) against its backend's address policy,
 * before anything is read or written: one refusal per address, and a request with any is refused whole (400).
 */
function checkAddresses(request: DeployRequest, backends: ReadonlyMap<string, BackendConfig>, config: Config): void {
  const entering =
    request.kind === 'changes'
      ? request.changes.flatMap((c, index) =>
          c.action === 'register'
            ? [{ index, backend: c.backend, member: c.member, path: ['changes', index, 'member', 'address'] }]
            : [],
        )
      : request.members.map((member, index) => ({
          index,
          backend: request.backend,
          member,
          path: ['members', index, 'address'],
        }));
  const refusals: AddressRefusal[] = [];
  for (const { index, backend, member, path } of entering) {
    const verdict = checkAddress(member.address, addressPolicyOf(config, backends.get(backend) as BackendConfig));
    if (!verdict.ok) refusals.push(refusalOf({ index, path, backend, member: member.id }, member.address, verdict));
  }
  if (refusals.length > 0) throw new AddressRefusedError(refusals);
}

/** Every slot of the backends the request touches (seeded from the hosts first if the table has never seen them). */
async function currentRecords(
  request: DeployRequest,
  backends: ReadonlyMap<string, BackendConfig>,
  deps: ServiceDeps,
): Promise<Map<string, SlotRecord[]>> {
  const names = new Set(request.kind === 'changes' ? request.changes.map((c) => c.backend) : [request.backend]);
  const out = new Map<string, SlotRecord[]>();
  await Promise.all(
    [...names].map(async (name) => {
      const { slots } = await seedMissing(backends.get(name) as BackendConfig, deps);
      out.set(name, [...slots]);
    }),
  );
  return out;
}

/**
 * A desired set becomes: register everyone listed (a listed member at a new address is moved), deregister every
 * member a deploy tool registered that is not listed. Members the Auto Scaling path owns are never touched.
 */
function desiredToChanges(
  request: Extract<DeployRequest, { kind: 'desired' }>,
  records: ReadonlyMap<string, SlotRecord[]>,
): MemberChange[] {
  const slots = records.get(request.backend) ?? [];
  const wanted = new Map(request.members.map((m) => [m.id, m]));
  const changes: MemberChange[] = [];
  for (const s of slots) {
    if (!s.member || s.state === 'free' || s.state === 'draining' || wanted.has(s.member)) continue;
    if (ownerOf(s) !== 'webhook' || s.address === undefined || s.port === undefined) continue;
    changes.push({
      action: 'deregister',
      backend: request.backend,
      member: { id: s.member, address: s.address, port: s.port },
    });
  }
  for (const m of request.members) {
    const has = slots.find((s) => s.member === m.id);
    const same = has && has.address === m.address && has.port === m.port && has.state !== 'draining';
    if (!same) changes.push({ action: 'register', backend: request.backend, member: m });
  }
  return changes;
}

/** Records written before owners were recorded: instance ids came from the Auto Scaling path. */
function ownerOf(r: SlotRecord): 'asg' | 'webhook' {
  return r.owner ?? (r.member?.startsWith('i-') ? 'asg' : 'webhook');
}

function eventOf(change: MemberChange, now: number): SlotEvent {
  switch (change.action) {
    case 'register':
      return { kind: 'register', member: change.member };
    case 'deregister':
      return { kind: 'deregister', now, deadline: now };
    case 'drain':
    case 'maint':
      return { kind: 'hold', admin: change.action };
    case 'ready':
      return { kind: 'ready' };
    case 'weight':
      return { kind: 'weight', weight: change.weight as number };
  }
}

/**
 * Runs every change through the machine on an in-memory copy of the records, in order, so a batch that registers and
 * then weights a member checks out. Any refusal refuses the request (409) before anything is written; so does a set of
 * new members larger than the free slots.
 */
function precheck(
  changes: readonly MemberChange[],
  records: ReadonlyMap<string, SlotRecord[]>,
  backends: ReadonlyMap<string, BackendConfig>,
): void {
  const model = new Map([...records].map(([b, slots]) => [b, slots.map((s) => ({ ...s }))]));
  const refusals: { index: number; code: string; message: string }[] = [];
  let firstError: SlotSyncError | undefined;
  changes.forEach((change, index) => {
    const slots = model.get(change.backend) ?? [];
    const at = slots.findIndex((s) => s.member === change.member.id);
    const decision = decide(at === -1 ? undefined : slots[at], eventOf(change, 0));
    if (decision.type === 'refuse') {
      refusals.push({ index, code: decision.error.code, message: decision.error.message });
      firstError ??= decision.error;
    } else if (decision.type === 'claim') {
      const free = slots.findIndex((s) => s.state === 'free');
      if (free === -1) throw new NoFreeSlotError((backends.get(change.backend) as BackendConfig).name);
      const weight = (backends.get(change.backend) as BackendConfig).weight;
      const claim = decide(slots[free], { kind: 'claim', member: change.member, weight, owner: 'webhook' });
      if (claim.type === 'write') slots[free] = applyPatch(slots[free] as SlotRecord, claim.patch);
    } else if (decision.type === 'write' && at !== -1) {
      slots[at] = applyPatch(slots[at] as SlotRecord, decision.patch);
    }
  });
  // One change refused answers with its own status (404 for a member with no slot); a batch is refused as a whole.
  if (refusals.length > 0 && changes.length === 1 && firstError) throw firstError;
  if (refusals.length > 0) throw new RequestRefusedError(refusals);
}

function base(change: MemberChange) {
  return { action: change.action, backend: change.backend, member: change.member.id };
}

function hostsOf(hosts: readonly HostSlotOutcome[], okWhen: (h: HostSlotOutcome) => boolean) {
  return hosts.map((h) => ({ host: h.host, ok: okWhen(h), error: okWhen(h) ? undefined : h.error?.message }));
}

async function applyOne(
  change: MemberChange,
  backend: BackendConfig,
  config: Config,
  deps: ServiceDeps,
  budget: { readonly until: number },
  single: boolean,
): Promise<ChangeResult> {
  try {
    switch (change.action) {
      case 'register': {
        const r = await registerMember(
          { backend, member: change.member, owner: 'webhook', until: budget.until },
          config,
          deps,
        ).catch((error: unknown) => recordedAnyway(error, change, deps));
        if ('unconverged' in r) return unconvergedResult(change, r.slot, r.unconverged);
        const hosts = hostsOf(r.hosts, (h) => h.applied || h.awaitingHealth);
        const status: ChangeStatus = r.rolledBack
          ? 'rolled-back'
          : r.quorumMet
            ? r.answer === 'moved'
              ? 'moved'
              : 'applied'
            : r.health === 'waiting' || r.health === 'blocked'
              ? 'awaiting-health'
              : 'partial';
        return { ...base(change), slot: r.slot, status, hosts };
      }
      case 'deregister': {
        const leave = { kind: 'deregister' } as const;
        // The webhook may not complete lifecycle actions (its role cannot): a terminate's drain is left to finish.
        const input = { backend, memberId: change.member.id, leave, until: budget.until, mayComplete: false };
        const r = await drainMember(input, config, deps);
        const hosts = hostsOf(r.hosts, (h) => h.applied || r.status === 'released');
        return { ...base(change), slot: r.slot, status: r.status, hosts };
      }
      default: {
        const event = eventOf(change, deps.clock.now()) as Parameters<typeof changeSlot>[0]['event'];
        const r = await changeSlot(
          { backend, at: { member: change.member.id }, event, until: budget.until },
          config,
          deps,
        );
        if (r.unconverged) return unconvergedResult(change, r.slot, r.unconverged);
        const hosts = hostsOf(r.hosts, (h) => h.applied || h.awaitingHealth);
        const status: ChangeStatus = hosts.every((h) => h.ok) ? 'applied' : 'partial';
        return { ...base(change), slot: r.slot, status, hosts };
      }
    }
  } catch (error) {
    // The state moved on between the check and this change (a terminate got in): this change is refused, not the rest.
    // A request of one change answers with that change's own status (404, 409), as the precheck does.
    if (!(error instanceof SlotSyncError) || !REFUSALS.has(error.code) || single) throw error;
    return { ...base(change), status: 'refused', error: { code: error.code, message: error.message }, hosts: [] };
  }
}

const REFUSALS = new Set(['MEMBER_LEAVING', 'MEMBER_RETIRED', 'NOT_FOUND', 'NO_FREE_SLOT']);

/** A change the table holds whose hosts were not (all) converged: answered as such, since an error says "unchanged". */
function unconvergedResult(
  change: MemberChange,
  slot: string,
  cause: { readonly code: string; readonly message: string },
): ChangeResult {
  const message = `recorded in the table, but converging the hosts failed (${cause.message}); reconcile converges them`;
  return { ...base(change), slot, status: 'partial', error: { code: cause.code, message }, hosts: [] };
}

/**
 * A register that failed with one of our errors after its claim may have landed (the table or the fleet unavailable
 * past retries while converging): when the table now holds the member at this address, the intent is recorded and
 * the answer says so. Anything else, including a failed look, is the original error: nothing was recorded then.
 */
async function recordedAnyway(
  error: unknown,
  change: MemberChange,
  deps: ServiceDeps,
): Promise<{ slot: string; unconverged: { code: string; message: string } }> {
  if (!(error instanceof SlotSyncError) || REFUSALS.has(error.code)) throw error;
  const held = await deps.store.findByMember(change.backend, change.member.id).catch(() => undefined);
  if (!held || held.address !== change.member.address || held.port !== change.member.port) throw error;
  return { slot: held.slot, unconverged: { code: error.code, message: error.message } };
}
