// Use case: one Auto Scaling lifecycle action (launch or terminate) → slots on every host, then complete the action.
import type { BackendConfig, ConfigDocument } from '../config.js';
import type { LifecycleRef } from '../domain.js';
import { ConfigError, MemberRetiredError, NoFreeSlotError, NotFoundError, QuorumNotMetError } from '../errors.js';
import type { ServiceDeps } from './deps.js';
import { completeOnce, type DeregisterResult, deregisterMember } from './deregister.js';
import { type RegisterResult, registerMember } from './register.js';

export interface LifecycleInput {
  readonly action: 'register' | 'deregister' | 'skip';
  readonly reason: string;
  readonly ref: LifecycleRef;
  /** Backends named by the hook's NotificationMetadata; otherwise the config's ASG mapping decides. */
  readonly backends?: readonly string[];
  /** Epoch ms by which this invocation must have returned (Lambda remaining time minus a margin). */
  readonly until: number;
  /** The event's `Destination`: a terminate towards the warm pool comes back later, any other leaves for good. */
  readonly destination?: 'EC2' | 'AutoScalingGroup' | 'WarmPool';
}

/**
 * How long a terminated instance stays retired: a lifecycle action lives at most 48 h (its global timeout), so no
 * launch of that instance can still need completing after that, and EC2 never reuses an instance id anyway.
 */
export const RETIRED_FOR_MS = 48 * 3600 * 1000;

export interface LifecycleOutcome {
  readonly action: LifecycleInput['action'];
  readonly instanceId: string;
  readonly backends: readonly string[];
  readonly registered: readonly RegisterResult[];
  readonly deregistered: readonly DeregisterResult[];
  readonly noSlot: readonly string[];
  /** What was sent to CompleteLifecycleAction, or `pending` when reconcile will complete it after the drain. */
  readonly completion: 'CONTINUE' | 'ABANDON' | 'pending' | 'gone';
}

/** The backends an event concerns: named in metadata (each must exist), else those mapped to the event's ASG. */
export function backendsFor(config: ConfigDocument, asgName: string, named?: readonly string[]): BackendConfig[] {
  if (named && named.length > 0) {
    return named.map((name) => {
      const b = config.backends.find((x) => x.name === name);
      if (!b) throw new ConfigError(`NotificationMetadata names backend ${name}, which the config does not have`);
      return b;
    });
  }
  return config.backends.filter((b) => b.autoScalingGroups.includes(asgName));
}

/** Carries out one lifecycle action. Throws (so EventBridge retries) only when the hosts did not reach quorum. */
export async function handleLifecycle(
  input: LifecycleInput,
  config: ConfigDocument,
  deps: ServiceDeps,
): Promise<LifecycleOutcome> {
  const backends = backendsFor(config, input.ref.asgName, input.backends);
  const base = { action: input.action, instanceId: input.ref.instanceId, backends: backends.map((b) => b.name) };
  const empty = { registered: [], deregistered: [], noSlot: [] };
  if (input.action === 'skip' || backends.length === 0) {
    deps.log?.info('lifecycle action needs no slot', { reason: backends.length ? input.reason : 'no backend mapped' });
    return { ...base, ...empty, completion: await complete(input.ref, 'CONTINUE', deps) };
  }
  if (input.action === 'register') return register(input, config, backends, deps, base);
  if (input.destination !== 'WarmPool') {
    // Retire before looking for slots: a launch claim that lands first is then seen (and drained) below, one that
    // lands later is refused, so a launch delivered after its terminate never puts the instance in service.
    const until = deps.clock.now() + RETIRED_FOR_MS;
    await Promise.all(backends.map((b) => deps.store.retire(b.name, input.ref.instanceId, until)));
  }
  const deregistered = await Promise.all(
    backends.map((backend) =>
      deregisterMember(
        {
          backend,
          memberId: input.ref.instanceId,
          lifecycle: input.ref,
          until: input.until,
          heartbeatMs: config.lifecycle.heartbeatSeconds * 1000,
          complete: false,
        },
        deps,
      ),
    ),
  );
  if (deregistered.some((d) => d.status === 'draining'))
    return { ...base, ...empty, deregistered, completion: 'pending' };
  return { ...base, ...empty, deregistered, completion: await complete(input.ref, 'CONTINUE', deps) };
}

async function register(
  input: LifecycleInput,
  config: ConfigDocument,
  backends: readonly BackendConfig[],
  deps: ServiceDeps,
  base: Pick<LifecycleOutcome, 'action' | 'instanceId' | 'backends'>,
): Promise<LifecycleOutcome> {
  // No separate tombstone read here: the claim transaction (new slot) and registerMember (existing slot) both refuse
  // a retired instance with MemberRetiredError, handled below, so the launch path stays one store round trip shorter.
  const address = await deps.instances?.privateAddress(input.ref.instanceId);
  if (!address) {
    // A launch delivered long after its terminate: EC2 may have forgotten the instance already.
    const retired = await Promise.all(backends.map((b) => deps.store.isRetired(b.name, input.ref.instanceId)));
    if (retired.some(Boolean)) return abandonRetired(input, deps, base);
    throw new NotFoundError(`EC2 has no private address for ${input.ref.instanceId}`);
  }
  const registered: RegisterResult[] = [];
  const noSlot: string[] = [];
  for (const backend of backends) {
    const member = { id: input.ref.instanceId, address, port: backend.port };
    try {
      registered.push(await registerMember({ backend, member, quorum: config.quorum, until: input.until }, deps));
    } catch (error) {
      // The terminate won a race with this launch: slots claimed above are drained by that terminate.
      if (error instanceof MemberRetiredError) return abandonRetired(input, deps, base, registered);
      if (!(error instanceof NoFreeSlotError)) throw error;
      noSlot.push(backend.name);
    }
  }
  if (noSlot.length > 0) {
    const result = config.lifecycle.onNoSlot;
    deps.log?.error(`no free slot in ${noSlot.join(', ')} for ${input.ref.instanceId}; completing with ${result}`, {
      backends: noSlot,
    });
    return { ...base, registered, deregistered: [], noSlot, completion: await complete(input.ref, result, deps) };
  }
  const short = registered.filter((r) => !r.quorumMet);
  if (short.length > 0) {
    throw new QuorumNotMetError(
      `quorum '${config.quorum}' not met for ${short.map((r) => `${r.backend}/${r.slot}`).join(', ')}: ` +
        short
          .flatMap((r) => r.hosts.filter((h) => !h.applied).map((h) => `${h.host} ${h.error?.message ?? ''}`))
          .join('; '),
    );
  }
  return { ...base, registered, deregistered: [], noSlot, completion: await complete(input.ref, 'CONTINUE', deps) };
}

/** A launch seen after the instance's terminate: the instance is going away, so it must not serve (ABANDON). */
async function abandonRetired(
  input: LifecycleInput,
  deps: ServiceDeps,
  base: Pick<LifecycleOutcome, 'action' | 'instanceId' | 'backends'>,
  registered: readonly RegisterResult[] = [],
): Promise<LifecycleOutcome> {
  deps.log?.warn(`launch of ${input.ref.instanceId} arrived after its terminate; registering nothing`, {});
  const completion = await complete(input.ref, 'ABANDON', deps);
  return { ...base, registered, deregistered: [], noSlot: [], completion };
}

async function complete(
  ref: LifecycleRef,
  result: 'CONTINUE' | 'ABANDON',
  deps: ServiceDeps,
): Promise<'CONTINUE' | 'ABANDON' | 'gone'> {
  if (result === 'CONTINUE') return (await completeOnce(ref, deps)) ? 'CONTINUE' : 'gone';
  try {
    await deps.lifecycle?.complete(ref, 'ABANDON');
    return 'ABANDON';
  } catch (error) {
    if ((error as { code?: string }).code === 'LIFECYCLE_ACTION_GONE') return 'gone';
    throw error;
  }
}
