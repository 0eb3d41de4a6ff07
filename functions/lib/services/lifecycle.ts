// Use case: one Auto Scaling lifecycle action (launch or terminate) → slots on every host, then complete the action.
import type { BackendConfig, ConfigDocument } from '../config.js';
import { addressPolicyOf, checkAddress, refusalOf } from '../domain/address-policy.js';
import type { LifecycleRef } from '../domain/types.js';
import {
  type AddressRefusal,
  ConfigError,
  LaunchSettledError,
  MemberLeavingError,
  MemberRetiredError,
  NoFreeSlotError,
  NotFoundError,
  QuorumNotMetError,
} from '../errors.js';
import type { ServiceDeps } from './deps.js';
import { type DrainResult, drainMember, type Leave } from './drain.js';
import { abandonOnceFree, type Completion, continueOnce, retireIn } from './effects.js';
import { type RegisterResult, registerMember } from './register.js';
import type { Register } from './register-together.js';
import { classifyLifecycle, type LifecyclePlace } from './warm-pool.js';

export interface LifecycleInput {
  readonly transition: 'launch' | 'terminate';
  readonly ref: LifecycleRef;
  readonly origin?: LifecyclePlace;
  readonly destination?: LifecyclePlace;
  /** Backends named by the hook's NotificationMetadata; otherwise the config's ASG mapping decides. */
  readonly backends?: readonly string[];
  /** Epoch ms by which this invocation must have returned (Lambda remaining time minus a margin). */
  readonly until: number;
  /** Registers together with the other records of the invocation's batch (register-together.ts); else alone. */
  readonly register?: Register;
}

export interface LifecycleOutcome {
  readonly action: 'register' | 'deregister' | 'skip';
  readonly reason: string;
  readonly instanceId: string;
  readonly backends: readonly string[];
  readonly registered: readonly RegisterResult[];
  readonly deregistered: readonly DrainResult[];
  readonly noSlot: readonly string[];
  /**
   * What was sent to CompleteLifecycleAction; `pending` when reconcile completes it later (a drain still running, or
   * a launch not yet READY everywhere); `duplicate` when another invocation already completed this token.
   */
  readonly completion: Completion | 'pending';
  /** Why a launch was abandoned (for the log and the summary). */
  readonly abandoned?: string;
  /** The instance's address, refused by a backend's address policy: nothing was claimed or sent. */
  readonly refused?: readonly AddressRefusal[];
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

/** Carries out one lifecycle action. Throws (so the event is delivered again) only when a retry can help. */
export async function handleLifecycle(
  input: LifecycleInput,
  config: ConfigDocument,
  deps: ServiceDeps,
): Promise<LifecycleOutcome> {
  const decision = classifyLifecycle(input.transition, input.origin, input.destination);
  const backends = backendsFor(config, input.ref.asgName, input.backends);
  const base = {
    action: decision.kind,
    reason: decision.reason,
    instanceId: input.ref.instanceId,
    backends: backends.map((b) => b.name),
    registered: [],
    deregistered: [],
    noSlot: [],
  };
  if (decision.kind === 'skip' || backends.length === 0) {
    deps.log.info('lifecycle action needs no slot', {
      reason: backends.length ? decision.reason : 'no backend mapped',
    });
    return { ...base, completion: await continueOnce(input.ref, config, deps) };
  }
  if (decision.kind === 'register') return launch(input, config, backends, deps, base);
  return terminate(input, config, backends, deps, base, decision.returns === true);
}

type Base = Omit<LifecycleOutcome, 'completion'>;

async function terminate(
  input: LifecycleInput,
  config: ConfigDocument,
  backends: readonly BackendConfig[],
  deps: ServiceDeps,
  base: Base,
  returns: boolean,
): Promise<LifecycleOutcome> {
  const id = input.ref.instanceId;
  if (!returns) {
    // Retire before anything else: a launch claim that lands first is then drained below, one that lands later is
    // refused, so a launch delivered after its terminate never puts the instance in service.
    await retireIn(backends, id, deps);
  }
  const reason = returns ? 'warm-pool' : 'terminate';
  // Intent in every backend before any drain can finish: the action completes with the member's last slot, so no
  // backend may still be serving it (not yet marked) when another's drain is over.
  const now = deps.clock.now();
  await Promise.all(
    backends.map((b) => {
      const event = {
        kind: 'terminate',
        now,
        deadline: now + b.drainSeconds * 1000,
        lifecycle: input.ref,
        reason,
      } as const;
      return deps.store.apply(b.name, { member: id }, event);
    }),
  );
  const deregistered = await Promise.all(
    backends.map((backend) =>
      drainMember(
        {
          backend,
          memberId: id,
          leave: { kind: 'terminate', lifecycle: input.ref, reason },
          until: input.until,
          retired: !returns,
        },
        config,
        deps,
      ),
    ),
  );
  const out = { ...base, deregistered };
  if (deregistered.some((d) => d.status === 'draining')) return { ...out, completion: 'pending' };
  // The drains run side by side: the first to free its slot answers `later` (the other still holds one), the last
  // completes. Whichever completed, that is the answer; `later` from all of them leaves it to continueOnce below.
  const own = deregistered
    .flatMap((d) => d.completions)
    .flatMap((c) => (c.token === input.ref.token && c.completion !== 'later' ? [c.completion] : []))[0];
  if (own) return { ...out, completion: own };
  // No slot anywhere (or freed by others): nothing drains, so the action is completed here (once, by token).
  return { ...out, completion: await continueOnce(input.ref, config, deps) };
}

async function launch(
  input: LifecycleInput,
  config: ConfigDocument,
  backends: readonly BackendConfig[],
  deps: ServiceDeps,
  base: Base,
): Promise<LifecycleOutcome> {
  const id = input.ref.instanceId;
  const deadline = deps.clock.now() + config.lifecycle.launchTimeoutSeconds * 1000;
  const address = await deps.instances.privateAddress(id);
  if (!address) {
    // A launch delivered long after its terminate, or a redelivery after its ABANDON: EC2 may have forgotten the
    // instance already. A settled launch has nothing left to do; one never decided is given up for a retired member.
    const [settled, retired] = await Promise.all([
      deps.store.isSettled(input.ref.token),
      Promise.all(backends.map((b) => deps.store.isRetired(b.name, id))),
    ]);
    if (settled) return redelivered(base, deps);
    if (retired.some(Boolean)) return abandon(input, config, deps, base, [], 'arrived after its terminate');
    throw new NotFoundError(`EC2 has no private address for ${id}`);
  }
  const refused = refusedIn(backends, id, address, config);
  if (refused.length > 0) {
    // Nothing claimed, nothing sent. Like a launch with no free slot: the config says whether the instance is kept.
    const why = refused.map((r) => r.message).join('; ');
    deps.log.error(`launch of ${id} refused by the address policy; completing with ${config.lifecycle.onNoSlot}`, {
      refused,
    });
    const out = { ...base, refused };
    if (config.lifecycle.onNoSlot === 'ABANDON') return abandon(input, config, deps, out, [], why);
    return { ...out, completion: await continueOnce(input.ref, config, deps) };
  }
  const register: Register = input.register ?? ((r) => registerMember(r, config, deps));
  const attempts = await Promise.all(
    backends.map(async (backend) => {
      const member = { id, address, port: backend.port };
      try {
        const until = Math.min(input.until, deadline);
        return await register({ backend, member, owner: 'asg', launch: input.ref.token, until });
      } catch (error) {
        if (
          error instanceof LaunchSettledError ||
          error instanceof NoFreeSlotError ||
          error instanceof MemberRetiredError ||
          error instanceof MemberLeavingError
        )
          return error;
        throw error;
      }
    }),
  );
  const registered = attempts.filter((a) => !(a instanceof Error)) as RegisterResult[];
  // A redelivery of a launch already decided: its claims were refused (a slot the member already held elsewhere was
  // only converged again, as it stood). One that landed in another backend just before the first delivery decided is
  // not the decision's: it goes out again at once, without retiring the member (the decision may be CONTINUE).
  if (attempts.some((a) => a instanceof LaunchSettledError)) {
    const taken = registered.filter((r) => r.answer === 'claimed');
    const deregistered = await drainAtOnce(taken, { kind: 'deregister' }, input, config, deps);
    return redelivered({ ...base, registered, deregistered }, deps);
  }
  // Nothing reached any host and the claim was undone: the table is as before, so the event is worth a redelivery.
  const undone = registered.filter((r) => r.rolledBack);
  if (undone.length > 0)
    throw new QuorumNotMetError(
      `no host applied the slot of ${id} in ${undone.map((r) => r.backend).join(', ')}; nothing was changed there`,
    );
  const errors = attempts.filter((a) => a instanceof Error);
  const out = { ...base, registered };
  // The terminate won a race with this launch: the slots claimed here are drained by that terminate.
  const terminated =
    errors.some((e) => !(e instanceof NoFreeSlotError)) || registered.some((r) => r.record?.state === 'draining');
  const why = errors.find((e) => !(e instanceof NoFreeSlotError))?.message ?? 'its terminate got in first';
  // Whatever this launch claimed elsewhere drains out too: a terminate may not have reached those backends.
  if (terminated) return abandon(input, config, deps, out, registered, why);
  const noSlot = backends.filter((_b, i) => attempts[i] instanceof NoFreeSlotError).map((b) => b.name);
  if (noSlot.length > 0) {
    const result = config.lifecycle.onNoSlot;
    // The errors say why growth did not help: it is off (and why), or maxSlots is reached.
    const why = attempts.filter((a) => a instanceof NoFreeSlotError).map((e) => e.message);
    deps.log.error(`no free slot in ${noSlot.join(', ')} for ${id}; completing with ${result}`, {
      backends: noSlot,
      reasons: why,
    });
    if (result === 'ABANDON') return abandon(input, config, deps, { ...out, noSlot }, registered, 'no free slot');
    return { ...out, noSlot, completion: await continueOnce(input.ref, config, deps) };
  }
  // CONTINUE only once the member is READY (past its health gate) on a quorum of hosts in every backend.
  if (registered.every((r) => r.quorumMet && r.record?.state === 'active'))
    return { ...out, completion: await continueOnce(input.ref, config, deps) };
  if (deps.clock.now() >= deadline)
    return abandon(input, config, deps, out, registered, 'not READY before its deadline');
  // Out of time in this invocation, not out of patience: reconcile completes it (READY → CONTINUE, deadline → ABANDON).
  for (const r of registered) {
    const event = { kind: 'launch-pending', now: deps.clock.now(), lifecycle: input.ref, deadline } as const;
    await deps.store.apply(r.backend, { slot: r.slot, member: id }, event);
  }
  deps.log.info('launch handed over to reconcile: not READY everywhere yet', {
    slots: registered.map((r) => `${r.backend}/${r.slot}: ${r.health}`),
  });
  return { ...out, completion: 'pending' };
}

/**
 * A launch event delivered again after its action was decided (CONTINUE or ABANDON sent or owed; a launch handed over
 * to reconcile owes nothing yet and goes on instead): the claim's token check refused it, so it answers `duplicate`.
 * This, not an idempotency record, is what makes a launch idempotent (ARCHITECTURE.md, "The launch path").
 */
function redelivered(out: Base, deps: ServiceDeps): LifecycleOutcome {
  deps.log.info('launch already settled: a redelivery changes nothing', {});
  return { ...out, completion: 'duplicate' };
}

/** Drains the launch's instance out of these slots with no grace period (`leave` says whether that retires it). */
function drainAtOnce(
  slots: readonly RegisterResult[],
  leave: Leave,
  input: LifecycleInput,
  config: ConfigDocument,
  deps: ServiceDeps,
): Promise<DrainResult[]> {
  return Promise.all(
    slots.map((r) =>
      drainMember(
        {
          backend: config.backends.find((b) => b.name === r.backend) as BackendConfig,
          memberId: input.ref.instanceId,
          leave,
          until: input.until,
          drainSeconds: 0,
        },
        config,
        deps,
      ),
    ),
  );
}

/** The instance's address against every backend's policy: one refusal per backend that refuses it. */
function refusedIn(
  backends: readonly BackendConfig[],
  id: string,
  address: string,
  config: ConfigDocument,
): AddressRefusal[] {
  return backends.flatMap((b) => {
    const verdict = checkAddress(address, addressPolicyOf(config, b));
    return verdict.ok ? [] : [refusalOf({ path: ['address'], backend: b.name, member: id }, address, verdict)];
  });
}

/**
 * The launch ends with ABANDON: the ASG replaces the instance. Slots it holds drain out at once (retired: it never
 * serves again); a slot a terminate already drains keeps that drain (its token completes when it ends).
 */
async function abandon(
  input: LifecycleInput,
  config: ConfigDocument,
  deps: ServiceDeps,
  out: Base,
  registered: readonly RegisterResult[],
  why: string,
): Promise<LifecycleOutcome> {
  deps.log.warn(`launch of ${input.ref.instanceId} abandoned: ${why}`, {});
  const deregistered = await drainAtOnce(registered, { kind: 'terminate', reason: 'abandon' }, input, config, deps);
  // The drains above may not be over yet, and the member may hold slots this launch never claimed (a terminate that
  // retired it and has not finished its drains): the ABANDON waits for the last of them.
  const completion = await abandonOnceFree(input.ref, config, deps);
  return { ...out, deregistered, abandoned: why, completion: completion === 'later' ? 'pending' : completion };
}
