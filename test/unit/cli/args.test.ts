// The CLI's command line: the spec's commands and options, --wait/--timeout/--interval, --version, completion.
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../../bin/cli/args.js';
import { COMMAND_NAMES } from '../../../bin/cli/spec.js';
import { USAGE, UsageError } from '../../../bin/cli/usage.js';

describe('parseCommandLine', () => {
  it.each([
    [['status', '--dry-run'], "'status' does not take --dry-run"],
    [['completion'], "'completion' takes exactly one argument: bash | zsh"],
    [['completion', 'fish'], "'completion' takes bash or zsh, not 'fish'"],
  ])('rejects %j: %s', (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(new UsageError(message));
  });

  it('reads --version alone or with a command, and completion with its shell', () => {
    expect(parseCommandLine(['--version']).command).toBe('version');
    expect(parseCommandLine(['status', '--version']).command).toBe('version');
    expect(parseCommandLine(['completion', 'zsh'])).toMatchObject({ command: 'completion', shell: 'zsh' });
  });
});

describe('USAGE', () => {
  it('lists every command of the spec with its options', () => {
    for (const name of COMMAND_NAMES) expect(USAGE).toMatch(new RegExp(`^  ${name}( |$)`, 'm'));
    expect(USAGE).toContain('  drain <backend>/<slot> | <instance-id> [--backend B] [--json]\n');
  });
});
