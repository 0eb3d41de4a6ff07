// Use case: EC2 says an instance is going (Spot interruption warning, rebalance recommendation, state change). Each
// notice is the lifecycle machine's `terminate` event with a reason and a deadline (ARCHITECTURE.md, "Every way an
// instance leaves"), so it joins whatever drain is already under way and is idempotent under redelivery.
import type { BackendConfig, ConfigDocument } from '../config.js';
import { type DrainReason, RETIRING_REASONS } from '../domain/types.js';
import type { ServiceDeps } from './deps.js';
import { type DrainResult, drainMember } from './drain.js';
import { retireIn } from './effects.js';

export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

/** What an EC2 event says, validated at the edge. Times are epoch ms. */
export type InstanceNotice =
  | {
      readonly kind: 'spot-interruption';
      readonly instanceId: string;
      readonly action: 'terminate' | 'stop' | 'hibernate';
      /** When EC2 acts on the instance. */
      readonly actionAt: number;
    }
  | { readonly kind: 'rebalance'; readonly instanceId: string }
  | { readonly kind: 'state-change'; readonly instanceId: string; readonly state: InstanceState };

/** How one backend's slot of the instance leaves: the drain reason and its deadline in seconds from now. */
export interface Leaving {
  readonly reason: Exclude<DrainReason, 'deregister'>;
  readonly drainSeconds: number;
  /**
   * Epoch ms the drain may never outlast (a Spot warning: the action time less the margin). `drainSeconds` is counted
   * from the notice's `now`, the drain's own clock reads later (after the table calls between), so only an absolute
   * bound keeps its deadline inside the notice.
   */
  readonly notAfter?: number;
}

type Config = Pick<ConfigDocument, 'timeouts' | 'lifecycle' | 'quorum' | 'backends'>;

/**
 * Pure: what a notice means for a backend's member, or undefined when it means nothing there.
 * - Spot warning: drain with a deadline inside the notice, `min(drainSeconds, actionAt − margin − now)`; a stop or
 *   hibernate is a stop (the instance may come back), a terminate retires the member.
 * - Rebalance: only where the backend says `onRebalance: drain` (retired: it is the start of the instance's exit).
 * - `stopping` / `shutting-down`: a short drain (`lifecycle.stateChangeDrainSeconds`); `stopped` / `terminated`:
 *   MAINT at once (deadline now: no session can finish on an instance that is gone). `pending` / `running`: nothing,
 *   the launch path and reconcile own an instance that comes (back).
 */
export function leavingFor(
  notice: InstanceNotice,
  backend: BackendConfig,
  config: Config,
  now: number,
): Leaving | undefined {
  switch (notice.kind) {
    case 'spot-interruption': {
      const notAfter = notice.actionAt - config.lifecycle.spotMarginSeconds * 1000;
      const drainSeconds = Math.max(0, Math.min(backend.drainSeconds, Math.floor((notAfter - now) / 1000)));
      const reason = notice.action === 'terminate' ? 'spot-interruption' : 'instance-stopping';
      return { reason, drainSeconds, notAfter };
    }
    case 'rebalance':
      return backend.onRebalance === 'drain' ? { reason: 'rebalance', drainSeconds: backend.drainSeconds } : undefined;
    case 'state-change': {
      const short = config.lifecycle.stateChangeDrainSeconds;
      switch (notice.state) {
        case 'stopping':
          return { reason: 'instance-stopping', drainSeconds: Math.min(short, backend.drainSeconds) };
        case 'shutting-down':
          return { reason: 'instance-terminating', drainSeconds: Math.min(short, backend.drainSeconds) };
        case 'stopped':
          return { reason: 'instance-stopping', drainSeconds: 0 };
        case 'terminated':
          return { reason: 'instance-terminating', drainSeconds: 0 };
        default:
          return undefined;
      }
    }
  }
}

export interface InstanceOutcome {
  readonly instanceId: string;
  readonly notice: InstanceNotice['kind'];
  /** `ignored`: no backend had a slot of the instance, or the notice means nothing for the backends that do. */
  readonly effect: 'leaving' | 'ignored';
  readonly drained: readonly DrainResult[];
}

/**
 * Drains the instance out of every backend the notice concerns, on every host, waiting within the invocation (until
 * `until`); reconcile finishes a drain that outlives it. A slot that carries a terminate's lifecycle token keeps it:
 * the token is completed once, when the slot is free.
 */
export async function handleInstanceNotice(
  input: { readonly notice: InstanceNotice; readonly until: number },
  config: Config,
  deps: ServiceDeps,
): Promise<InstanceOutcome> {
  const { notice } = input;
  const now = deps.clock.now();
  const plans = config.backends
    .map((backend) => ({ backend, leaving: leavingFor(notice, backend, config, now) }))
    .filter((p): p is { backend: BackendConfig; leaving: Leaving } => p.leaving !== undefined);
  // Which backends hold the instance: none, and it is not ours (EC2's rules send every instance's events), so nothing
  // is written for it. Otherwise, for a reason that retires it, retire it everywhere before any drain looks: a launch
  // claim that landed after that first look is then found and drained below, one that lands later is refused. Without
  // this a concurrent launch could claim a slot in a backend the look found empty and serve after the notice returned.
  const found = await Promise.all(plans.map(({ backend }) => deps.store.findByMember(backend.name, notice.instanceId)));
  if (found.every((r) => r === undefined)) return ignored(notice, deps);
  const retired = plans.some((p) => RETIRING_REASONS.has(p.leaving.reason));
  if (retired) await retireIn(config.backends, notice.instanceId, deps);
  const drained = await Promise.all(
    plans.map(({ backend, leaving }) =>
      drainMember(
        {
          backend,
          memberId: notice.instanceId,
          leave: { kind: 'terminate', reason: leaving.reason },
          until: input.until,
          drainSeconds: leaving.drainSeconds,
          notAfter: leaving.notAfter,
          retired,
        },
        config,
        deps,
      ),
    ),
  );
  const held = drained.filter((d) => d.status !== 'not-registered');
  if (held.length === 0) return ignored(notice, deps);
  deps.log.info('instance leaving', {
    instanceId: notice.instanceId,
    notice: notice.kind,
    slots: held.map((d) => `${d.backend}/${d.slot}: ${d.status}`),
  });
  return { instanceId: notice.instanceId, notice: notice.kind, effect: 'leaving', drained: held };
}

function ignored(notice: InstanceNotice, deps: ServiceDeps): InstanceOutcome {
  deps.log.info('instance holds no slot the notice concerns: ignored', { instanceId: notice.instanceId, notice });
  return { instanceId: notice.instanceId, notice: notice.kind, effect: 'ignored', drained: [] };
}
