// Operator CLI: turns argv into one validated command (node:util parseArgs); anything off is a UsageError.
import { parseArgs } from 'node:util';
import { UsageError } from './usage.js';

/** The subcommands, in the order the usage text lists them. */
export const COMMANDS = ['status', 'drain', 'disable', 'enable', 'reconcile', 'render-config'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** A parsed command line. `target` is set for drain/disable/enable only. */
export interface CliArgs {
  readonly command: CommandName | 'help';
  readonly target?: string;
  readonly backend?: string;
  readonly json: boolean;
  readonly dryRun: boolean;
  readonly check: boolean;
  readonly configFile?: string;
  readonly socket?: string;
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  backend: { type: 'string', short: 'b' },
  'dry-run': { type: 'boolean' },
  'no-check': { type: 'boolean' },
  config: { type: 'string' },
  socket: { type: 'string' },
} as const;

type OptionName = keyof typeof OPTIONS;
const COMMON: readonly OptionName[] = ['help', 'config', 'socket'];
const ALLOWED: Record<CommandName, readonly OptionName[]> = {
  status: [...COMMON, 'backend', 'json'],
  drain: [...COMMON, 'backend', 'json'],
  disable: [...COMMON, 'backend', 'json'],
  enable: [...COMMON, 'backend', 'json'],
  reconcile: [...COMMON, 'backend', 'json', 'dry-run'],
  'render-config': [...COMMON, 'backend', 'no-check'],
};
const TAKES_TARGET: readonly CommandName[] = ['drain', 'disable', 'enable'];

/** Parses argv (without `node` and the script). Throws UsageError with one sentence on anything unexpected. */
export function parseCommandLine(argv: readonly string[]): CliArgs {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs explains itself in one or two sentences; keep the first.
    throw new UsageError(firstSentence((error as Error).message));
  }
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;
  if (values.help) return { command: 'help', json: false, dryRun: false, check: true };
  if (name === undefined) throw new UsageError(`a command is required: one of ${COMMANDS.join(', ')}`);
  if (!(COMMANDS as readonly string[]).includes(name)) {
    throw new UsageError(`unknown command '${name}': expected one of ${COMMANDS.join(', ')}`);
  }
  const command = name as CommandName;
  for (const key of Object.keys(values) as OptionName[]) {
    if (!ALLOWED[command].includes(key)) throw new UsageError(`'${command}' does not take --${key}`);
  }
  const wantsTarget = TAKES_TARGET.includes(command);
  if (wantsTarget && rest.length !== 1) {
    throw new UsageError(`'${command}' takes exactly one target: <backend>/<slot> or <instance-id>`);
  }
  if (!wantsTarget && rest.length > 0) throw new UsageError(`'${command}' takes no argument, got '${rest[0]}'`);
  if (command === 'render-config' && values.backend === undefined) {
    throw new UsageError("'render-config' needs --backend B");
  }
  return {
    command,
    target: wantsTarget ? rest[0] : undefined,
    backend: values.backend,
    json: values.json ?? false,
    dryRun: values['dry-run'] ?? false,
    check: !(values['no-check'] ?? false),
    configFile: values.config,
    socket: values.socket,
  };
}

function firstSentence(message: string): string {
  return message.split(/\.\s|\n/)[0]?.replace(/\.$/, '') ?? message;
}
