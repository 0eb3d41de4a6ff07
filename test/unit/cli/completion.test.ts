// Completion scripts generated from the spec: bash is sourced and its function called as bash would (COMP_WORDS).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bashCompletion } from '../../../bin/cli/completion-bash.js';
import { zshCompletion } from '../../../bin/cli/completion-zsh.js';
import { COMMAND_NAMES, COMMANDS, type CommandSpec } from '../../../bin/cli/spec.js';

/** What bash would offer for the words typed so far (the last one being completed). */
function complete(words: readonly string[]): string[] {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const script = `${bashCompletion()}
COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _slot_sync; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const run = spawnSync('bash', ['--norc', '--noprofile', '-c', script], {
    encoding: 'utf8',
    cwd: import.meta.dirname,
  });
  expect(run.stderr).toBe('');
  return run.stdout.split('\n').filter(Boolean);
}

describe('bash completion', () => {
  it('registers _slot_sync for slot-sync', () => {
    expect(bashCompletion()).toMatch(/^complete -F _slot_sync slot-sync$/m);
  });

  it('offers every command first, and completes a prefix', () => {
    expect(complete(['slot-sync', ''])).toEqual([...COMMAND_NAMES, '--help', '-h', '--version']);
    expect(complete(['slot-sync', 'dr'])).toEqual(['drain']);
  });

  it("offers a command's own options, skipping the values of options before it", () => {
    expect(complete(['slot-sync', '--config', 'x.json', 'drain', 'web/web1', '--'])).toEqual([
      '--backend',
      '--json',
      '--wait',
      '--timeout',
      '--config',
      '--socket',
      '--help',
    ]);
    expect(complete(['slot-sync', 'watch', '--i'])).toEqual(['--interval']);
  });

  it('offers the shells after completion, files after --config, nothing after --backend', () => {
    expect(complete(['slot-sync', 'completion', ''])).toEqual(expect.arrayContaining(['bash', 'zsh']));
    expect(complete(['slot-sync', 'status', '--config', 'completion.te'])).toEqual(['completion.test.ts']);
    expect(complete(['slot-sync', 'status', '--backend', ''])).toEqual([]);
  });
});

describe('zsh completion', () => {
  const script = zshCompletion();

  it('is a #compdef function that registers itself when sourced', () => {
    expect(script.split('\n')[0]).toBe('#compdef slot-sync');
    expect(script).toContain('compdef _slot_sync slot-sync');
  });

  it('describes every command and lists each command with its options and operand', () => {
    for (const name of COMMAND_NAMES) {
      const c: CommandSpec = COMMANDS[name];
      expect(script).toContain(`    '${name}:`);
      const line = script.split('\n').find((l) => l.trimStart().startsWith(`${name}) _arguments `)) ?? '';
      for (const option of c.options) expect(line).toContain(`--${option}`);
      if (c.choices) expect(line).toContain(`(${c.choices.join(' ')})`);
    }
    expect(script).toMatch(/'--config\[the config document as a JSON file\]:file:_files'/);
  });
});
