// Simulation faults: a Lambda invocation cut off at a random point (its ports stop answering then, as when the sandbox
// is frozen at its deadline), and DynamoDB throttling / transaction conflicts on the store's own client.
import type { ServiceDeps } from '../../functions/lib/services/deps.js';

/** What a port call answers once the invocation was cut off. */
export class Killed extends Error {
  constructor() {
    super('invocation cut off (simulated Lambda timeout)');
    this.name = 'Killed';
  }
}

/** Calls of one cut-off invocation still running: the next step waits for them, as a frozen sandbox's would stop. */
export interface InFlight {
  count: number;
}

/**
 * The port cut off at `killAt`. A call made after it fails the way the real port would: a promise-returning method
 * with a rejected promise, never a synchronous throw, which only `sync` methods (the clock's `now`) may do. A synchronous
 * throw inside `Promise.all([a(), b()])` would leave `a`'s promise with no handler, and its later rejection would be an
 * unhandled one that no production port can cause (every one is an async function).
 */
function killable<T extends object>(port: T, killAt: number, inflight: InFlight, sync: readonly string[] = []): T {
  return new Proxy(port, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (Date.now() >= killAt) {
          if (sync.includes(String(prop))) throw new Killed();
          return Promise.reject(new Killed());
        }
        const result = value.apply(target, args);
        // Synchronous ports (the clock's `now`) answer as they are; calls under way land or not, like a request in
        // flight when Lambda froze the sandbox, and their answer is lost once the deadline has passed.
        if (!(result instanceof Promise)) return result;
        inflight.count++;
        return result.then(
          (v) => {
            inflight.count--;
            if (Date.now() >= killAt) throw new Killed();
            return v;
          },
          (e) => {
            inflight.count--;
            throw e;
          },
        );
      };
    },
  });
}

/** The invocation's ports, cut off at `killAt` (epoch ms): nothing it does after that reaches the world. */
export function killableDeps(deps: ServiceDeps, killAt: number, inflight: InFlight): ServiceDeps {
  return {
    ...deps,
    store: killable(deps.store, killAt, inflight),
    fleet: killable(deps.fleet, killAt, inflight),
    lifecycle: killable(deps.lifecycle, killAt, inflight),
    instances: killable(deps.instances, killAt, inflight),
    clock: killable(deps.clock, killAt, inflight, ['now']),
  };
}
