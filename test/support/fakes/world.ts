// Everything a service call needs, faked and wired together on one fake clock: the config (through the real schema),
// the slot store, the hosts, Auto Scaling, EC2 and the log. One world per test: nothing is shared between tests.
import { type BackendConfig, type ConfigDocument, parseConfig } from '../../../functions/lib/config.js';
import type { LifecycleRef, Member } from '../../../functions/lib/domain/types.js';
import type { ServiceDeps } from '../../../functions/lib/services/deps.js';
import { seededRandom } from '../random.js';
import { FakeClock } from './clock.js';
import { FakeFleet } from './fleet.js';
import { FakeInstances } from './instances.js';
import { FakeLifecycleActions } from './lifecycle-actions.js';
import { RecordingLog } from './log.js';
import { FakeSlotStore } from './slot-store.js';

/** A backend of the config document plus its template on the hosts (`slots` servers, health-checked when `check`). */
export type WorldBackend = Record<string, unknown> & {
  readonly name: string;
  readonly slots?: number;
  readonly check?: boolean;
};

export interface WorldOptions {
  /** Default: one backend `web` (slots web1…web4, port 8080) mapped to the ASG `asg-web`. */
  readonly backends?: readonly WorldBackend[];
  readonly hosts?: readonly string[];
  /** `show info` Version of every host. */
  readonly version?: string;
  /** Parts of the config document besides hosts and backends (timeouts, lifecycle, quorum). */
  readonly config?: Record<string, unknown>;
  readonly seed?: number;
}

/** The faked world of one test. */
export interface World {
  readonly config: Readonly<ConfigDocument>;
  readonly clock: FakeClock;
  readonly store: FakeSlotStore;
  readonly fleet: FakeFleet;
  readonly lifecycle: FakeLifecycleActions;
  readonly instances: FakeInstances;
  readonly log: RecordingLog;
  readonly deps: ServiceDeps;
  backend(name?: string): BackendConfig;
  /** Seeds every slot of the backend, as a first reconcile would. */
  seed(name?: string): Promise<void>;
  /** A lifecycle action of an instance in the backend's first ASG, with a fresh token. */
  ref(instanceId: string, name?: string): LifecycleRef;
  /** A member at `address` on the backend's port; an instance with that address is known to EC2. */
  member(id: string, address: string, name?: string): Member;
}

const TIMEOUTS = { connectMs: 200, commandMs: 1_000, planTtlMs: 300, clockSkewMs: 100, pollMs: 50, drainPollMs: 100 };

export function fakeWorld(options: WorldOptions = {}): World {
  const specs = options.backends ?? [{ name: 'web' }];
  const hosts = options.hosts ?? ['hap1', 'hap2', 'hap3'];
  const config = parseConfig({
    hosts: hosts.map((name, i) => ({ name, host: '127.0.0.1', port: 10_000 + i })),
    backends: specs.map(({ slots: _slots, check: _check, ...b }) => ({
      slotPrefix: b.name,
      port: 8080,
      autoScalingGroups: [`asg-${b.name}`],
      ...b,
    })),
    timeouts: TIMEOUTS,
    ...options.config,
  });
  const clock = new FakeClock();
  const store = new FakeSlotStore({ now: () => clock.now(), random: seededRandom(options.seed ?? 1) });
  const fleet = new FakeFleet({
    clock,
    hosts,
    version: options.version,
    commandMs: config.timeouts.commandMs,
    backends: config.backends.map((b, i) => ({
      name: b.name,
      slotPrefix: b.slotPrefix,
      slots: specs[i]?.slots ?? 4,
      check: specs[i]?.check,
    })),
  });
  const lifecycle = new FakeLifecycleActions(clock);
  const instances = new FakeInstances();
  const log = new RecordingLog();
  const deps: ServiceDeps = { store, fleet, clock, lifecycle, instances, log };
  const backend = (name = config.backends[0]?.name) => {
    const b = config.backends.find((x) => x.name === name);
    if (!b) throw new Error(`no backend ${name} in the fake world`);
    return b;
  };
  return {
    config,
    clock,
    store,
    fleet,
    lifecycle,
    instances,
    log,
    deps,
    backend,
    async seed(name) {
      const b = backend(name);
      const count = specs.find((s) => s.name === b.name)?.slots ?? 4;
      await store.seed(
        b.name,
        Array.from({ length: count }, (_, i) => `${b.slotPrefix}${i + 1}`),
      );
    },
    ref(instanceId, name) {
      const asgName = backend(name).autoScalingGroups[0] ?? 'asg';
      return { token: crypto.randomUUID(), hookName: 'hook', asgName, instanceId };
    },
    member(id, address, name) {
      instances.add(id, address);
      return { id, address, port: backend(name).port };
    },
  };
}
