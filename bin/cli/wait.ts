// Operator CLI `--wait`: after drain/disable/enable, follow each slot to the end with progress, then one result line.
import type { CliArgs } from './args.js';
import type { CliContext } from './context.js';
import { EXIT } from './exit-codes.js';
import { json, type Output } from './format.js';
import { ADMIN, type HoldOutcome, renderHold } from './hold.js';
import { listenForInterrupt } from './interrupt.js';
import { colourFor, type Paint } from './style.js';
import type { SlotTarget } from './target.js';
import { factText, pollUntil, type WaitOutcome } from './wait-loop.js';
import { duration, lineProgress, type ProgressView, terminalProgress } from './wait-progress.js';
import { readyRound } from './wait-ready.js';
import { sessionsRound } from './wait-sessions.js';

// A drain polls once a second, like the terminate path; a health check changes every inter (2 s by default).
const POLL_MS = { sessions: 1_000, ready: 500 } as const;
// Without --timeout an enable waits as long as the health gate would, and at least this long.
const ENABLE_MIN_WAIT_MS = 15_000;
const DEFAULT_DRAIN_MS = 300_000;

const silent: ProgressView = { show: () => {}, done: () => {} };

/** Waits for every slot in turn; 0 when each finished, 1 on a timeout or change, 130 (143) on Ctrl-C (SIGTERM). */
export async function runWait(
  args: CliArgs,
  ctx: CliContext,
  io: Output,
  env: Readonly<Record<string, string | undefined>>,
  targets: readonly SlotTarget[],
  outcomes: readonly HoldOutcome[],
): Promise<number> {
  const paint = colourFor({ isTTY: io.tty }, env);
  const say = (line: string) => {
    if (!args.json) io.out(`${line}\n`);
  };
  if (!args.json) io.out(renderHold(outcomes));
  const waits: { slot: string; outcome?: WaitOutcome; line: string }[] = [];
  const notApplied = outcomes.flatMap((o) =>
    o.hosts.filter((h) => !h.ok).map((h) => `${o.backend}/${o.slot} on ${h.host}`),
  );
  const interrupt = listenForInterrupt();
  try {
    if (notApplied.length > 0) {
      const line = `not waiting: the change did not reach ${notApplied.join(', ')}; the table and the hosts are left as they are`;
      waits.push({ slot: '', line });
      say(paint('critical', line));
    }
    for (const [i, target] of targets.entries()) {
      if (notApplied.length > 0) break;
      const held = outcomes[i] as HoldOutcome;
      const outcome = await waitFor(target, held, args, ctx, io, paint, interrupt.signal, say);
      const line = resultLine(args.command, held, outcome, interrupt.received());
      waits.push({ slot: `${held.backend}/${held.slot}`, outcome, line });
      const style = outcome.result === 'done' ? 'ok' : outcome.result === 'interrupted' ? 'warning' : 'critical';
      // On a terminal, Ctrl-C is echoed as `^C` where the cursor is: start the line over it.
      say(`${io.tty ? '\r\x1b[2K' : ''}${paint(style, line)}`);
      if (outcome.result !== 'done') break;
    }
  } finally {
    interrupt.dispose();
  }
  if (args.json) io.out(json({ action: args.command, slots: outcomes, wait: waits }));
  const last = waits.at(-1)?.outcome;
  if (notApplied.length > 0 || !last) return EXIT.failed;
  if (last.result === 'interrupted') return interrupt.received() === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
  return last.result === 'done' && waits.length === targets.length ? EXIT.ok : EXIT.failed;
}

async function waitFor(
  target: SlotTarget,
  held: HoldOutcome,
  args: CliArgs,
  ctx: CliContext,
  io: Output,
  paint: Paint,
  signal: AbortSignal,
  say: (line: string) => void,
): Promise<WaitOutcome> {
  const { clock, fleet } = ctx.deps;
  const enable = args.command === 'enable';
  const gate = target.backend.healthGate?.enabled ? target.backend.healthGate.timeoutSeconds * 1000 : 0;
  const drain = target.backend.drainSeconds > 0 ? target.backend.drainSeconds * 1000 : DEFAULT_DRAIN_MS;
  const timeout = args.timeoutMs ?? (enable ? Math.max(gate, ENABLE_MIN_WAIT_MS) : drain);
  const deadline = clock.now() + timeout;
  const goal = enable ? 'to be ready on every host' : 'to have no session left on any host';
  // On a terminal the hint stays under the bars; piped, it is said once.
  const hint = 'Ctrl-C leaves it as is';
  const tail = io.tty ? '' : `; ${hint}`;
  say(`waiting for ${name(held)} ${goal}; gives up in ${duration(timeout)} (${clockTime(deadline)})${tail}`);
  const view = args.json ? silent : io.tty ? terminalProgress(io, paint) : lineProgress(io, () => clock.now());
  const admin = ADMIN[args.command as keyof typeof ADMIN];
  const round = enable
    ? readyRound(target.backend, held.record, ctx.config, ctx.deps)
    : sessionsRound(fleet, target.backend.name, target.slot, admin);
  const pollMs = enable ? POLL_MS.ready : POLL_MS.sessions;
  return pollUntil(round, { deadline, pollMs, signal, view, clock, hint: io.tty ? hint : undefined });
}

function name(o: HoldOutcome): string {
  return `${o.backend}/${o.slot}${o.record.member ? ` (${o.record.member})` : ''}`;
}

function tableState(o: HoldOutcome): string {
  const r = o.record;
  return r.state === 'held' && r.heldAdmin ? `held (${r.heldAdmin})` : r.state;
}

/** The one line a wait ends with; anything but success says what it left and that nothing was undone. */
export function resultLine(
  command: CliArgs['command'],
  held: HoldOutcome,
  w: WaitOutcome,
  signal: NodeJS.Signals | undefined,
): string {
  const after = duration(w.elapsedMs);
  const asIs = `left as is: table ${tableState(held)}, hosts ${w.facts.map(factText).join(', ') || 'not observed yet'}`;
  if (w.result === 'done') {
    if (command === 'enable') return `ready: ${name(held)} is ready on every host (after ${after})`;
    return `${command === 'drain' ? 'drained' : 'disabled'}: ${name(held)} has no session left on any host (after ${after})`;
  }
  if (w.result === 'interrupted') return `interrupted (${signal ?? 'SIGINT'}) after ${after}, nothing undone; ${asIs}`;
  if (w.result === 'changed') return `stopped after ${after}: ${name(held)} was changed on a host meanwhile; ${asIs}`;
  const goal = command === 'enable' ? 'not ready on every host' : 'still has sessions';
  return `timed out after ${after}: ${name(held)} ${goal}; ${asIs}`;
}

function clockTime(epochMs: number): string {
  return `until ${new Date(epochMs).toTimeString().slice(0, 8)}`;
}
