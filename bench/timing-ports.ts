// Timing decorators for the ports: every SlotStore / HaproxyFleet call a service makes lands in a CallLog.

import { type Command, showServersState, showStat } from '../functions/lib/domain/commands.js';
import type { HostBatch, HostResult } from '../functions/lib/domain/types.js';
import type { HaproxyFleet } from '../functions/lib/ports.js';

/** One call through a decorated port: which port and method, when it started and ended (`performance.now()`). */
export interface PortCall {
  readonly port: string;
  readonly method: string;
  readonly start: number;
  readonly end: number;
  readonly args: readonly unknown[];
  readonly result?: unknown;
  readonly failed: boolean;
}

/** Every call made through the decorated ports, in completion order, with a hook for callers that wait on one. */
export class CallLog {
  readonly calls: PortCall[] = [];
  onCall?: (call: PortCall) => void;

  record(call: PortCall): void {
    this.calls.push(call);
    this.onCall?.(call);
  }

  /** Summed duration of the calls to `port` that ended by `until` (the services call ports one after another). */
  total(port: string, until = Number.POSITIVE_INFINITY, method?: string): number {
    return this.calls
      .filter((c) => c.port === port && c.end <= until && (method === undefined || c.method === method))
      .reduce((sum, c) => sum + (c.end - c.start), 0);
  }
}

/**
 * Wraps every method of `target` so its wall time goes to `log()`'s CallLog (resolved per call, so one decorated
 * port can serve concurrent invocations). Values that are not functions pass through; `this` stays the target.
 */
export function timedPort<T extends object>(target: T, port: string, log: () => CallLog | undefined): T {
  return new Proxy(target, {
    get(t, key, receiver) {
      const value = Reflect.get(t, key, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const sink = log();
        const start = performance.now();
        const answered = deferredFilterSeen(args);
        try {
          const result = await value.apply(t, answered.args);
          const end = answered.at() ?? performance.now();
          sink?.record({ port, method: String(key), start, end, args, result, failed: false });
          return result;
        } catch (error) {
          sink?.record({ port, method: String(key), start, end: performance.now(), args, failed: true });
          throw error;
        }
      };
    },
  });
}

/**
 * An observe with a deferred server filter (a launch's, beside its claim) lasts until the claim settles the filter,
 * but HAProxy's part ends when the last host's replies are in: that is when the fleet asks the filter (awaits it).
 * The filter is wrapped to note that moment, so the HAProxy phase counts the exchange and not the wait for the table.
 */
function deferredFilterSeen(args: readonly unknown[]): { args: unknown[]; at: () => number | undefined } {
  const options = args[1] as { servers?: unknown } | undefined;
  const filter = options?.servers as PromiseLike<unknown> | undefined;
  if (!filter || filter instanceof Set || typeof filter.then !== 'function')
    return { args: [...args], at: () => undefined };
  let last: number | undefined;
  const noted: PromiseLike<unknown> = {
    // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose, standing in for the caller's promise.
    then(resolve, reject) {
      last = performance.now();
      return filter.then(resolve, reject);
    },
  };
  return { args: [args[0], { ...options, servers: noted }, ...args.slice(2)], at: () => last };
}

/** The commands a fleet call put on each host's socket, in order (observe = show stat + show servers state). */
export function commandsOf(call: PortCall, hosts: readonly string[]): Map<string, Command[]> {
  const out = new Map<string, Command[]>();
  const add = (host: string, commands: readonly Command[]) => out.set(host, [...(out.get(host) ?? []), ...commands]);
  if (call.method === 'observe') {
    const backends = call.args[0] as readonly string[];
    const commands = backends.flatMap((b) => [showStat(b), showServersState(b)]);
    for (const host of hosts) add(host, commands);
  } else if (call.method === 'run') {
    for (const batch of call.args[0] as readonly HostBatch[]) add(batch.host, batch.commands);
  } else if (call.method === 'broadcast') {
    for (const host of hosts) add(host, call.args[0] as readonly Command[]);
  }
  return out;
}

/** True when `call` is a fleet `run` that sent commands to every host and every host applied all of them. */
export function programsEveryHost(call: PortCall, fleet: Pick<HaproxyFleet, 'hosts'>): boolean {
  if (call.port !== 'fleet' || call.method !== 'run' || call.failed) return false;
  const batches = call.args[0] as readonly HostBatch[];
  const results = call.result as readonly HostResult[];
  const covered = new Set(batches.filter((b) => b.commands.length > 0).map((b) => b.host));
  return fleet.hosts.every((h) => covered.has(h)) && results.every((r) => r.ok);
}

/**
 * When each slot was programmed on every host, from the fleet `run` calls in `calls`: on a host, a slot is programmed
 * by the call whose replies confirm `state ready` after its `addr` (in that call or an earlier one). Keyed
 * `backend/slot address`; the time is the latest over `hosts` of each host's first such call's end. A slot some host
 * never confirmed is absent.
 */
export function programmedOnEveryHost(calls: readonly PortCall[], hosts: readonly string[]): Map<string, number> {
  const addressOn = new Map<string, string>();
  const seen = new Map<string, Map<string, number>>();
  const runs = calls.filter((c) => c.port === 'fleet' && c.method === 'run' && !c.failed);
  for (const call of [...runs].sort((a, b) => a.end - b.end)) {
    const results = call.result as readonly HostResult[];
    for (const batch of call.args[0] as readonly HostBatch[]) {
      const replies = results.find((r) => r.host === batch.host)?.replies ?? [];
      batch.commands.forEach((command, i) => {
        if (!replies[i]?.ok || (command.kind !== 'set-addr' && command.kind !== 'set-state')) return;
        const where = `${command.backend}/${command.server}`;
        if (command.kind === 'set-addr') {
          addressOn.set(`${batch.host} ${where}`, command.address);
          return;
        }
        const address = addressOn.get(`${batch.host} ${where}`);
        if (command.state !== 'ready' || address === undefined) return;
        const key = `${where} ${address}`;
        const byHost = seen.get(key) ?? new Map<string, number>();
        if (!byHost.has(batch.host)) byHost.set(batch.host, call.end);
        seen.set(key, byHost);
      });
    }
  }
  const out = new Map<string, number>();
  for (const [key, byHost] of seen)
    if (hosts.every((h) => byHost.has(h))) out.set(key, Math.max(...hosts.map((h) => byHost.get(h) ?? 0)));
  return out;
}
