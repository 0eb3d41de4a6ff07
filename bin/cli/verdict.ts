// Operator CLI: one monitoring verdict (status, doctor) — the Nagios plugin states, worst first, with reasons.
import { CHECK, type CheckCode } from './exit-codes.js';
import type { StatusReport } from './status-model.js';

/** The Nagios plugin states, in the order a worse one wins (CRITICAL > WARNING > UNKNOWN > OK, as max_state_alt). */
export const STATES = ['OK', 'UNKNOWN', 'WARNING', 'CRITICAL'] as const;
export type CheckState = (typeof STATES)[number];

const CODE = { OK: CHECK.ok, WARNING: CHECK.warning, CRITICAL: CHECK.critical, UNKNOWN: CHECK.unknown } as const;

/** One finding that sets the verdict. */
export interface Reason {
  readonly state: Exclude<CheckState, 'OK'>;
  readonly text: string;
}

/** What `status` exits with, and why; `--json` carries the same object. */
export interface Verdict {
  readonly state: CheckState;
  readonly code: CheckCode;
  readonly reasons: readonly Reason[];
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * CRITICAL: a host unreachable or refusing, the table unreachable, a backend without a free slot. WARNING: drift, a
 * slot waiting for its health check, a drain past its deadline. UNKNOWN: the table could not be read because of the
 * configuration (credentials, region, table name), so the check itself is not set up right.
 */
export function verdictOf(report: Omit<StatusReport, 'verdict'>): Verdict {
  const reasons: Reason[] = [];
  for (const h of report.hosts) {
    if (!h.ok) reasons.push({ state: 'CRITICAL', text: `${h.host} ${h.error?.code ?? 'FAILED'}` });
  }
  if (!report.table.ok) {
    const state = report.table.cause === 'unreachable' ? 'CRITICAL' : 'UNKNOWN';
    reasons.push({ state, text: `table ${report.table.error.code}` });
  }
  for (const backend of report.noFreeSlot) reasons.push({ state: 'CRITICAL', text: `no free slot in ${backend}` });
  const s = report.summary;
  if (s.drift > 0) reasons.push({ state: 'WARNING', text: `${s.drift} drift` });
  if (s.awaitingHealth > 0) {
    reasons.push({ state: 'WARNING', text: `${plural(s.awaitingHealth, 'slot', 'slots')} waiting for a health check` });
  }
  if (s.overdueDrains > 0) {
    reasons.push({ state: 'WARNING', text: `${plural(s.overdueDrains, 'drain', 'drains')} past the deadline` });
  }
  return verdictFrom(reasons);
}

/** The worst state among `reasons` (OK when there is none), with its exit code: any check's verdict. */
export function verdictFrom(reasons: readonly Reason[]): Verdict {
  const state = reasons.reduce<CheckState>(
    (worst, r) => (STATES.indexOf(r.state) > STATES.indexOf(worst) ? r.state : worst),
    'OK',
  );
  return { state, code: CODE[state], reasons };
}

/** A verdict for a status that could not even start (usage, environment, config): UNKNOWN with that one reason. */
export function unknownVerdict(text: string): Verdict {
  return { state: 'UNKNOWN', code: CHECK.unknown, reasons: [{ state: 'UNKNOWN', text }] };
}
