// Merges one host's `show stat` and `show servers state` into the domain's ObservedSlot rows, each column from its reliable source.
import type { ObservedSlot } from '../domain/types.js';
import { ParseError } from '../errors.js';
import { CHECK_CONFIGURED, type ServerStateRow } from './parse-servers-state.js';
import { SERVER_TYPE, type StatRow } from './parse-stat.js';

/**
 * One ObservedSlot per server row, in `show stat` order. Admin state, address, port, weight and `hasCheck` come from
 * servers state (the bitmask and `srv_check_state` stay right in MAINT, where `show stat` empties its check columns);
 * sessions, status and check status from `show stat`. A server present in only one of the two → ParseError.
 */
export function mergeObserved(stat: readonly StatRow[], state: readonly ServerStateRow[]): ObservedSlot[] {
  // One backend per reply is the rule (`show stat <be> 4 -1`): then the server name alone is the key, which spares
  // building and hashing a `backend/server` string per row. Either way a key stands for exactly one backend/server.
  const backend = stat[0]?.backend ?? state[0]?.backend;
  const single = stat.every((r) => r.backend === backend) && state.every((r) => r.backend === backend);
  const keyOf = single
    ? (r: { server: string }) => r.server
    : (r: { backend: string; server: string }) => `${r.backend}/${r.server}`;
  const byName = new Map<string, ServerStateRow>();
  for (const row of state) {
    const key = keyOf(row);
    if (byName.has(key)) throw new ParseError(`show servers state lists ${row.backend}/${row.server} twice`);
    byName.set(key, row);
  }
  const seen = new Set<string>();
  const merged: ObservedSlot[] = [];
  for (const row of stat) {
    if (row.type !== SERVER_TYPE) continue;
    const key = keyOf(row);
    if (seen.has(key)) throw new ParseError(`show stat lists ${row.backend}/${row.server} twice`);
    seen.add(key);
    const st = byName.get(key);
    if (!st) throw new ParseError(`${row.backend}/${row.server} is in show stat but not in show servers state`);
    merged.push({
      backend: row.backend,
      server: row.server,
      address: st.address,
      port: st.port,
      admin: st.admin,
      weight: st.uweight,
      sessions: row.sessions,
      status: row.status,
      statusWord: row.statusWord,
      checkStatus: row.checkStatus,
      hasCheck: (st.checkState & CHECK_CONFIGURED) !== 0,
    });
  }
  const onlyInState = [...byName].filter(([key]) => !seen.has(key)).map(([, r]) => `${r.backend}/${r.server}`);
  if (onlyInState.length > 0)
    throw new ParseError(`${onlyInState.join(', ')} in show servers state but not in show stat`);
  return merged;
}
