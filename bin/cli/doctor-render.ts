// Operator CLI `doctor`: the report as text — one row per check, one column per host, then why, then the verdict line.
import { labelOf } from './doctor-report.js';
import type { CellState, DoctorCell, DoctorReport } from './doctor-types.js';
import { type Cell, count, styledTable, summaryLine } from './format.js';
import { tableLine } from './status-render.js';
import { type Paint, plain, type Style } from './style.js';

const STYLE = {
  OK: 'ok',
  WARNING: 'warning',
  CRITICAL: 'critical',
  UNKNOWN: 'unknown',
  INFO: 'muted',
} as const satisfies Record<CellState, Style>;

/** The text form of `doctor`. */
export function renderDoctor(report: DoctorReport, paint: Paint = plain): string {
  return `${doctorLines(report, paint).join('\n')}\n`;
}

/** Title, the check table, growth, what was not judged, every finding, and the summary line last. */
export function doctorLines(report: DoctorReport, paint: Paint = plain): string[] {
  const tableText = tableLine(report.table, paint);
  const backends = new Set(report.checks.flatMap((c) => (c.backend ? [c.backend] : []))).size;
  const lines = [
    summaryLine(['slot-sync doctor', count(report.hosts.length, 'host'), count(backends, 'backend'), tableText]),
    '',
  ];
  const hosts = report.hosts.map((h) => h.host);
  const rows = report.checks.map((c): Cell[] => [
    labelOf(c),
    { text: c.state === 'INFO' ? '-' : c.state, style: STYLE[c.state] },
    ...hosts.map((h) => cellText(c.hosts[h])),
  ]);
  lines.push(...styledTable(['CHECK', 'STATE', ...hosts], rows, paint), '');
  lines.push('growth:', ...report.growth.map((g) => `  ${g.backend}: ${growthText(g)}`));
  const section = (title: string, items: readonly string[], style: Style) => {
    if (items.length > 0) lines.push(paint(style, title), ...items.map((i) => `  ${i}`));
  };
  const t = report.table;
  if (!t.ok) section(`table ${t.name}:`, [t.error.message], 'critical');
  section('not judged (not observable over the Runtime API, or left to HAProxy):', notJudged(report), 'muted');
  section('findings:', findings(report), report.verdict.state === 'OK' ? 'ok' : STYLE[report.verdict.state]);
  const n = (state: CellState) =>
    report.checks.reduce((sum, c) => sum + Object.values(c.hosts).filter((x) => x.state === state).length, 0);
  lines.push(
    summaryLine([
      paint(STYLE[report.verdict.state], report.verdict.state),
      count(report.hosts.length, 'host'),
      count(backends, 'backend'),
      `${n('CRITICAL')} critical`,
      count(n('WARNING'), 'warning'),
      `${n('INFO')} not judged`,
    ]),
  );
  return lines;
}

function cellText(cell: DoctorCell | undefined): Cell {
  if (!cell) return '-';
  return { text: cell.value, style: cell.state === 'OK' ? undefined : STYLE[cell.state] };
}

function growthText(g: DoctorReport['growth'][number]): string {
  if (!g.enabled) return `off: ${g.reason ?? 'unknown'}`;
  const range = g.names.length > 0 ? `up to ${g.names.at(-1)} (${count(g.names.length, 'dynamic slot')})` : 'on';
  return g.reason ? `${range}; ${g.reason}` : range;
}

/** `CRITICAL  hap2 web backend: missing — no backend web on this host`, worst first. */
function findings(report: DoctorReport): string[] {
  const order: readonly CellState[] = ['CRITICAL', 'WARNING', 'UNKNOWN'];
  const found = report.checks.flatMap((c) =>
    Object.entries(c.hosts)
      .filter(([, cell]) => order.includes(cell.state))
      .map(([host, cell]) => ({ state: cell.state, text: `${host} ${labelOf(c)}: ${cell.value}${why(cell)}` })),
  );
  return order.flatMap((state) => found.filter((f) => f.state === state).map((f) => `${f.state.padEnd(8)}  ${f.text}`));
}

/** INFO cells that say something (not the '-' of a host or backend that was not there), one line per same finding. */
function notJudged(report: DoctorReport): string[] {
  const grouped = new Map<string, string[]>();
  for (const c of report.checks) {
    for (const [host, cell] of Object.entries(c.hosts)) {
      if (cell.state !== 'INFO' || cell.value === '-') continue;
      const key = `${labelOf(c)}: ${cell.value}${why(cell)}`;
      grouped.set(key, [...(grouped.get(key) ?? []), host]);
    }
  }
  return [...grouped].map(([text, hosts]) => `${hosts.join(', ')} ${text}`);
}

const why = (cell: DoctorCell) => (cell.detail ? ` — ${cell.detail}` : '');
