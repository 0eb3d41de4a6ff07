// Operator CLI: a status report as text — hosts and versions, one column per host, findings, the verdict line last.
import { formatEndpoint } from '../../functions/lib/domain/values.js';
import { type Cell, count, driftLine, styledTable, summaryLine } from './format.js';
import type { HostCell, StatusReport, StatusRow, TableSide } from './status-model.js';
import { type Paint, plain, type Style } from './style.js';
import type { CheckState } from './verdict.js';

/** Marks a host cell whose slot differs from the table (also without colour). */
export const DRIFT_MARK = '*';
/** Separates the parts of a host cell: HAProxy's status holds spaces (`UP 1/3`), so a `/` would be ambiguous. */
export const CELL_SEPARATOR = ' · ';

const VERDICT_STYLE = {
  OK: 'ok',
  WARNING: 'warning',
  CRITICAL: 'critical',
  UNKNOWN: 'unknown',
} as const satisfies Record<CheckState, Style>;

/** The text form as lines: hosts, the slot table, a legend, every finding, then the summary line last. */
export function statusLines(report: StatusReport, paint: Paint = plain): string[] {
  const lines = [...hostLines(report, paint), ''];
  const hosts = report.hosts.map((h) => h.host);
  const header = ['SLOT', 'MEMBER', 'ADDRESS', 'WEIGHT', 'STATE', ...hosts];
  lines.push(
    ...styledTable(
      header,
      report.rows.map((r) => rowCells(r, report.table.ok)),
      paint,
    ),
  );
  lines.push(
    '',
    `host cells: status${CELL_SEPARATOR}sessions${CELL_SEPARATOR}check; ${DRIFT_MARK} = differs from the table`,
  );
  lines.push(...findings(report, paint));
  lines.push(summary(report, paint));
  return lines;
}

/** The text form of `status`. */
export function renderStatus(report: StatusReport, paint: Paint = plain): string {
  return `${statusLines(report, paint).join('\n')}\n`;
}

/** One line per host (endpoint, HAProxy version or why it failed), then which table was read. */
function hostLines(report: StatusReport, paint: Paint): string[] {
  const rows: Cell[][] = report.hosts.map((h) => [
    h.host,
    h.endpoint || '-',
    h.ok
      ? { text: h.version ? `HAProxy ${h.version}` : 'HAProxy (version unknown)' }
      : { text: `unreachable (${h.error?.code ?? 'FAILED'})`, style: 'critical' },
  ]);
  return [...styledTable(['HOST', 'ENDPOINT', 'VERSION'], rows, paint), tableLine(report.table, paint)];
}

function findings(report: StatusReport, paint: Paint): string[] {
  const lines: string[] = [];
  const section = (title: string, items: readonly string[], style: Style) => {
    if (items.length > 0) lines.push(paint(style, title), ...items.map((i) => `  ${i}`));
  };
  if (!report.table.ok) {
    section(
      `table ${report.table.name} (the rows above are what the hosts report):`,
      [report.table.error.message],
      'critical',
    );
  }
  section('drift:', report.drift.map(driftLine), 'drift');
  section('waiting for a first passing health check:', report.awaitingHealth.map(driftLine), 'warning');
  section(
    'drains past their deadline (reconcile finishes them):',
    report.overdueDrains.map(
      (d) => `${d.backend}/${d.slot}${d.member ? ` (${d.member})` : ''} since ${new Date(d.deadline).toISOString()}`,
    ),
    'warning',
  );
  section('no free slot left (a launch gets none):', report.noFreeSlot, 'critical');
  const failed = report.hosts.filter((h) => !h.ok);
  section(
    'failed hosts:',
    failed.map((h) => `${h.host}: ${h.error?.code ?? 'FAILED'} ${h.error?.message ?? ''}`.trim()),
    'critical',
  );
  return lines;
}

/** `OK · 2 hosts · 4 slots · 2 active · 2 free · 0 drift · 0 failed`: the verdict first, then the counts. */
export function summary(report: StatusReport, paint: Paint = plain): string {
  const s = report.summary;
  const verdict = paint(VERDICT_STYLE[report.verdict.state], report.verdict.state);
  if (!report.table.ok) {
    return summaryLine([verdict, count(s.hosts, 'host'), 'table unreachable', `${s.failed} failed`]);
  }
  const optional = [
    s.draining > 0 ? `${s.draining} draining` : '',
    s.held > 0 ? `${s.held} held` : '',
    s.awaitingHealth > 0 ? `${s.awaitingHealth} awaiting health` : '',
    s.overdueDrains > 0 ? `${s.overdueDrains} overdue` : '',
  ];
  return summaryLine(
    [
      verdict,
      count(s.hosts, 'host'),
      count(s.slots, 'slot'),
      `${s.active} active`,
      `${s.free} free`,
      ...optional,
      `${s.drift} drift`,
      `${s.failed} failed`,
    ].filter(Boolean),
  );
}

const STATE_STYLE: Partial<Record<StatusRow['state'], Style>> = {
  active: 'ok',
  free: 'muted',
  draining: 'warning',
  held: 'warning',
  unknown: 'critical',
};

function rowCells(r: StatusRow, tableOk: boolean): Cell[] {
  const address = r.address === undefined ? '-' : formatEndpoint(r.address, r.port);
  const state = !tableOk ? '?' : r.state === 'held' && r.heldAdmin ? `held:${r.heldAdmin}` : r.state;
  return [
    `${r.backend}/${r.slot}`,
    r.member ?? '-',
    address,
    r.weight === undefined ? '-' : String(r.weight),
    { text: state, style: tableOk ? STATE_STYLE[r.state] : 'muted' },
    ...r.hosts.map(hostCell),
  ];
}

const STATUS_STYLE: Readonly<Record<string, Style>> = {
  UP: 'ok',
  DOWN: 'critical',
  NOLB: 'warning',
  DRAIN: 'warning',
  MAINT: 'muted',
};

/** `UP 1/3 · 0 · L7OK`; `DOWN (drain) · 0 · L4CON` when HAProxy's status hides the admin state; ` *` for drift. */
export function hostCell(c: HostCell): Cell {
  if (!c.reachable) return { text: 'unreachable', style: 'critical' };
  const drifted = c.drift.length > 0;
  // A dynamic slot nobody holds has no server on purpose (ARCHITECTURE.md, "Growth"): absent, not missing.
  if (!c.present)
    return drifted ? { text: `missing ${DRIFT_MARK}`, style: 'drift' } : { text: 'absent', style: 'muted' };
  const word = c.status.split(' ')[0] ?? '';
  // A drained server whose check fails reads `DOWN`, not `DRAIN`: say what the operator set as well.
  const hidden = (c.admin === 'drain' && word !== 'DRAIN') || (c.admin === 'maint' && word !== 'MAINT');
  const status = hidden ? `${c.status} (${c.admin})` : c.status;
  const text = [status, String(c.sessions), c.check || '-'].join(CELL_SEPARATOR) + (drifted ? ` ${DRIFT_MARK}` : '');
  const style: Style | undefined = drifted ? 'drift' : c.awaitingHealth ? 'warning' : STATUS_STYLE[word];
  return { text, style };
}

/** The slot table's line under a header (status, watch, doctor): read, or which side failed and why. */
export function tableLine(t: TableSide, paint: Paint): string {
  if (t.ok) return `table ${t.name} (DynamoDB): read`;
  const why = t.cause === 'unreachable' ? 'unreachable' : 'not usable';
  return paint('critical', `table ${t.name} (DynamoDB): ${why} (${t.error.code})`);
}
