// Operator CLI entry: parse argv, load the config contract, run one command, map every outcome to an exit code.
import { ConfigError, InvalidArgumentError, SlotSyncError } from '../../functions/lib/errors.js';
import type { ServiceLog } from '../../functions/lib/services/deps.js';
import { type CliArgs, parseCommandLine } from './args.js';
import type { CliContext } from './context.js';
import { EXIT } from './exit-codes.js';
import type { Output } from './format.js';
import { USAGE, UsageError } from './usage.js';
import { versionLine } from './version.js';

/** stdout / stderr of the process. */
export const processOutput: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Runs `slot-sync` with `argv` (no `node`, no script) and returns the exit code; never throws. */
export async function main(
  argv: readonly string[],
  env: Record<string, string | undefined> = process.env,
  io: Output = processOutput,
): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCommandLine(argv);
  } catch (error) {
    return fail(error, io);
  }
  if (args.command === 'help') {
    io.out(USAGE);
    return EXIT.ok;
  }
  if (args.command === 'version') {
    io.out(versionLine());
    return EXIT.ok;
  }
  if (args.command === 'completion') return (await import('./completion.js')).runCompletion(args, io);
  let ctx: CliContext | undefined;
  try {
    // Loaded only for a real command: the AWS SDK costs a second of startup that --help and usage errors need not pay.
    const { loadContext } = await import('./context.js');
    ctx = await loadContext({ configFile: args.configFile, socket: args.socket }, env, stderrLog(io));
    return await dispatch(args, ctx, io);
  } catch (error) {
    return fail(error, io);
  } finally {
    ctx?.close();
  }
}

async function dispatch(args: CliArgs, ctx: CliContext, io: Output): Promise<number> {
  switch (args.command) {
    case 'status':
      return (await import('./status.js')).runStatus(args, ctx, io);
    case 'reconcile':
      return (await import('./reconcile.js')).runReconcile(args, ctx, io);
    case 'render-config':
      return (await import('./render-config.js')).runRenderConfig(args, ctx, io);
    default:
      return (await import('./hold.js')).runHold(args, ctx, io);
  }
}

/** One line on stderr. Bad command lines, bad names and bad config are usage (2); the rest is a failure (1). */
function fail(error: unknown, io: Output): number {
  const usage = error instanceof UsageError || error instanceof InvalidArgumentError || error instanceof ConfigError;
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof SlotSyncError ? `${error.code}: ` : '';
  const hint = error instanceof UsageError ? " (see 'slot-sync --help')" : '';
  io.err(`slot-sync: ${code}${oneLine(message)}${hint}\n`);
  return usage ? EXIT.usage : EXIT.failed;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Services may warn (a lifecycle action already gone); an operator sees that on stderr, not mixed into results. */
function stderrLog(io: Output): ServiceLog {
  const line = (level: string) => (message: string, extra?: Record<string, unknown>) =>
    io.err(`${level}: ${message}${extra ? ` ${JSON.stringify(extra)}` : ''}\n`);
  return { info: () => {}, warn: line('warning'), error: line('error') };
}
