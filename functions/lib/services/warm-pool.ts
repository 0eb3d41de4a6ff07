// Use case rule: which Auto Scaling lifecycle transitions touch slots (the warm-pool rules, DESIGN §1). Pure.

/** Where a warm-pool-aware event says the instance comes from / goes to. */
export const LIFECYCLE_PLACES = ['EC2', 'AutoScalingGroup', 'WarmPool'] as const;
export type LifecyclePlace = (typeof LIFECYCLE_PLACES)[number];

/** What a lifecycle event means for the slot table: claim slots, free them, or only complete the action. */
export interface LifecycleDecision {
  readonly kind: 'register' | 'deregister' | 'skip';
  /** For `deregister`: the instance returns later (warm pool), so it is not retired. */
  readonly returns?: boolean;
  readonly reason: string;
}

/** The warm-pool rules: a launch into the warm pool never serves; a scale-in into it will come back. */
export function classifyLifecycle(
  transition: 'launch' | 'terminate',
  from?: LifecyclePlace,
  to?: LifecyclePlace,
): LifecycleDecision {
  const route = `${from ?? '?'}→${to ?? '?'}`;
  if (transition === 'launch') {
    // EC2→WarmPool: the instance is being pre-initialised and then stopped/hibernated; it must get no traffic.
    if (to === 'WarmPool') return { kind: 'skip', reason: `launch ${route}: entering the warm pool, not serving` };
    // EC2→AutoScalingGroup (plain scale-out) and WarmPool→AutoScalingGroup (warm instance put in service) serve.
    if (to === 'AutoScalingGroup') return { kind: 'register', reason: `launch ${route}: entering service` };
    // No Origin/Destination: a group without a warm pool, where every launch enters service.
    if (to === undefined) return { kind: 'register', reason: 'launch: entering service (no warm pool fields)' };
    // Undocumented (e.g. →EC2): claiming a slot for it could route traffic to a box nobody meant to serve.
    return { kind: 'skip', reason: `launch ${route}: undocumented destination, nothing registered` };
  }
  // WarmPool→EC2: a warm instance is removed; it was skipped on entry and deregistered on its way back, so it holds no slot.
  if (from === 'WarmPool') return { kind: 'skip', reason: `terminate ${route}: warm instance never held a slot` };
  // AutoScalingGroup→WarmPool: scale-in with instance reuse; the instance stops serving but comes back later.
  if (to === 'WarmPool')
    return { kind: 'deregister', returns: true, reason: `terminate ${route}: back to the warm pool` };
  // AutoScalingGroup→EC2 (termination), a group without warm-pool fields, and anything undocumented stop serving for
  // good: freeing a slot nobody holds is a no-op.
  return { kind: 'deregister', returns: false, reason: `terminate ${route}: leaving service` };
}
