// Reads each host's BACKEND row of a backend (`show stat <be> 2 -1`): the balance algorithm growth depends on.
import { showBackendStat } from '../domain/commands.js';
import type { HostAlgorithm } from '../domain/growth.js';
import type { HaproxyFleet } from '../ports.js';
import { parseShowStat } from './parse-stat.js';

const BACKEND_TYPE = 1;

/** Per host, the backend's `algo`; a host that fails (or lacks the backend) reports none. */
export async function backendAlgorithms(fleet: HaproxyFleet, backend: string): Promise<HostAlgorithm[]> {
  const results = await fleet.broadcast([showBackendStat(backend)]);
  return results.map((r) => {
    if (!r.ok) return { host: r.host };
    try {
      const row = parseShowStat(r.replies[0]?.reply ?? '').find((x) => x.type === BACKEND_TYPE);
      return { host: r.host, algo: row?.fields.algo };
    } catch {
      return { host: r.host };
    }
  });
}
