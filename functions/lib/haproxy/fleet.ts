// The HAProxy fleet: all hosts in parallel, one outcome per host; per host one lane (lane.ts): a single connection at
// a time, with concurrent callers' commands merged into its pipelined batch.
import { limiter } from '../concurrency.js';
import type { HostConfig } from '../config.js';
import type { HostBatch, HostResult } from '../domain/types.js';
import type { HaproxyFleet, ServerFilter } from '../ports.js';
import { type ClientTimeouts, classifyAll, createHostClient, errorShape, type HostClient } from './client.js';
import { type Lane, laneOf } from './lane.js';
import { FEW_SLOTS, type HostKnowledge, hostKnowledge, observeHost } from './observe-host.js';

/** A fleet over the configured hosts (TCP, TLS when configured). */
export function createFleet(config: { hosts: readonly HostConfig[]; timeouts: ClientTimeouts }): HaproxyFleet {
  return fleetOf(config.hosts.map((host) => createHostClient(host, config.timeouts)));
}

/** A fleet over ready-made clients (e.g. unix-socket clients on a host). Host names must be unique. */
export function fleetOf(clients: readonly HostClient[]): HaproxyFleet {
  const byName = new Map(clients.map((c) => [c.name, laneOf(c)]));
  const known = new Map(clients.map((c) => [c.name, hostKnowledge()]));
  const run = async (batch: HostBatch): Promise<HostResult> => {
    const lane = byName.get(batch.host);
    if (!lane) {
      return Promise.resolve({
        host: batch.host,
        ok: false,
        replies: [],
        error: { code: 'CONFIG_ERROR', message: `unknown host ${batch.host}` },
      });
    }
    // Nothing to say: no connection at all (a host that is down must not fail an empty batch).
    if (batch.commands.length === 0) return { host: batch.host, ok: true, replies: [] };
    try {
      return classifyAll(batch.host, batch.commands, await lane.exchange(batch.commands, { notAfter: batch.notAfter }));
    } catch (error) {
      return { host: batch.host, ok: false, replies: [], error: errorShape(error) };
    }
  };
  // Whole-fleet reads (reconcile, status, seeding: every row, or many, of every host) in flight at once. Each reply costs its
  // bytes three times over while it is received, joined and decoded (~4 MB for 2,000 servers), and parsing is one
  // thread anyway: four at a time kept a 50-host × 2,000-slot pass as fast as sixteen (1.30–1.38 s) with a lower,
  // steadier peak RSS (223–225 MB against 226–276 MB; issue 10). A read for a few slots (a launch, a health poll)
  // is not held back: its caller waits on it, and it parses a line or two.
  const reading = limiter(OBSERVATIONS_IN_FLIGHT);
  return {
    hosts: clients.map((c) => c.name),
    run: (batches) => Promise.all(batches.map(run)),
    broadcast: (commands) => Promise.all(clients.map((c) => run({ host: c.name, commands }))),
    observe: (backends, options) =>
      Promise.all(
        clients
          .filter((c) => options?.hosts === undefined || options.hosts.has(c.name))
          .map((c) => {
            const observe = () =>
              observeHost(
                c.name,
                byName.get(c.name) as Lane,
                backends,
                known.get(c.name) as HostKnowledge,
                options?.servers,
              );
            return forFewSlots(options?.servers) ? observe() : reading(observe);
          }),
      ),
  };
}

const OBSERVATIONS_IN_FLIGHT = 4;

/** A read for a few slots: a launch's (its slot, deferred until the claim names it) or a set of up to FEW_SLOTS. */
function forFewSlots(filter: ServerFilter | undefined): boolean {
  return filter !== undefined && (!(filter instanceof Set) || filter.size <= FEW_SLOTS);
}
