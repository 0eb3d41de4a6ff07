// Operator CLI `watch`: status refreshed in place on a terminal (full screen), or one plain block per refresh when piped.
import type { CliArgs } from './args.js';
import { type CliContext, selectBackends } from './context.js';
import { EXIT } from './exit-codes.js';
import { explain } from './explain.js';
import type { Output } from './format.js';
import { pause } from './interrupt.js';
import { enterScreen, fitWidth, type Screen } from './screen.js';
import { statusContext } from './status.js';
import { buildStatus } from './status-model.js';
import { statusLines } from './status-render.js';
import { colourFor, type Paint, plain } from './style.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `slot-sync watch [--backend B] [--interval S]` until `q`, Ctrl-C or SIGTERM; exit 0 (leaving is the normal end).
 * A refresh that fails is shown in place of the table and the next one tries again.
 */
export async function runWatch(args: CliArgs, ctx: CliContext, io: Output, env: Env): Promise<number> {
  const backends = selectBackends(ctx.config, args.backend);
  const context = statusContext(args, ctx, env);
  const quit = new AbortController();
  const leave = () => quit.abort();
  const full = io.tty === true && process.stdin.isTTY === true;
  const paint = full ? colourFor({ isTTY: true }, env) : plain;
  let last: readonly string[] = [];
  let screen: Screen | undefined;
  const draw = () => {
    if (!screen) return;
    screen.draw(frameFor(last, screen.rows).map((l) => fitWidth(l, screen?.columns ?? 80)));
  };
  // Piped: no screen and no raw keys; SIGINT/SIGTERM end it (restoring nothing, since nothing was changed).
  const signals = ['SIGINT', 'SIGTERM'] as const;
  if (full) screen = enterScreen(leave, draw);
  else for (const s of signals) process.on(s, leave);
  // `q` must leave at once, not after a slow host's timeout: a refresh still running is abandoned (the process exits).
  const quitting = new Promise<undefined>((resolve) => quit.signal.addEventListener('abort', () => resolve(undefined)));
  try {
    while (!quit.signal.aborted) {
      const started = ctx.deps.clock.now();
      const refresh = buildStatus(backends, ctx.deps, context).then(
        (report) => statusLines(report, paint),
        (error: unknown) => {
          const e = explain(error, { env, service: 'DynamoDB' });
          return [paint('critical', `refresh failed: ${e.code}: ${e.sentence}`)];
        },
      );
      const body = await Promise.race([refresh, quitting]);
      if (body === undefined || quit.signal.aborted) break;
      last = [header(args, started, paint, full), '', ...body];
      if (screen) draw();
      else io.out(`${last.join('\n')}\n\n`);
      await pause(args.intervalMs, quit.signal);
    }
  } finally {
    screen?.restore();
    for (const s of signals) process.off(s, leave);
  }
  return EXIT.ok;
}

function header(args: CliArgs, at: number, paint: Paint, keys: boolean): string {
  const parts = [
    paint('heading', 'slot-sync watch'),
    args.backend ? `backend ${args.backend}` : 'all backends',
    `every ${args.intervalMs / 1000}s`,
    `refreshed ${new Date(at).toTimeString().slice(0, 8)}`,
  ];
  return [...parts, keys ? 'q or Ctrl-C quits' : 'Ctrl-C quits'].join(' · ');
}

/** What fits: the first lines, and always the summary line last (it is the verdict), with a note of what was cut. */
export function frameFor(lines: readonly string[], rows: number): readonly string[] {
  if (lines.length <= rows) return lines;
  const keep = Math.max(1, rows - 2);
  const summary = lines.at(-1) ?? '';
  return [
    ...lines.slice(0, keep),
    `… ${lines.length - keep - 1} more lines (a taller terminal or --backend shows them)`,
    summary,
  ];
}
