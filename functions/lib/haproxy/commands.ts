// HAProxy edge: renders domain commands (data) as Runtime API text — the only place text for a stats socket is made.
import type { Command } from '../domain/commands.js';
import { MAX_WAIT_MS } from '../domain/commands.js';
import { renderServerOptions } from '../domain/server-options.js';
import {
  formatEndpoint,
  validAddress,
  validName,
  validPort,
  validServerId,
  validState,
  validWeight,
} from '../domain/values.js';
import { InvalidArgumentError } from '../errors.js';

/**
 * The command line for `command`. Values were validated by the domain builders; they are checked again here because
 * this is the last step before the socket (DESIGN invariant 3), and a check costs nothing next to a round trip.
 */
export function renderCommand(command: Command): string {
  switch (command.kind) {
    case 'set-addr':
      // Always with the `port` keyword: without it HAProxy keeps the old port.
      return `set server ${server(command)} addr ${validAddress(command.address)} port ${validPort(command.port)}`;
    case 'set-state':
      return `set server ${server(command)} state ${validState(command.state)}`;
    case 'set-weight':
      // Absolute weight: `50%` would be relative to the initial weight.
      return `set server ${server(command)} weight ${validWeight(command.weight)}`;
    case 'enable-health':
      return `enable health ${server(command)}`;
    case 'add-server': {
      // `[v6]:port` for IPv6 (HAProxy's own spelling in show stat), always with the slot's absolute weight.
      const at = formatEndpoint(validAddress(command.address), validPort(command.port));
      const options = renderServerOptions(command.options);
      return [`add server ${server(command)} ${at} weight ${validWeight(command.weight)}`, ...options].join(' ');
    }
    case 'del-server':
      return `del server ${server(command)}`;
    case 'wait-removable':
      return `wait ${waitMs(command.ms)}ms srv-removable ${server(command)}`;
    case 'get-weight':
      return `get weight ${server(command)}`;
    case 'show-stat': {
      // All three positional arguments: with only the proxy name HAProxy dumps every proxy. Type 4: server rows.
      const sid = command.sid === undefined ? -1 : validServerId(command.sid);
      return `show stat ${validName('backend', command.backend)} 4 ${sid}`;
    }
    case 'show-backend-stat':
      // Type mask 2: the backend's aggregate row only.
      return `show stat ${validName('backend', command.backend)} 2 -1`;
    case 'show-servers-state':
      return `show servers state ${validName('backend', command.backend)}`;
    case 'show-info':
      return 'show info';
    case 'show-cli-level':
      return 'show cli level';
    case 'show-startup-logs':
      return 'show startup-logs';
  }
}

function waitMs(ms: number): number {
  if (!Number.isInteger(ms) || ms < 1 || ms > MAX_WAIT_MS) throw new InvalidArgumentError('wait', ms, 'out of range');
  return ms;
}

function server(c: { backend: string; server: string }): string {
  return `${validName('backend', c.backend)}/${validName('server', c.server)}`;
}
