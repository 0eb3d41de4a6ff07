// Operator CLI `doctor`: one check row from a cell per host, its worst state, and the cells every check shares.
import type { CellState, DoctorCell, DoctorCheck, HostFacts } from './doctor-types.js';
import { STATES } from './verdict.js';

/** A host that could not be asked: every check after `reachable` is left unjudged there. */
export const NOT_CHECKED: DoctorCell = { state: 'INFO', value: '-', detail: 'not checked: the host did not answer' };

/** The worse of two cell states; INFO loses to everything judged. */
export function worse(a: CellState, b: CellState): CellState {
  if (a === 'INFO') return b;
  if (b === 'INFO') return a;
  return STATES.indexOf(b) > STATES.indexOf(a) ? b : a;
}

/** One row: `cellOf` for every host (hosts that did not answer get NOT_CHECKED unless `always`). */
export function checkRow(
  check: string,
  source: string,
  hosts: readonly HostFacts[],
  cellOf: (h: HostFacts) => DoctorCell,
  options: { readonly backend?: string; readonly always?: boolean } = {},
): DoctorCheck {
  const cells = Object.fromEntries(
    hosts.map((h) => [h.host, h.error && !options.always ? NOT_CHECKED : cellOf(h)] as const),
  );
  const state = Object.values(cells).reduce<CellState>((w, c) => worse(w, c.state), 'INFO');
  return { check, ...(options.backend ? { backend: options.backend } : {}), source, state, hosts: cells };
}
