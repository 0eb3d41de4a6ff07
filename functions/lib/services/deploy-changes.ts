// Use case: a deploy tool's webhook — explicit member changes, or a backend's full desired member set.
import type { BackendConfig, ConfigDocument } from '../config.js';
import type { Member } from '../domain.js';
import { NoFreeSlotError, NotFoundError, SlotConflictError, ValidationError } from '../errors.js';
import type { AdminState } from '../haproxy/commands.js';
import type { ServiceDeps } from './deps.js';
import { deregisterMember } from './deregister.js';
import { holdSlot } from './hold.js';
import { registerMember } from './register.js';
import { ensureSeeded } from './seeding.js';
import { syncSlot } from './sync-slot.js';

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

export interface ChangeResult {
  readonly action: ChangeAction;
  readonly backend: string;
  readonly member: string;
  readonly slot?: string;
  /** `draining`: the drain goes on and reconcile frees the slot when sessions end or the deadline passes. */
  readonly status: 'applied' | 'draining' | 'released' | 'not-registered' | 'rolled-back' | 'partial';
  readonly hosts: readonly { readonly host: string; readonly ok: boolean; readonly error?: string }[];
}

export interface DeployOutcome {
  readonly results: readonly ChangeResult[];
  /** True when not a single host applied anything and the table is as before (HTTP 502). */
  readonly nothingApplied: boolean;
}

/** Applies a webhook request. Validates every backend and the slot capacity before the first write. */
export async function applyDeploy(
  request: DeployRequest,
  config: ConfigDocument,
  deps: ServiceDeps,
  budget: { readonly until: number },
): Promise<DeployOutcome> {
  const changes = request.kind === 'changes' ? request.changes : await desiredToChanges(request, config, deps);
  const backends = new Map(config.backends.map((b) => [b.name, b]));
  const unknown = changes.map((c, i) => [c.backend, i] as const).filter(([b]) => !backends.has(b));
  if (unknown.length > 0) {
    throw new ValidationError(
      'unknown backend',
      unknown.map(([b, i]) => ({
        path: request.kind === 'changes' ? ['changes', i, 'backend'] : ['backend'],
        message: `no backend ${b} in the config`,
      })),
    );
  }
  await checkCapacity(changes, backends, deps);
  const results: ChangeResult[] = [];
  for (const change of changes)
    results.push(await applyOne(change, backends.get(change.backend) as BackendConfig, config, deps, budget));
  const nothingApplied =
    results.length > 0 &&
    results.every((r) => r.status === 'rolled-back' || (r.hosts.length > 0 && r.hosts.every((h) => !h.ok)));
  return { results, nothingApplied };
}

/** A desired set becomes: register everyone listed, deregister every current member not listed. */
async function desiredToChanges(
  request: Extract<DeployRequest, { kind: 'desired' }>,
  config: ConfigDocument,
  deps: ServiceDeps,
): Promise<MemberChange[]> {
  if (!config.backends.some((b) => b.name === request.backend)) {
    throw new ValidationError('unknown backend', [
      { path: ['backend'], message: `no backend ${request.backend} in the config` },
    ]);
  }
  const slots = await deps.store.list(request.backend);
  const wanted = new Map(request.members.map((m) => [m.id, m]));
  const changes: MemberChange[] = [];
  for (const s of slots) {
    if (!s.member || s.state === 'free') continue;
    const want = wanted.get(s.member);
    if (want && (want.address !== s.address || want.port !== s.port)) {
      throw new SlotConflictError(
        `member ${s.member} is registered at ${s.address}:${s.port}, not ${want.address}:${want.port}; deregister it first`,
      );
    }
    if (!want && s.state !== 'draining' && s.address && s.port) {
      changes.push({
        action: 'deregister',
        backend: request.backend,
        member: { id: s.member, address: s.address, port: s.port },
      });
    }
  }
  const registered = new Set(slots.filter((s) => s.member && s.state !== 'draining').map((s) => s.member));
  for (const m of request.members)
    if (!registered.has(m.id)) changes.push({ action: 'register', backend: request.backend, member: m });
  return changes;
}

/** Refuses (409) a request whose new members cannot all get a slot, before anything is written. */
async function checkCapacity(
  changes: readonly MemberChange[],
  backends: ReadonlyMap<string, BackendConfig>,
  deps: ServiceDeps,
): Promise<void> {
  const perBackend = new Map<string, Set<string>>();
  for (const c of changes)
    if (c.action === 'register') perBackend.set(c.backend, (perBackend.get(c.backend) ?? new Set()).add(c.member.id));
  for (const [backend, ids] of perBackend) {
    const { slots } = await ensureSeeded(backends.get(backend) as BackendConfig, deps);
    const owned = new Set(slots.map((s) => s.member));
    const needed = [...ids].filter((id) => !owned.has(id)).length;
    if (needed > slots.filter((s) => s.state === 'free').length) throw new NoFreeSlotError(backend);
  }
}

async function applyOne(
  change: MemberChange,
  backend: BackendConfig,
  config: ConfigDocument,
  deps: ServiceDeps,
  budget: { readonly until: number },
): Promise<ChangeResult> {
  const base = { action: change.action, backend: backend.name, member: change.member.id };
  switch (change.action) {
    case 'register': {
      const r = await registerMember(
        { backend, member: change.member, quorum: config.quorum, until: budget.until },
        deps,
      );
      const hosts = r.hosts.map((h) => ({ host: h.host, ok: h.applied || h.awaitingHealth, error: h.error?.message }));
      return {
        ...base,
        slot: r.slot,
        status: r.rolledBack ? 'rolled-back' : r.quorumMet ? 'applied' : 'partial',
        hosts,
      };
    }
    case 'deregister': {
      const r = await deregisterMember({ backend, memberId: change.member.id, until: budget.until }, deps);
      const hosts = r.hosts.map((h) => ({
        host: h.host,
        ok: h.applied || r.status === 'released',
        error: h.error?.message,
      }));
      return { ...base, slot: r.slot, status: r.status, hosts };
    }
    case 'drain':
    case 'maint':
      return hold(change, backend, change.action, deps);
    case 'ready': {
      const owned = await owner(change, deps);
      const record =
        owned.state === 'held'
          ? await deps.store.unhold(backend.name, owned.slot)
          : await deps.store.markActive(backend.name, change.member.id);
      return synced(base, record.slot, await syncSlot(backend, record, deps, { until: budget.until }));
    }
    case 'weight': {
      const record = await deps.store.setWeight(backend.name, change.member.id, change.weight as number);
      return synced(base, record.slot, await syncSlot(backend, record, deps, { until: budget.until }));
    }
  }
}

async function owner(change: MemberChange, deps: ServiceDeps) {
  const owned = await deps.store.findByMember(change.backend, change.member.id);
  if (!owned) throw new NotFoundError(`member ${change.member.id} has no slot in backend ${change.backend}`);
  return owned;
}

/** drain / maint from a deploy tool: an operator-style hold, so reconcile does not undo it. */
async function hold(
  change: MemberChange,
  backend: BackendConfig,
  admin: AdminState,
  deps: ServiceDeps,
): Promise<ChangeResult> {
  const owned = await owner(change, deps);
  const { results } = await holdSlot(backend.name, owned.slot, admin, deps);
  const hosts = results.map((r) => ({ host: r.host, ok: r.ok, error: r.error?.message }));
  return {
    action: change.action,
    backend: backend.name,
    member: change.member.id,
    slot: owned.slot,
    status: 'applied',
    hosts,
  };
}

function synced(
  base: Pick<ChangeResult, 'action' | 'backend' | 'member'>,
  slot: string,
  outcome: Awaited<ReturnType<typeof syncSlot>>,
): ChangeResult {
  const hosts = outcome.hosts.map((h) => ({ host: h.host, ok: h.applied, error: h.error?.message }));
  return { ...base, slot, status: hosts.every((h) => h.ok) ? 'applied' : 'partial', hosts };
}
