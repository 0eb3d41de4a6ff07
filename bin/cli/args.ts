// Operator CLI: turns argv into one validated command (node:util parseArgs over the spec); anything off is a UsageError.
import { parseArgs } from 'node:util';
import { type HookArgs, parseHookArgs } from './hook-args.js';
import {
  COMMAND_NAMES,
  COMMANDS,
  type CommandName,
  type CommandSpec,
  OPTIONS,
  type OptionName,
  optionsOf,
} from './spec.js';
import { UsageError } from './usage.js';

export type { CommandName } from './spec.js';

/** A parsed command line. `target` is set for drain/disable/enable only, `shell` for completion, `hook` for hook. */
export interface CliArgs {
  readonly command: CommandName | 'help' | 'version';
  readonly target?: string;
  readonly shell?: 'bash' | 'zsh';
  readonly hook?: HookArgs;
  readonly backend?: string;
  readonly json: boolean;
  readonly dryRun: boolean;
  readonly check: boolean;
  readonly wait: boolean;
  /** `--timeout S` in milliseconds (only with --wait). */
  readonly timeoutMs?: number;
  /** `watch --interval S` in milliseconds. */
  readonly intervalMs: number;
  readonly configFile?: string;
  readonly socket?: string;
}

const PARSE_OPTIONS = Object.fromEntries(
  Object.entries(OPTIONS).map(([name, o]) => [
    name,
    'short' in o ? { type: o.type, short: o.short } : { type: o.type },
  ]),
) as Record<OptionName, { type: 'boolean' | 'string'; short?: string }>;

const DEFAULTS = { json: false, dryRun: false, check: true, wait: false, intervalMs: 2_000 } as const;
const MIN_INTERVAL_S = 0.5;
const MAX_SECONDS = 86_400;

/** The command named on the line, if any, even when the rest does not parse (to pick the exit-code convention). */
export function commandNamed(argv: readonly string[]): CommandName | undefined {
  const first = argv.find((a) => !a.startsWith('-'));
  return (COMMAND_NAMES as readonly string[]).includes(first ?? '') ? (first as CommandName) : undefined;
}

/** Parses argv (without `node` and the script). Throws UsageError with one sentence on anything unexpected. */
export function parseCommandLine(argv: readonly string[]): CliArgs {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: PARSE_OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs explains itself in one or two sentences; keep the first.
    throw new UsageError(firstSentence((error as Error).message));
  }
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;
  if (values.help) return { command: 'help', ...DEFAULTS };
  if (values.version) return { command: 'version', ...DEFAULTS };
  if (name === undefined) throw new UsageError(`a command is required: one of ${COMMAND_NAMES.join(', ')}`);
  if (!(COMMAND_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(`unknown command '${name}': expected one of ${COMMAND_NAMES.join(', ')}`);
  }
  const command = name as CommandName;
  const spec: CommandSpec = COMMANDS[command];
  for (const key of Object.keys(values) as OptionName[]) {
    if (!optionsOf(command).includes(key)) {
      throw new UsageError(`'${command}' does not take --${key}`);
    }
  }
  const operand = checkOperand(command, spec, rest);
  if (command === 'render-config' && values.backend === undefined) {
    throw new UsageError("'render-config' needs --backend B");
  }
  if (values.timeout !== undefined && !values.wait) throw new UsageError('--timeout only makes sense with --wait');
  return {
    command,
    target: command === 'completion' || command === 'hook' ? undefined : operand,
    hook: command === 'hook' ? parseHookArgs(operand as string, values) : undefined,
    shell: command === 'completion' ? (operand as 'bash' | 'zsh') : undefined,
    backend: values.backend as string | undefined,
    json: values.json === true,
    dryRun: values['dry-run'] === true,
    check: values['no-check'] !== true,
    wait: values.wait === true,
    timeoutMs: values.timeout === undefined ? undefined : seconds('--timeout', values.timeout, 1) * 1000,
    intervalMs:
      values.interval === undefined
        ? DEFAULTS.intervalMs
        : seconds('--interval', values.interval, MIN_INTERVAL_S) * 1000,
    configFile: values.config as string | undefined,
    socket: values.socket as string | undefined,
  };
}

function checkOperand(command: CommandName, spec: CommandSpec, rest: readonly string[]): string | undefined {
  if (spec.operand === undefined) {
    if (rest.length > 0) throw new UsageError(`'${command}' takes no argument, got '${rest[0]}'`);
    return undefined;
  }
  if (rest.length !== 1) throw new UsageError(`'${command}' takes exactly one argument: ${spec.operand}`);
  const operand = rest[0] as string;
  if (spec.choices && !spec.choices.includes(operand)) {
    throw new UsageError(`'${command}' takes ${spec.choices.join(' or ')}, not '${operand}'`);
  }
  return operand;
}

function seconds(flag: string, raw: string | boolean, min: number): number {
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || value < min || value > MAX_SECONDS) {
    throw new UsageError(`${flag} wants seconds between ${min} and ${MAX_SECONDS}, not '${String(raw)}'`);
  }
  return value;
}

function firstSentence(message: string): string {
  return message.split(/\.\s|\n/)[0]?.replace(/\.$/, '') ?? message;
}
