// Operator CLI `completion bash|zsh`: prints the completion script for the shell (no config, no AWS needed).
import type { CliArgs } from './args.js';
import { bashCompletion } from './completion-bash.js';
import { zshCompletion } from './completion-zsh.js';
import { EXIT } from './exit-codes.js';
import type { Output } from './format.js';

/** Writes the script to stdout; exit 0. */
export function runCompletion(args: CliArgs, io: Output): number {
  io.out(args.shell === 'zsh' ? zshCompletion() : bashCompletion());
  return EXIT.ok;
}
