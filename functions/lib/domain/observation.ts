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

/**
 * `current`, with each host that failed it but answered an earlier look of this invocation (`previous`, made at
 * `previousAt`, itself carried) given `lastSeen`: the rows it showed then, and when. A failed look says nothing about
 * what a host serves: its batch's connection dropped, it restarted, it is partitioned from us but not from its clients.
 * A host never seen in the invocation stays as it is: down from the start, it is judged as ARCHITECTURE.md ("Planner")
 * says.
 */
export function rememberLastSeen(
  current: readonly HostObservation[],
  previous: { readonly observed: readonly HostObservation[]; readonly at: number } | undefined,
): readonly HostObservation[] {
  if (previous === undefined || current.every((o) => o.ok)) return current;
  const before = new Map(previous.observed.map((o) => [o.host, o]));
  return current.map((o) => {
    if (o.ok) return o;
    const last = before.get(o.host);
    if (last === undefined) return o;
    if (last.ok) return { ...o, lastSeen: last.backends, lastSeenAt: previous.at };
    return last.lastSeen === undefined ? o : { ...o, lastSeen: last.lastSeen, lastSeenAt: last.lastSeenAt };
  });
}
