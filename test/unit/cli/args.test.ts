// The CLI's command line: the spec's commands and options, --wait/--timeout/--interval, --version, completion.
import { describe, expect, it } from 'vitest';
import { commandNamed, parseCommandLine } from '../../../bin/cli/args.js';
import { COMMAND_NAMES } from '../../../bin/cli/spec.js';
import { USAGE, UsageError } from '../../../bin/cli/usage.js';

describe('parseCommandLine', () => {
  it('reads drain --wait --timeout as milliseconds', () => {
    expect(parseCommandLine(['drain', 'web/web1', '--wait', '--timeout', '90'])).toMatchObject({
      command: 'drain',
      target: 'web/web1',
      wait: true,
      timeoutMs: 90_000,
    });
  });

  it('defaults watch to a 2 s interval and accepts fractions down to 0.5 s', () => {
    expect(parseCommandLine(['watch']).intervalMs).toBe(2_000);
    expect(parseCommandLine(['watch', '--interval', '0.5', '-b', 'web'])).toMatchObject({
      intervalMs: 500,
      backend: 'web',
    });
  });

  it.each([
    [['watch', '--interval', '0.1'], "--interval wants seconds between 0.5 and 86400, not '0.1'"],
    [['watch', '--interval', 'soon'], "--interval wants seconds between 0.5 and 86400, not 'soon'"],
    [['enable', 'web/web1', '--wait', '--timeout', '0'], "--timeout wants seconds between 1 and 86400, not '0'"],
    [['enable', 'web/web1', '--timeout', '5'], '--timeout only makes sense with --wait'],
    [['status', '--wait'], "'status' does not take --wait"],
    [['watch', '--json'], "'watch' does not take --json"],
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

describe('commandNamed', () => {
  it('finds the command even when the rest of the line does not parse (to pick the exit-code convention)', () => {
    expect(commandNamed(['--bogus', 'status', '--json'])).toBe('status');
    expect(commandNamed(['frobnicate'])).toBeUndefined();
  });
});

describe('USAGE', () => {
  it('lists every command of the spec, and both exit-code conventions', () => {
    for (const name of COMMAND_NAMES) expect(USAGE).toMatch(new RegExp(`^  ${name}( |$)`, 'm'));
    expect(USAGE).toContain('3 UNKNOWN: usage or configuration');
    expect(USAGE).toContain('130 when Ctrl-C ends a --wait');
  });
});
