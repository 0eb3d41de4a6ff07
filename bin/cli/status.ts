// Operator CLI `status`: one row per slot (member, address, table state) and per host status/scur/check, drift marked.
import { formatEndpoint } from '../../functions/lib/plan-slot.js';
import type { CliArgs } from './args.js';
import { type CliContext, selectBackends } from './context.js';
import { EXIT } from './exit-codes.js';
import { count, driftLine, json, type Output, summaryLine, table } from './format.js';
import { buildStatus, type HostCell, type StatusReport, type StatusRow } from './status-model.js';

/** Marks a host cell whose slot differs from the table. */
export const DRIFT_MARK = '*';

/** `slot-sync status [--backend B] [--json]`: exit 1 when any slot drifted or any host failed. */
export async function runStatus(args: CliArgs, ctx: CliContext, io: Output): Promise<number> {
  const report = await buildStatus(selectBackends(ctx.config, args.backend), ctx.deps);
  if (args.json) io.out(json(report));
  else io.out(renderStatus(report));
  return report.summary.drift > 0 || report.summary.failed > 0 ? EXIT.failed : EXIT.ok;
}

/** The text form: the table, a legend, drift details, failed hosts, then the summary line last. */
export function renderStatus(report: StatusReport): string {
  const hosts = report.hosts.map((h) => h.host);
  const header = ['SLOT', 'MEMBER', 'ADDRESS', 'WEIGHT', 'STATE', ...hosts];
  const lines = table(header, report.rows.map(rowCells));
  lines.push('', `host cells: status/scur/check; ${DRIFT_MARK} = differs from the table`);
  if (report.drift.length > 0) lines.push('drift:', ...report.drift.map((d) => `  ${driftLine(d)}`));
  const failed = report.hosts.filter((h) => !h.ok);
  if (failed.length > 0) {
    lines.push(
      'failed hosts:',
      ...failed.map((h) => `  ${h.host}: ${h.error?.code ?? 'FAILED'} ${h.error?.message ?? ''}`),
    );
  }
  lines.push(summary(report));
  return `${lines.join('\n')}\n`;
}

function summary(report: StatusReport): string {
  const s = report.summary;
  const optional = [s.draining > 0 ? `${s.draining} draining` : '', s.held > 0 ? `${s.held} held` : ''];
  return summaryLine(
    [
      count(s.hosts, 'host'),
      count(s.slots, 'slot'),
      `${s.active} active`,
      ...optional,
      `${s.drift} drift`,
      `${s.failed} failed`,
    ].filter(Boolean),
  );
}

function rowCells(r: StatusRow): string[] {
  const address = r.address === undefined ? '-' : formatEndpoint(r.address, r.port);
  const state = r.state === 'held' && r.heldAdmin ? `held:${r.heldAdmin}` : r.state;
  return [
    `${r.backend}/${r.slot}`,
    r.member ?? '-',
    address,
    r.weight === undefined ? '-' : String(r.weight),
    state,
    ...r.hosts.map(hostCell),
  ];
}

function hostCell(c: HostCell): string {
  if (!c.reachable) return 'unreachable';
  const mark = c.drift.length > 0 ? DRIFT_MARK : '';
  if (!c.present) return `missing${mark}`;
  return `${c.status}${mark}/${c.sessions}/${c.check || '-'}`;
}
