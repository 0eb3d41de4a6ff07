// Operator CLI: the one list of commands and options; parsing, `--help` and the completion scripts all read it.

/** What a value completes to in a shell: nothing special, a file path, or a fixed set of words. */
export type Completion = 'none' | 'file';

/** One option: parseArgs' `type`/`short`, plus what `--help` and the completion scripts say about it. */
export interface OptionSpec {
  readonly type: 'boolean' | 'string';
  readonly short?: string;
  /** Placeholder of the value in `--help` (`--backend B`). */
  readonly value?: string;
  readonly complete?: Completion;
  readonly help: string;
}

export const OPTIONS = {
  backend: {
    type: 'string',
    short: 'b',
    value: 'B',
    help: 'only this backend (for an <instance-id>: only its slot in B); hook: the backend to change',
  },
  json: { type: 'boolean', help: 'machine-readable output with the same facts (status, doctor: and the same verdict)' },
  wait: {
    type: 'boolean',
    help: 'drain/disable: until no session is left on any host; enable: until ready on every host',
  },
  timeout: {
    type: 'string',
    value: 'S',
    help: "with --wait: give up after S seconds (default: the backend's drainSeconds; enable: its health-gate timeout)",
  },
  interval: { type: 'string', value: 'S', help: 'watch: seconds between refreshes (default 2, at least 0.5)' },
  'dry-run': { type: 'boolean', help: 'reconcile: change nothing, on the hosts or in the table' },
  'no-check': { type: 'boolean', help: "render-config: omit 'check' (for backends without health checks)" },
  config: { type: 'string', value: 'FILE', complete: 'file', help: 'the config document as a JSON file' },
  socket: {
    type: 'string',
    value: 'PATH',
    complete: 'file',
    help: "talk to this one local HAProxy unix socket instead of the config's hosts",
  },
  url: { type: 'string', value: 'URL', help: 'hook: the webhook URL (the stack output WebhookUrl)' },
  'secret-env': {
    type: 'string',
    value: 'NAME',
    help: 'hook: the environment variable holding the whsec_ secret (never the secret itself on a command line)',
  },
  member: { type: 'string', value: 'ID', help: 'hook: the member to change (register … weight)' },
  address: { type: 'string', value: 'A', help: "hook: the member's literal IPv4 or IPv6 address" },
  port: { type: 'string', value: 'P', help: "hook: the member's port, 1-65535" },
  weight: { type: 'string', value: 'W', help: 'hook weight: the new weight, 0-256' },
  members: {
    type: 'string',
    value: 'LIST',
    help: "hook set: the backend's whole member set, ID=ADDRESS:PORT,… ([ADDRESS]:PORT for IPv6)",
  },
  'allow-empty': { type: 'boolean', help: 'hook set: an empty --members is meant (it deregisters every member)' },
  id: {
    type: 'string',
    value: 'ID',
    help: 'hook: the webhook-id (default: a fresh one); send the same id again to retry without a second effect',
  },
  help: { type: 'boolean', short: 'h', help: 'this text' },
  version: { type: 'boolean', help: 'the version of slot-sync' },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

/**
 * How a command's outcome maps to an exit code. `check`: the Nagios plugin convention (0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN). `action`: 0 done, 1 failed, 2 usage (130 interrupted while waiting).
 */
export type CommandKind = 'check' | 'action';

/** One subcommand: what it takes, and its line in `--help`. */
export interface CommandSpec {
  readonly kind: CommandKind;
  /** The positional argument, if any, as `--help` shows it. */
  readonly operand?: string;
  /** A fixed set of words the operand must be one of (also what the shell completes). */
  readonly choices?: readonly string[];
  readonly options: readonly OptionName[];
  readonly help: string;
}

// Every command that reads the config also takes these.
const CONTEXT: readonly OptionName[] = ['config', 'socket'];
const TARGET = '<backend>/<slot> | <instance-id>';

export const COMMANDS = {
  status: {
    kind: 'check',
    options: ['backend', 'json', ...CONTEXT],
    help: 'every slot on every host, drift marked, one verdict; exit code per the Nagios plugin convention',
  },
  doctor: {
    kind: 'check',
    options: ['backend', 'json', ...CONTEXT],
    help:
      'before trusting the fleet: per host reachable, level admin, version, stats maxconn, state file; per backend ' +
      'present, slot names on every host and in the table, algorithm, init-addr, growth; exit code as status',
  },
  watch: {
    kind: 'action',
    options: ['backend', 'interval', ...CONTEXT],
    help: "status, refreshed in place on a terminal (plain blocks when piped); 'q' or Ctrl-C leaves",
  },
  drain: {
    kind: 'action',
    operand: TARGET,
    options: ['backend', 'json', 'wait', 'timeout', ...CONTEXT],
    help: 'hold the slot (table) and set it to drain on every host; --wait: until its sessions ended',
  },
  disable: {
    kind: 'action',
    operand: TARGET,
    options: ['backend', 'json', 'wait', 'timeout', ...CONTEXT],
    help: 'hold the slot (table) and set it to maint on every host; --wait: until its sessions ended',
  },
  enable: {
    kind: 'action',
    operand: TARGET,
    options: ['backend', 'json', 'wait', 'timeout', ...CONTEXT],
    help: 'give a held slot back (table) and converge it on every host; --wait: until ready everywhere',
  },
  reconcile: {
    kind: 'action',
    options: ['backend', 'json', 'dry-run', ...CONTEXT],
    help: 'print the plan (commands per host, drift); apply it unless --dry-run',
  },
  'render-config': {
    kind: 'action',
    options: ['backend', 'no-check', ...CONTEXT],
    help: "'server' lines matching the table (needs --backend), for hosts that keep haproxy.cfg in step",
  },
  hook: {
    kind: 'action',
    operand: '<action>',
    choices: ['register', 'deregister', 'drain', 'ready', 'maint', 'weight', 'set'],
    options: [
      'url',
      'secret-env',
      'backend',
      'member',
      'address',
      'port',
      'weight',
      'members',
      'allow-empty',
      'id',
      'json',
    ],
    help: "send one change (or 'set': the backend's whole member set) to the webhook, signed Standard Webhooks style; per-host results",
  },
  completion: {
    kind: 'action',
    operand: 'bash | zsh',
    choices: ['bash', 'zsh'],
    options: [],
    help: 'the shell completion script: eval "$(slot-sync completion bash)" or put it in your fpath',
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

/** The subcommands in `--help` order. */
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

/** Options every command takes (and that may come without a command). */
export const GLOBAL_OPTIONS: readonly OptionName[] = ['help', 'version'];

/** The options `command` accepts, global ones included. */
export function optionsOf(command: CommandName): readonly OptionName[] {
  return [...COMMANDS[command].options, ...GLOBAL_OPTIONS];
}

/** `--backend B` / `--json`, as `--help` and error messages spell an option. */
export function optionLabel(name: OptionName): string {
  const o: OptionSpec = OPTIONS[name];
  return o.value ? `--${name} ${o.value}` : `--${name}`;
}
