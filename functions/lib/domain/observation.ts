// Narrowing an observation (the same hosts, failures kept as they are, only the rows of the given servers), and carrying
// what a host last showed into a look it failed.
import type { HostObservation } from './types.js';

/** The observation with each backend's rows cut down to `servers`. */
export function onlyServers(
  observed: readonly HostObservation[],
  servers: ReadonlySet<string>,
): readonly HostObservation[] {
  return observed.map((o) =>
    o.ok
      ? {
          ...o,
          backends: new Map([...o.backends].map(([be, rows]) => [be, rows.filter((r) => servers.has(r.server))])),
        }
      : o,
  );
}

// Failures that say nothing came back from the host: it may be gone. Any other (a connection it accepted and then
// closed, an error reply) means it is there, still serving whatever it last showed.
const SILENT = new Set(['HOST_UNREACHABLE', 'HOST_TIMEOUT']);

/**
 * `current` (looked at `at`), with each host that failed it but answered an earlier look of this invocation
 * (`previous`, itself carried) given `lastSeen`: the rows it showed then, and `lastSeenAt`, the last time it was heard
 * from. A failed look says nothing about what a host serves: its batch's connection dropped, it restarted, it is
 * partitioned from us but not from its clients. A host that accepted the connection and cut it (or answered an error)
 * was heard from now; only silence (unreachable, timed out) ages `lastSeenAt`. A host never seen in the invocation
 * stays as it is: down from the start, it is judged as ARCHITECTURE.md ("Planner") says.
 */
export function rememberLastSeen(
  current: readonly HostObservation[],
  previous: { readonly observed: readonly HostObservation[]; readonly at: number } | undefined,
  at: number,
): readonly HostObservation[] {
  if (previous === undefined || current.every((o) => o.ok)) return current;
  const before = new Map(previous.observed.map((o) => [o.host, o]));
  return current.map((o) => {
    if (o.ok) return o;
    const last = before.get(o.host);
    const lastSeen = last === undefined ? undefined : last.ok ? last.backends : last.lastSeen;
    if (last === undefined || lastSeen === undefined) return o;
    const heard = last.ok ? previous.at : (last.lastSeenAt ?? previous.at);
    return { ...o, lastSeen, lastSeenAt: SILENT.has(o.error.code) ? heard : at };
  });
}
