// What the services need from the outside world: ports only, never an SDK or a Lambda type.
import type { Clock, HaproxyFleet, Instances, LifecycleActions, SlotStore } from '../ports.js';

/** A logger the services can use; Powertools' Logger satisfies it, tests pass a silent one. */
export interface ServiceLog {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** The ports a service call may use. */
export interface ServiceDeps {
  readonly store: SlotStore;
  readonly fleet: HaproxyFleet;
  readonly clock: Clock;
  readonly lifecycle?: LifecycleActions;
  readonly instances?: Instances;
  readonly log?: ServiceLog;
}

/** A log that drops everything. */
export const silentLog: ServiceLog = { info: () => {}, warn: () => {}, error: () => {} };
