// Narrowing an observation: the same hosts (failures kept as they are), only the rows of the given servers.
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
