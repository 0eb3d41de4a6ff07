// Operator CLI entry: parse argv, check the environment, load the config contract, run one command, map every outcome
// to an exit code (Nagios plugin codes for `status` and `doctor`, done/failed/usage for the rest).
import type { ServiceLog } from '../../functions/lib/services/deps.js';
import { type CliArgs, commandNamed, parseCommandLine } from './args.js';
import type { CliContext } from './context.js';
import { checkEnvironment, configSource } from './environment.js';
import { CHECK, EXIT } from './exit-codes.js';
import { type ExplainContext, explain } from './explain.js';
import { json, type Output } from './format.js';
import { COMMANDS, type CommandKind } from './spec.js';
import { USAGE } from './usage.js';
import { unknownVerdict } from './verdict.js';
import { versionLine } from './version.js';

type Env = Readonly<Record<string, string | undefined>>;

/** stdout / stderr of the process. */
export const processOutput: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  tty: process.stdout.isTTY === true,
};

/** Runs `slot-sync` with `argv` (no `node`, no script) and returns the exit code; never throws. */
export async function main(
  argv: readonly string[],
  env: Env = process.env,
  io: Output = processOutput,
): Promise<number> {
  const named = commandNamed(argv);
  const kind: CommandKind = named === undefined ? 'action' : COMMANDS[named].kind;
  const wantsJson = argv.includes('--json');
  let args: CliArgs;
  try {
    args = parseCommandLine(argv);
  } catch (error) {
    return fail(error, { env }, kind, wantsJson, io);
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
  // The sender needs no table, config or AWS: only the URL and the secret.
  if (args.command === 'hook') {
    try {
      return await (await import('./hook.js')).runHook(args, env, io);
    } catch (error) {
      return fail(error, { env }, kind, args.json, io);
    }
  }
  const context: ExplainContext = { env, service: 'SSM', configSource: configSource(env, args.configFile) };
  let ctx: CliContext | undefined;
  try {
    checkEnvironment(env, args.configFile);
    // Loaded only for a real command: the AWS SDK costs a second of startup that --help and usage errors need not pay.
    const { loadContext } = await import('./context.js');
    ctx = await loadContext({ configFile: args.configFile, socket: args.socket }, env, stderrLog(io));
  } catch (error) {
    ctx?.close();
    return fail(error, context, kind, args.json, io);
  }
  try {
    return await dispatch(args, ctx, io, env);
  } catch (error) {
    // Past loading, a failure not marked by the store is still most likely the table's (the hosts never throw).
    return fail(error, { ...context, service: 'DynamoDB' }, kind, args.json, io);
  } finally {
    ctx.close();
  }
}

async function dispatch(args: CliArgs, ctx: CliContext, io: Output, env: Env): Promise<number> {
  switch (args.command) {
    case 'status':
      return (await import('./status.js')).runStatus(args, ctx, io, env);
    case 'doctor':
      return (await import('./doctor.js')).runDoctor(args, ctx, io, env);
    case 'watch':
      return (await import('./watch.js')).runWatch(args, ctx, io, env);
    case 'reconcile':
      return (await import('./reconcile.js')).runReconcile(args, ctx, io);
    case 'render-config':
      return (await import('./render-config.js')).runRenderConfig(args, ctx, io);
    default:
      return (await import('./hold.js')).runHold(args, ctx, io, env);
  }
}

/**
 * One sentence on stderr. `status` and `doctor` are checks: whatever stops them from judging is UNKNOWN (3), and with --json the
 * same verdict is on stdout. Other commands: usage and configuration 2, anything else 1.
 */
function fail(error: unknown, context: ExplainContext, kind: CommandKind, wantsJson: boolean, io: Output): number {
  const e = explain(error, context);
  io.err(`slot-sync: ${e.code}: ${e.sentence}\n`);
  if (kind === 'check') {
    if (wantsJson) io.out(json({ verdict: unknownVerdict(`${e.code}: ${e.sentence}`) }));
    return CHECK.unknown;
  }
  return e.kind === 'usage' || e.kind === 'configuration' ? EXIT.usage : EXIT.failed;
}

/** Services may warn (a lifecycle action already gone); an operator sees that on stderr, not mixed into results. */
function stderrLog(io: Output): ServiceLog {
  const line = (level: string) => (message: string, extra?: Record<string, unknown>) =>
    io.err(`${level}: ${message}${extra ? ` ${JSON.stringify(extra)}` : ''}\n`);
  return { info: () => {}, warn: line('warning'), error: line('error') };
}
