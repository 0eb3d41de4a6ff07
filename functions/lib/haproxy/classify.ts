// Reply classification: HAProxy has no status codes, so each command kind whitelists its success texts; anything else is an error.
import type { Command, CommandKind } from '../domain/commands.js';
import type { CommandReply } from '../domain/types.js';
import { renderCommand } from './commands.js';

const SET_ADDR_TRAILER = " by 'stats socket command'";
// The only clauses `set server … addr` prints on success (reference §4), the same on 2.6 to 3.4. A failure clause (`Invalid addr`,
// `problem converting port`, `can't change <port> …`, `Update for the current server address family …`) matches none,
// so a mixed reply such as `IP changed from '::1' to '127.0.0.1', can't change <port> …` is an error.
const SET_ADDR_SUCCESS = [
  /^IP changed from '[^']*' to '[^']*'$/,
  /^no need to change the addr$/,
  /^port changed from '[^']*' to '[^']*'$/,
  /^no need to change the port$/,
] as const;

// 3.0+ answers a change to the address and port the server already has with just this (2.6/2.8: `no need to change
// the addr, no need to change the port by '…'`). Verified on 3.0.11 and 3.2.
const SET_ADDR_UNCHANGED = 'nothing changed';

function setAddrOk(text: string): boolean {
  if (text === SET_ADDR_UNCHANGED) return true;
  if (!text.endsWith(SET_ADDR_TRAILER)) return false;
  const clauses = text.slice(0, -SET_ADDR_TRAILER.length).split(', ');
  return clauses.every((clause) => SET_ADDR_SUCCESS.some((re) => re.test(clause)));
}

// `state`, `weight` and `enable health` print nothing on success; every error is text.
const empty = (text: string): boolean => text === '';

const RULES = {
  'set-addr': setAddrOk,
  'set-state': empty,
  'set-weight': empty,
  'enable-health': empty,
  // The same texts on 2.6 to 3.4 (test/fixtures/haproxy/<version>/replies-dynamic.txt); only the framing differs.
  'add-server': (text) => text === 'New server registered.',
  'del-server': (text) => text === 'Server deleted.',
  // 3.0+ `wait`: `Done.` once the condition is met; `Failed. …`, `Wait delay expired. …` or `Interrupted. …` else.
  'wait-removable': (text) => text === 'Done.',
  'show-cli-level': (text) => /^(admin|operator|user)$/.test(text),
  // Any text is a log (often none); only an unknown-command answer is not.
  'show-startup-logs': (text) => !text.startsWith('Unknown command'),
  'show-stat': (text) => text.startsWith('# pxname,svname,'),
  'show-backend-stat': (text) => text.startsWith('# pxname,svname,'),
  'show-servers-state': (text) => /^1\n# be_id /.test(text),
  'get-weight': (text) => /^\d+ \(initial \d+\)$/.test(text),
  'show-info': (text) => /^Pid: \d+$/m.test(text),
} as const satisfies Record<CommandKind, (trimmed: string) => boolean>;

/**
 * Classifies one prompt-mode reply (the text between two `"\n> "` prompts) to `command`.
 * `reply` in the result is HAProxy's text trimmed, '' for the empty success.
 */
export function classifyReply(command: Command, reply: string): CommandReply {
  const text = reply.trim();
  return { command: renderCommand(command), ok: RULES[command.kind](text), reply: text };
}
