// How long a handler lets its service work: until the invocation's deadline less what the reply still needs.
import type { ConfigDocument } from '../lib/config.js';

/**
 * What an invocation keeps back from its deadline. A service stops starting work at `until`, but the converge round it
 * started just before may still send a batch and then read it back, each one exchange of up to `commandMs` (connect
 * included), and the outcome is then written to the table and answered: a fixed margin would let a larger commandMs
 * run the function into its timeout halfway through that, so the reserve grows with it (never under 3 s).
 */
export function replyReserveMs(timeouts: Pick<ConfigDocument['timeouts'], 'commandMs'>): number {
  return Math.max(3_000, 2 * timeouts.commandMs + 1_000);
}

/** Epoch ms until which a service may keep working, given the invocation's remaining time. */
export function workUntil(
  remainingMs: number,
  timeouts: Pick<ConfigDocument['timeouts'], 'commandMs'>,
  now = Date.now(),
): number {
  return now + Math.max(0, remainingMs - replyReserveMs(timeouts));
}
