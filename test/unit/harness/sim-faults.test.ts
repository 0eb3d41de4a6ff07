// The simulation's cut-off invocation (test/simulation/faults.ts): its ports fail as real async ports do, so a cut-off
// call never leaves a sibling promise without a handler (CI once failed on such an unhandled rejection).
import { describe, expect, it } from 'vitest';
import type { ServiceDeps } from '../../../functions/lib/services/deps.js';
import { type InFlight, Killed, killableDeps } from '../../simulation/faults.js';

function deps(): ServiceDeps {
  const store = {
    isSettled: async () => false,
    isRetired: () => new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 40)),
  };
  const clock = { now: () => Date.now(), sleep: async () => undefined };
  return { store, fleet: {}, lifecycle: {}, instances: {}, clock } as unknown as ServiceDeps;
}

describe('killableDeps', () => {
  it('answers a port call made after the deadline with a rejected promise, not a synchronous throw', async () => {
    const inflight: InFlight = { count: 0 };
    const cut = killableDeps(deps(), Date.now() - 1, inflight);
    let call: Promise<boolean> | undefined;
    expect(() => {
      call = cut.store.isSettled('t');
    }).not.toThrow();
    await expect(call).rejects.toBeInstanceOf(Killed);
    // The clock's `now` has no promise to reject: it throws.
    expect(() => cut.clock.now()).toThrow(Killed);
    await expect(cut.clock.sleep(1)).rejects.toBeInstanceOf(Killed);
  });

  it('fails a call that was under way at the deadline once it answers, and counts it until then', async () => {
    const inflight: InFlight = { count: 0 };
    const cut = killableDeps(deps(), Date.now() + 10, inflight);
    const call = cut.store.isRetired('web', 'i-1');
    expect(inflight.count).toBe(1);
    await expect(call).rejects.toBeInstanceOf(Killed);
    expect(inflight.count).toBe(0);
  });
});
