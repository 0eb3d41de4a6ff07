// Merges one host's `show stat` and `show servers state` into the domain's ObservedSlot rows, each column from its reliable source.
import type { ObservedSlot } from '../domain/types.js';
import { ParseError } from '../errors.js';
import { CHECK_CONFIGURED, type ServerStateRow } from './parse-servers-state.js';
import type { StatRow } from './parse-stat.js';

const SERVER_TYPE = 2;

/**
 * One ObservedSlot per server row, in `show stat` order. Admin state, address, port, weight and `hasCheck` come from
 * servers state (the bitmask and `srv_check_state` stay right in MAINT, where `show stat` empties its check columns);
 * sessions, status and check status from `show stat`. A server present in only one of the two → ParseError.
 */
export function mergeObserved(stat: readonly StatRow[], state: readonly ServerStateRow[]): ObservedSlot[] {
  const byName = new Map<string, ServerStateRow>();
  for (const row of state) {
    const key = `${row.backend}/${row.server}`;
    if (byName.has(key)) throw new ParseError(`show servers state lists ${key} twice`);
    byName.set(key, row);
  }
  const seen = new Set<string>();
  const merged: ObservedSlot[] = [];
  for (const row of stat) {
    if (row.type !== SERVER_TYPE) continue;
    const key = `${row.backend}/${row.server}`;
    if (seen.has(key)) throw new ParseError(`show stat lists ${key} twice`);
    seen.add(key);
    const st = byName.get(key);
    if (!st) throw new ParseError(`${key} is in show stat but not in show servers state`);
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
  const onlyInState = [...byName.keys()].filter((key) => !seen.has(key));
  if (onlyInState.length > 0)
    throw new ParseError(`${onlyInState.join(', ')} in show servers state but not in show stat`);
  return merged;
}
