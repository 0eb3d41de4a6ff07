// Use case: converge every host to the table — observe all hosts, seed new slots, plan, apply, finish drains.
import type { BackendConfig } from '../config.js';
import type { HostResult } from '../domain.js';
import { type Drift, type Plan, plan } from '../plan.js';
import { slotNamesFromHosts } from '../slots/seed.js';
import type { ServiceDeps } from './deps.js';
import { completeOnce } from './deregister.js';

export interface HostReport {
  readonly host: string;
  readonly ok: boolean;
  readonly driftFound: number;
  readonly commandsSent: number;
  readonly fixed: number;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface ReleaseReport {
  readonly backend: string;
  readonly slot: string;
  readonly member: string;
  readonly reason: 'drained' | 'deadline';
  readonly released: boolean;
  readonly lifecycleCompleted: boolean;
}

export interface ReconcileReport {
  readonly dryRun: boolean;
  readonly hosts: readonly HostReport[];
  readonly slots: number;
  /** Free slots per backend after this pass's releases: the headroom left for launches. */
  readonly freeSlots: Readonly<Record<string, number>>;
  readonly drift: readonly Drift[];
  readonly releases: readonly ReleaseReport[];
  readonly failures: readonly { readonly host: string; readonly reason: string }[];
  readonly seeded: readonly { readonly backend: string; readonly created: readonly string[] }[];
  readonly disagreements: readonly {
    readonly backend: string;
    readonly host: string;
    readonly missing: readonly string[];
    readonly extra: readonly string[];
  }[];
  /** The commands, per host, that were sent (or with dryRun, would be). */
  readonly plan: Plan;
}

/** One reconcile pass over the given backends. With `dryRun` nothing is written to hosts or to the table. */
export async function reconcile(
  input: { readonly backends: readonly BackendConfig[]; readonly dryRun?: boolean },
  deps: ServiceDeps,
): Promise<ReconcileReport> {
  const dryRun = input.dryRun ?? false;
  const observed = await deps.fleet.observe(input.backends.map((b) => b.name));
  const seeded: { backend: string; created: readonly string[] }[] = [];
  const disagreements: ReconcileReport['disagreements'][number][] = [];
  const desired = await Promise.all(
    input.backends.map(async (config) => {
      const slots = await deps.store.list(config.name);
      const seen = slotNamesFromHosts(observed, config.name, config.slotPrefix);
      for (const d of seen.disagreements) disagreements.push({ backend: config.name, ...d });
      // Only names the table lacks are written: a steady-state pass costs one read per backend, not one write per slot.
      const known = new Set(slots.map((s) => s.slot));
      const missing = seen.names.filter((name) => !known.has(name));
      if (dryRun || missing.length === 0) return { config, slots };
      const { created } = await deps.store.seed(config.name, missing);
      if (created.length > 0) seeded.push({ backend: config.name, created });
      return { config, slots: await deps.store.list(config.name) };
    }),
  );
  const p = plan({ desired, observed, now: deps.clock.now() });
  const results: readonly HostResult[] = dryRun ? [] : await deps.fleet.run(p.batches);
  const releases: ReleaseReport[] = [];
  if (!dryRun) {
    const releasing = new Set(p.transitions.map((t) => `${t.backend}/${t.slot}`));
    // An instance in several backends completes its lifecycle action only when its last draining slot is freed.
    const stillDraining = (token: string) =>
      desired.some((d) =>
        d.slots.some(
          (s) => s.state === 'draining' && s.lifecycle?.token === token && !releasing.has(`${d.config.name}/${s.slot}`),
        ),
      );
    const completedTokens = new Set<string>();
    for (const t of p.transitions) {
      const released = await deps.store.release(t.backend, t.member);
      const token = t.lifecycle?.token ?? '';
      const complete = released && t.lifecycle && !stillDraining(token) && !completedTokens.has(token);
      if (complete) completedTokens.add(token);
      const lifecycleCompleted = complete && t.lifecycle ? await completeOnce(t.lifecycle, deps) : false;
      releases.push({
        backend: t.backend,
        slot: t.slot,
        member: t.member,
        reason: t.reason,
        released,
        lifecycleCompleted,
      });
    }
  }
  const hosts = observed.map((o): HostReport => {
    const batch = p.batches.find((b) => b.host === o.host);
    const result = results.find((r) => r.host === o.host);
    const driftFound = p.drift.filter((d) => d.host === o.host).length;
    const fixed = result ? result.replies.filter((r) => r.ok).length : 0;
    const error = o.ok ? result?.error : o.error;
    return {
      host: o.host,
      ok: o.ok && (result?.ok ?? true),
      driftFound,
      commandsSent: dryRun ? 0 : (batch?.commands.length ?? 0),
      fixed,
      error,
    };
  });
  return {
    dryRun,
    hosts,
    slots: desired.reduce((n, d) => n + d.slots.length, 0),
    freeSlots: Object.fromEntries(
      desired.map((d) => [
        d.config.name,
        d.slots.filter((s) => s.state === 'free').length +
          releases.filter((r) => r.backend === d.config.name && r.released).length,
      ]),
    ),
    drift: p.drift,
    releases,
    failures: hosts.filter((h) => !h.ok).map((h) => ({ host: h.host, reason: h.error?.message ?? 'failed' })),
    seeded,
    disagreements,
    plan: p,
  };
}
