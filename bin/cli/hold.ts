// Operator CLI `drain` / `disable` / `enable`: table first (held state), then every host; per-host results printed.
import type { HostResult, SlotRecord } from '../../functions/lib/domain.js';
import type { AdminState } from '../../functions/lib/haproxy/commands.js';
import { holdSlot } from '../../functions/lib/services/hold.js';
import { syncSlot } from '../../functions/lib/services/sync-slot.js';
import type { CliArgs } from './args.js';
import type { CliContext } from './context.js';
import { EXIT } from './exit-codes.js';
import { json, type Output, table } from './format.js';
import { resolveTargets, type SlotTarget } from './target.js';

/** What one host did for one slot. */
export interface HostLine {
  readonly host: string;
  readonly ok: boolean;
  readonly commands: readonly string[];
  readonly error?: { readonly code: string; readonly message: string };
}

/** The outcome for one slot: the table record after the change and one line per host. */
export interface HoldOutcome {
  readonly backend: string;
  readonly slot: string;
  readonly record: SlotRecord;
  readonly hosts: readonly HostLine[];
}

const ADMIN = { drain: 'drain', disable: 'maint' } as const satisfies Record<string, AdminState>;
// Bounded wait for an enabled slot: long enough for a health-gated slot's first checks, short for an operator.
const ENABLE_WAIT_MS = 15_000;

/** `drain|disable|enable <backend>/<slot> | <instance-id>`: exit 1 when any host failed or did not converge. */
export async function runHold(args: CliArgs, ctx: CliContext, io: Output): Promise<number> {
  const targets = await resolveTargets(String(args.target), args.backend, ctx.config, ctx.deps.store);
  const outcomes: HoldOutcome[] = [];
  for (const t of targets) {
    outcomes.push(
      args.command === 'enable' ? await enable(t, ctx) : await hold(t, ADMIN[args.command as keyof typeof ADMIN], ctx),
    );
  }
  if (args.json) io.out(json({ action: args.command, slots: outcomes }));
  else io.out(renderHold(outcomes));
  return outcomes.every((o) => o.hosts.every((h) => h.ok)) ? EXIT.ok : EXIT.failed;
}

async function hold(t: SlotTarget, admin: AdminState, ctx: CliContext): Promise<HoldOutcome> {
  const { record, results } = await holdSlot(t.backend.name, t.slot, admin, ctx.deps);
  return { backend: t.backend.name, slot: t.slot, record, hosts: results.map((r) => hostLine(r.host, [r])) };
}

async function enable(t: SlotTarget, ctx: CliContext): Promise<HoldOutcome> {
  const record = await ctx.deps.store.unhold(t.backend.name, t.slot);
  const gate = t.backend.healthGate?.enabled ? t.backend.healthGate.timeoutSeconds * 1000 : 0;
  const until = ctx.deps.clock.now() + Math.max(gate, ENABLE_WAIT_MS);
  const outcome = await syncSlot(t.backend, record, ctx.deps, { until });
  const hosts = outcome.hosts.map((h): HostLine => {
    const line = hostLine(h.host, h.results);
    if (h.applied) return { ...line, ok: true, error: undefined };
    const error = h.awaitingHealth ? { code: 'AWAITING_HEALTH', message: 'no passing health check yet' } : h.error;
    return { ...line, ok: false, error: error ?? line.error ?? { code: 'DRIFT', message: 'not in step' } };
  });
  return { backend: t.backend.name, slot: t.slot, record, hosts };
}

function hostLine(host: string, results: readonly HostResult[]): HostLine {
  const commands = results.flatMap((r) => r.replies.map((c) => c.command));
  const failed = results.find((r) => !r.ok);
  return { host, ok: !failed, commands, error: failed?.error };
}

/** Text form: the table state of each slot, then one line per host (`ok` and the commands, or the error). */
export function renderHold(outcomes: readonly HoldOutcome[]): string {
  const lines: string[] = [];
  for (const o of outcomes) {
    const r = o.record;
    const state = r.state === 'held' && r.heldAdmin ? `held (${r.heldAdmin})` : r.state;
    lines.push(`${o.backend}/${o.slot}${r.member ? ` (${r.member})` : ''}: table ${state}`);
    const rows = o.hosts.map((h) => [
      `  ${h.host}`,
      h.ok ? 'ok' : 'FAILED',
      h.ok ? h.commands.join('; ') || 'already in step' : `${h.error?.code ?? ''} ${h.error?.message ?? ''}`.trim(),
    ]);
    lines.push(...table(['  HOST', 'RESULT', 'DETAIL'], rows));
  }
  return `${lines.join('\n')}\n`;
}
