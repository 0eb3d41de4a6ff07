// Domain: Runtime API commands as data. Builders validate every value; haproxy/commands.ts renders them as text.
import { type AdminState, validAddress, validName, validPort, validState, validWeight } from './values.js';

declare const built: unique symbol;
/** Only the builders below can make a command, so nothing unvalidated can ever be rendered for a socket. */
type Built = { readonly [built]: true };

/** A command that changes one server. */
export type WriteCommand =
  | (Built & {
      readonly kind: 'set-addr';
      readonly backend: string;
      readonly server: string;
      readonly address: string;
      readonly port: number;
    })
  | (Built & {
      readonly kind: 'set-state';
      readonly backend: string;
      readonly server: string;
      readonly state: AdminState;
    })
  | (Built & {
      readonly kind: 'set-weight';
      readonly backend: string;
      readonly server: string;
      readonly weight: number;
    })
  | (Built & { readonly kind: 'enable-health'; readonly backend: string; readonly server: string });

/** A command that only reads. */
export type ReadCommand =
  | (Built & { readonly kind: 'show-stat'; readonly backend: string })
  | (Built & { readonly kind: 'show-servers-state'; readonly backend: string })
  | (Built & { readonly kind: 'get-weight'; readonly backend: string; readonly server: string })
  | (Built & { readonly kind: 'show-info' });

/** Every command the control plane can send. */
export type Command = WriteCommand | ReadCommand;
export type CommandKind = Command['kind'];

export const COMMAND_KINDS = [
  'set-addr',
  'set-state',
  'set-weight',
  'enable-health',
  'show-stat',
  'show-servers-state',
  'get-weight',
  'show-info',
] as const satisfies readonly CommandKind[];

function make<C extends Command>(fields: Omit<C, typeof built>): C {
  return Object.freeze(fields) as C;
}

function target(backend: unknown, server: unknown) {
  return { backend: validName('backend', backend), server: validName('server', server) };
}

/** Point a server at a literal address and port (always with the port: without it HAProxy keeps the old one). */
export function setAddr(backend: string, server: string, address: string, port: number) {
  return make<Extract<Command, { kind: 'set-addr' }>>({
    kind: 'set-addr',
    ...target(backend, server),
    address: validAddress(address),
    port: validPort(port),
  });
}

/** Admin state ready | drain | maint. */
export function setState(backend: string, server: string, state: AdminState) {
  return make<Extract<Command, { kind: 'set-state' }>>({
    kind: 'set-state',
    ...target(backend, server),
    state: validState(state),
  });
}

/** An absolute weight 0-256. */
export function setWeight(backend: string, server: string, weight: number) {
  return make<Extract<Command, { kind: 'set-weight' }>>({
    kind: 'set-weight',
    ...target(backend, server),
    weight: validWeight(weight),
  });
}

/** Resume health checks of a server. */
export function enableHealth(backend: string, server: string) {
  return make<Extract<Command, { kind: 'enable-health' }>>({ kind: 'enable-health', ...target(backend, server) });
}

/** The server rows of one backend. */
export function showStat(backend: string) {
  return make<Extract<Command, { kind: 'show-stat' }>>({ kind: 'show-stat', backend: validName('backend', backend) });
}

/** Admin bitmask, address and port of every server of one backend. */
export function showServersState(backend: string) {
  return make<Extract<Command, { kind: 'show-servers-state' }>>({
    kind: 'show-servers-state',
    backend: validName('backend', backend),
  });
}

/** Current and initial weight of one server. */
export function getWeight(backend: string, server: string) {
  return make<Extract<Command, { kind: 'get-weight' }>>({ kind: 'get-weight', ...target(backend, server) });
}

/** Process facts (Pid, Version, Uptime_sec). */
export function showInfo() {
  return make<Extract<Command, { kind: 'show-info' }>>({ kind: 'show-info' });
}

/** True for commands that change a server (what a dry run must not send). */
export function isWrite(command: Command): command is WriteCommand {
  return (
    command.kind === 'set-addr' ||
    command.kind === 'set-state' ||
    command.kind === 'set-weight' ||
    command.kind === 'enable-health'
  );
}
