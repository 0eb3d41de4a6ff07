// Operator CLI `doctor`, pure: facts → every check row, the fleet's growth, and one verdict (the worst cell wins).
import { backendChecks } from './doctor-backend-checks.js';
import { hostChecks } from './doctor-host-checks.js';
import type { DoctorCheck, DoctorFacts, DoctorReport } from './doctor-types.js';
import { type Reason, verdictFrom } from './verdict.js';

/** Judges the facts: host rows first, then each backend's rows, in config order. */
export function judge(facts: DoctorFacts): DoctorReport {
  const perBackend = facts.backends.map((b) => backendChecks(b, facts.hosts, facts.table));
  const checks = [...hostChecks(facts.hosts), ...perBackend.flatMap((p) => p.checks)];
  const side = facts.table.side;
  const tableReason: Reason[] = side.ok
    ? []
    : [{ state: side.cause === 'unreachable' ? 'CRITICAL' : 'UNKNOWN', text: `table ${side.error.code}` }];
  return {
    verdict: verdictFrom([...tableReason, ...reasons(checks)]),
    at: facts.at,
    table: side,
    hosts: facts.hosts.map((h) => ({ host: h.host, endpoint: h.endpoint })),
    checks,
    growth: perBackend.map((p) => p.growth),
  };
}

/** The label of a row as text and reasons show it: `web slots`, `cli level`. */
export function labelOf(check: Pick<DoctorCheck, 'check' | 'backend'>): string {
  return check.backend ? `${check.backend} ${check.check}` : check.check;
}

/** One reason per judged cell that is not OK: `hap2 web slots: 3: web1-web3`. */
function reasons(checks: readonly DoctorCheck[]): Reason[] {
  return checks.flatMap((c) =>
    Object.entries(c.hosts).flatMap(([host, cell]): Reason[] =>
      cell.state === 'OK' || cell.state === 'INFO'
        ? []
        : [{ state: cell.state, text: `${host} ${labelOf(c)}: ${cell.value}` }],
    ),
  );
}
