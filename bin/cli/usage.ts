// Operator CLI: the usage text (built from the command spec) and the one error that means "the command line is wrong".
import { SlotSyncError } from '../../functions/lib/errors.js';
import {
  COMMAND_NAMES,
  COMMANDS,
  type CommandName,
  type CommandSpec,
  OPTIONS,
  type OptionName,
  type OptionSpec,
  optionLabel,
} from './spec.js';

/** The command line cannot be understood; the message is one sentence an operator can act on. */
export class UsageError extends SlotSyncError {
  readonly code = 'USAGE' as const;
}

// Shown once under Options, not on every command line.
const CONTEXT_OPTIONS: readonly OptionName[] = ['config', 'socket'];

function synopsis(name: CommandName): string {
  const c: CommandSpec = COMMANDS[name];
  const options = c.options.filter((o) => !CONTEXT_OPTIONS.includes(o)).map((o) => `[${optionLabel(o)}]`);
  return [name, c.operand, ...options].filter(Boolean).join(' ');
}

function optionLine(name: OptionName): [string, string] {
  const o: OptionSpec = OPTIONS[name];
  const short = o.short ? `, -${o.short}` : '';
  return [`--${name}${short}${o.value ? ` ${o.value}` : ''}`, o.help];
}

function aligned(rows: readonly [string, string][]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

/** What `slot-sync --help` prints. */
export const USAGE = [
  'Usage: slot-sync <command> [options]',
  '',
  'Commands:',
  ...COMMAND_NAMES.flatMap((name) => [`  ${synopsis(name)}`, `      ${COMMANDS[name].help}`]),
  '',
  'Options:',
  ...aligned((Object.keys(OPTIONS) as OptionName[]).map(optionLine)),
  '',
  'Environment (same contract as the Lambdas):',
  ...aligned([
    ['SLOT_TABLE', 'the DynamoDB slot table (required; deployed: <service>-<stage>-slots)'],
    ['CONFIG_JSON', 'the config document inline, or'],
    ['CONFIG_PARAMETER', 'the SSM parameter holding it (the stage parameter configParameter)'],
    ['AWS_REGION, AWS_PROFILE', "the SDK's own variables; AWS_ENDPOINT_URL_DYNAMODB / _SSM for local stand-ins"],
    ['NO_COLOR', 'no colour even on a terminal (colour is only ever used on a terminal)'],
  ]),
  '  Config precedence: --config FILE, then CONFIG_JSON, then CONFIG_PARAMETER.',
  '  hook needs none of these: only --url and the variable --secret-env names (a whsec_ secret).',
  '',
  'Exit codes:',
  '  status (Nagios plugin convention, so it runs as a monitoring check unchanged):',
  '    0 OK; 1 WARNING: drift, a slot waiting for its health check, a drain past its deadline;',
  '    2 CRITICAL: a host unreachable or refusing, the table unreachable, no free slot left in a backend;',
  '    3 UNKNOWN: usage or configuration (environment, credentials, region, config document).',
  '  doctor (the same convention; 0 only when nothing is wrong):',
  '    1 WARNING: stats maxconn at the default, a slot placeholder without a hostname, slots not in the table,',
  '      algorithms that differ between hosts, growth configured where the algorithm refuses it;',
  '    2 CRITICAL: a host unreachable, below level admin or older than 2.6, a backend missing, slot names that',
  '      differ between hosts or lack table slots, unresolved slots, the table unreachable; 3 UNKNOWN as status.',
  '  every other command: 0 done, 1 failed, 2 usage or configuration;',
  '    130 when Ctrl-C ends a --wait (the table and the hosts are left as they are).',
  '',
].join('\n');
