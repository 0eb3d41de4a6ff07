// What the services need from the outside world: ports only, never an SDK or a Lambda type. Every port is required.
import type { ConfigDocument } from '../config.js';
import type { PlanPolicy } from '../plan/types.js';
import type { Clock, HaproxyFleet, Instances, LifecycleActions, SlotStore } from '../ports.js';

/** A logger the services can use; Powertools' Logger satisfies it, tests pass a silent one. */
export interface ServiceLog {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** The ports a service call uses. */
export interface ServiceDeps {
  readonly store: SlotStore;
  readonly fleet: HaproxyFleet;
  readonly clock: Clock;
  readonly lifecycle: LifecycleActions;
  readonly instances: Instances;
  readonly log: ServiceLog;
}

/** A log that drops everything. */
export const silentLog: ServiceLog = { info: () => {}, warn: () => {}, error: () => {} };

/** The planner's rules from the config: the drain fence, heartbeat period and quorum. */
export function planPolicy(config: Pick<ConfigDocument, 'timeouts' | 'lifecycle' | 'quorum'>): PlanPolicy {
  return {
    fenceMs: config.timeouts.planTtlMs + config.timeouts.clockSkewMs,
    heartbeatMs: config.lifecycle.heartbeatSeconds * 1000,
    quorum: config.quorum,
    // The wait holds the batch: it must leave room for the rest of it inside the command deadline.
    removeWaitMs: Math.max(1, Math.min(1_000, Math.floor(config.timeouts.commandMs / 4))),
    // Three command deadlines without an answer: a host that takes longer to come back is treated as gone.
    lostHostMs: 3 * config.timeouts.commandMs,
  };
}
