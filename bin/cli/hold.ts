// Operator CLI `drain` / `disable` / `enable`: table first (held state), then every host; per-host results printed.

import type { HoldAdmin } from '../../functions/lib/domain/lifecycle.js';
import type { HostResult, SlotRecord } from '../../functions/lib/domain/types.js';
import { changeSlot } from '../../functions/lib/services/change-slot.js';
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
  /** Done as far as this command goes, but not over yet: the health gate still waits for a passing check. */
  readonly pending?: string;
}

const AWAITING_HEALTH = 'waits for its first passing health check (reconcile then sets it ready; --wait follows it)';

/** The outcome for one slot: the table record after the change and one line per host. */
export interface HoldOutcome {
  readonly backend: string;
  readonly slot: string;
  readonly record: SlotRecord;
  readonly hosts: readonly HostLine[];
}

/** The admin state `drain` and `disable` hold a slot in. */
export const ADMIN = { drain: 'drain', disable: 'maint' } as const satisfies Record<string, HoldAdmin>;

/**
 * `drain|disable|enable <backend>/<slot> | <instance-id> [--wait]`: exit 1 when any host failed or did not converge.
 * Without --wait, enable returns once every host was told (a health-gated slot then waits for its check, which
 * reconcile finishes); `--wait` follows either to the end (wait.ts).
 */
export async function runHold(
  args: CliArgs,
  ctx: CliContext,
  io: Output,
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  const targets = await resolveTargets(String(args.target), args.backend, ctx.config, ctx.deps.store);
  const outcomes: HoldOutcome[] = [];
  for (const t of targets) {
    outcomes.push(
      args.command === 'enable' ? await enable(t, ctx) : await hold(t, ADMIN[args.command as keyof typeof ADMIN], ctx),
    );
  }
  if (args.wait) return (await import('./wait.js')).runWait(args, ctx, io, env, targets, outcomes);
  if (args.json) io.out(json({ action: args.command, slots: outcomes }));
  else io.out(renderHold(outcomes));
  return outcomes.every((o) => o.hosts.every((h) => h.ok)) ? EXIT.ok : EXIT.failed;
}

/** A target named by instance id changes only while that instance still owns the slot. */
function at(t: SlotTarget) {
  return { slot: t.slot, member: t.member };
}

async function hold(t: SlotTarget, admin: HoldAdmin, ctx: CliContext): Promise<HoldOutcome> {
  // until = now: the table first, then one converge step (commands and a read-back); --wait follows the drain.
  const event = { kind: 'hold', admin } as const;
  const until = ctx.deps.clock.now();
  const r = await changeSlot({ backend: t.backend, at: at(t), event, until }, ctx.config, ctx.deps);
  const hosts = r.hosts.map((h): HostLine => {
    const line = hostLine(h.host, h.results);
    return h.applied ? { ...line, ok: true, error: undefined } : { ...line, ok: false, error: h.error ?? line.error };
  });
  return { backend: t.backend.name, slot: t.slot, record: r.record, hosts };
}

async function enable(t: SlotTarget, ctx: CliContext): Promise<HoldOutcome> {
  // until = now: one converge step (commands, then a fresh look); waiting for a health check is --wait's job.
  const event = { kind: 'unhold' } as const;
  const until = ctx.deps.clock.now();
  const outcome = await changeSlot({ backend: t.backend, at: at(t), event, until }, ctx.config, ctx.deps);
  const record = outcome.record;
  const hosts = outcome.hosts.map((h): HostLine => {
    const line = hostLine(h.host, h.results);
    // Before `applied`: a slot the gate holds in drain counts as applied, but it is not ready yet.
    if (h.awaitingHealth) return { ...line, ok: true, error: undefined, pending: AWAITING_HEALTH };
    if (h.applied) return { ...line, ok: true, error: undefined };
    return { ...line, ok: false, error: h.error ?? line.error ?? { code: 'DRIFT', message: 'not in step' } };
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
      h.ok ? (h.pending ? 'waiting' : 'ok') : 'FAILED',
      h.ok
        ? [h.commands.join('; ') || (h.pending ? '' : 'already in step'), h.pending ?? ''].filter(Boolean).join('; ')
        : `${h.error?.code ?? ''} ${h.error?.message ?? ''}`.trim(),
    ]);
    lines.push(...table(['  HOST', 'RESULT', 'DETAIL'], rows));
  }
  return `${lines.join('\n')}\n`;
}
