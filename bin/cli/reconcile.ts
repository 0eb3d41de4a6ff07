// Operator CLI `reconcile [--dry-run]`: prints the plan as the exact commands per host; applies it unless --dry-run.
import { renderCommand } from '../../functions/lib/haproxy/commands.js';
import type { Drift } from '../../functions/lib/plan/types.js';
import { type PassError, type ReconcileReport, reconcile } from '../../functions/lib/services/reconcile.js';
import type { CliArgs } from './args.js';
import { type CliContext, selectBackends } from './context.js';
import { EXIT } from './exit-codes.js';
import { oneLine } from './explain.js';
import { count, driftLine, json, type Output, summaryLine } from './format.js';

// How long one CLI pass may wait for first passing checks (the scheduled Lambda has up to its timeout).
const RECONCILE_WAIT_MS = 10_000;

// Waiting for a first passing check is the health gate at work: reported, but not drift that "remained".
const countsAsDrift = (d: Drift) => d.kind !== 'awaiting-health';

/**
 * One reconcile pass over the selected backends. After applying, a dry-run pass checks what the hosts now report,
 * so exit 0 means "in step", not "commands were sent". Exit 1 when drift remains, a host failed (a stale plan, never
 * written, is not a failure by itself: the check after the pass judges what it left), or the pass could not carry out a
 * transition or an owed lifecycle completion (`errors`).
 */
export async function runReconcile(args: CliArgs, ctx: CliContext, io: Output): Promise<number> {
  const backends = selectBackends(ctx.config, args.backend);
  // Like the scheduled pass: slots it programs behind the health gate are waited for (and promoted) within it.
  const until = ctx.deps.clock.now() + RECONCILE_WAIT_MS;
  const report = await reconcile({ backends, dryRun: args.dryRun, until }, ctx.config, ctx.deps);
  const after = args.dryRun ? report : await reconcile({ backends, dryRun: true }, ctx.config, ctx.deps);
  const remaining = after.drift.filter(countsAsDrift);
  // The report names a stale round (its plan expired unsent) only when no later round of the pass planned its slots
  // again. It still sent nothing: whether the hosts ended in step is what the check after the pass says, so only the
  // pass's other failures count here.
  const written = report.hosts.filter((h) => !h.ok && h.error?.code !== 'STALE_PLAN');
  const failed = new Set([...written, ...after.failures].map((f) => f.host));
  if (args.json) io.out(json(reconcileJson(report, remaining, [...failed])));
  else io.out(renderReconcile(report, remaining, failed.size));
  return remaining.length > 0 || failed.size > 0 || report.errors.length > 0 ? EXIT.failed : EXIT.ok;
}

/** The JSON form: the report with each planned command as its text (the drift is listed once, at the top). */
export function reconcileJson(report: ReconcileReport, remaining: readonly Drift[], failedHosts: readonly string[]) {
  const { plan: p, ...rest } = report;
  const batches = p.batches.map((b) => ({ host: b.host, commands: b.commands.map(renderCommand) }));
  return {
    ...rest,
    plan: { batches, transitions: p.transitions, unreachable: p.unreachable },
    remainingDrift: remaining,
    failedHosts,
  };
}

// Auto Scaling's Query API names it AccessDenied; JSON APIs AccessDeniedException.
const DENIED = new Set(['AccessDenied', 'AccessDeniedException']);

/** One thing the pass could not do, with what to do about a refusal of the operator's credentials. */
function errorLine(e: PassError): string {
  const hint = DENIED.has(e.code)
    ? " (attach the stack's OperatorPolicy to these credentials: it may complete the mapped groups' lifecycle actions; the stack outputs its ARN as OperatorPolicyArn)"
    : '';
  return `  ${e.what}: ${e.code}: ${oneLine(e.message)}${hint}`;
}

/** Text form: the plan per host, drift found, what was applied, drift left, then the summary line. */
export function renderReconcile(report: ReconcileReport, remaining: readonly Drift[], failed: number): string {
  const p = report.plan;
  const later = report.rounds > 1 ? ` (the first round of ${report.rounds}; later ones below under applied)` : '';
  const lines = [report.dryRun ? 'plan (dry run: nothing was changed on the hosts or in the table):' : `plan${later}:`];
  for (const h of report.hosts) {
    const batch = p.batches.find((b) => b.host === h.host);
    const down = p.unreachable.find((u) => u.host === h.host);
    if (down) lines.push(`  ${h.host}: unreachable (${down.code}: ${down.message})`);
    else if (!batch) lines.push(`  ${h.host}: nothing to send`);
    else
      lines.push(
        `  ${h.host}: ${count(batch.commands.length, 'command')}`,
        ...batch.commands.map((c) => `    ${renderCommand(c)}`),
      );
  }
  if (report.drift.length > 0) lines.push('drift found:', ...report.drift.map((d) => `  ${driftLine(d)}`));
  for (const s of report.seeded) lines.push(`seeded ${s.backend}: ${s.created.join(', ')}`);
  for (const d of report.disagreements) {
    lines.push(
      `slot sets differ on ${d.host} (${d.backend}): missing ${d.missing.join(', ') || '-'}, extra ${d.extra.join(', ') || '-'}`,
    );
  }
  for (const t of p.transitions.filter((x) => x.kind === 'drain-finished' || x.kind === 'drain-deadline')) {
    const done = report.releases.find((r) => r.backend === t.backend && r.slot === t.slot);
    const what = report.dryRun ? 'would be freed' : done?.released ? 'freed' : 'not freed (changed meanwhile)';
    const reason = t.kind === 'drain-finished' ? 'drained' : 'deadline';
    lines.push(`drain over (${reason}): ${t.backend}/${t.slot} of ${t.member} ${what}`);
  }
  for (const l of report.launches) lines.push(`launch of ${l.member} in ${l.backend}/${l.slot} completed: ${l.result}`);
  if (report.errors.length > 0) lines.push('not done (the next pass tries again):', ...report.errors.map(errorLine));
  if (!report.dryRun) {
    lines.push('applied:');
    for (const h of report.hosts) {
      const result = h.ok ? 'ok' : `FAILED ${h.error?.code ?? ''} ${h.error?.message ?? ''}`.trimEnd();
      lines.push(`  ${h.host}: ${result}, ${h.fixed}/${count(h.commandsSent, 'command')} succeeded`);
    }
    if (remaining.length > 0) lines.push('drift remaining:', ...remaining.map((d) => `  ${driftLine(d)}`));
  }
  // Applied: what every round of the pass sent (a gate's promotion and a move's re-address follow the plan above), as
  // the `applied` lines count it. A dry run has only the plan.
  const commands = report.dryRun
    ? p.batches.reduce((n, b) => n + b.commands.length, 0)
    : report.hosts.reduce((n, h) => n + h.commandsSent, 0);
  lines.push(
    summaryLine([
      count(report.hosts.length, 'host'),
      count(report.slots, 'slot'),
      `${report.drift.filter(countsAsDrift).length} drift`,
      `${count(commands, 'command')}${report.dryRun ? ' planned' : ' sent'}`,
      ...(report.dryRun ? [] : [`${remaining.length} drift remaining`]),
      `${failed} failed`,
    ]),
  );
  return `${lines.join('\n')}\n`;
}
