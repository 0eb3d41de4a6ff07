// Planner: what counts as a passing health check, and whether a host applies `set server addr` asynchronously.
import type { ObservedSlot } from '../domain/types.js';
import { hasAsyncAddr, hasWaitRemovable, parseVersion } from '../haproxy/version.js';

const PASSING = /^L[467]OK/;

// `UP 1/3`, `DRAIN 1/3`, `DOWN 1/2`: HAProxy is between states; right after MAINT it shows a result from before MAINT.
const TRANSITIONAL = /\s\d+\/\d+$/;

/**
 * A passing health check: `check_status` L4OK/L6OK/L7OK (L7OKC too), HAProxy does not hold the server DOWN, and the
 * status is settled (no `n/m` suffix): a slot that just left MAINT can still carry the last result from before it.
 */
export function checkPassing(o: ObservedSlot): boolean {
  return PASSING.test(o.checkStatus) && o.statusWord !== 'DOWN' && !TRANSITIONAL.test(o.status);
}

/**
 * Whether the host applies `set server addr` asynchronously (haproxy/version.ts): then a `state` command in the same
 * batch can run while the old address still serves, so the admin change waits for a read-back that shows the new
 * address. An unknown version is treated as asynchronous (one more round trip, never traffic to the old address).
 */
export function addrIsAsync(version: string | undefined): boolean {
  try {
    return hasAsyncAddr(parseVersion(version ?? ''));
  } catch {
    return true;
  }
}

/** Whether the host has `wait … srv-removable` (3.0+). Unknown version: no (a plain `del server` works everywhere). */
export function waitsRemovable(version: string | undefined): boolean {
  try {
    return hasWaitRemovable(parseVersion(version ?? ''));
  } catch {
    return false;
  }
}
