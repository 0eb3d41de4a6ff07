// Domain: Runtime API commands as data. Builders validate every value; haproxy/commands.ts renders them as text.
import { InvalidArgumentError } from '../errors.js';
import { type ServerOptions, validServerOptions } from './server-options.js';
import {
  type AdminState,
  validAddress,
  validName,
  validPort,
  validServerId,
  validState,
  validWeight,
} from './values.js';

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
  | (Built & { readonly kind: 'enable-health'; readonly backend: string; readonly server: string })
  /** A dynamic server (growth past the template): it starts in MAINT at its address, checks off until `enable health`. */
  | (Built & {
      readonly kind: 'add-server';
      readonly backend: string;
      readonly server: string;
      readonly address: string;
      readonly port: number;
      readonly weight: number;
      readonly options: ServerOptions;
    })
  /** Removes a server (only ever a dynamic one): HAProxy refuses unless it is in MAINT with no connection. */
  | (Built & { readonly kind: 'del-server'; readonly backend: string; readonly server: string })
  /** 3.0+: waits up to `ms` until the server can be deleted (MAINT, last connection gone), so `del server` can follow. */
  | (Built & {
      readonly kind: 'wait-removable';
      readonly backend: string;
      readonly server: string;
      readonly ms: number;
    });

/** A command that only reads. */
export type ReadCommand =
  /** Every server row of the backend, or with `sid` the one row of the server with that id (if any). */
  | (Built & { readonly kind: 'show-stat'; readonly backend: string; readonly sid?: number })
  /** Only the backend's own (aggregate) row: its `algo` says whether it can take dynamic servers. */
  | (Built & { readonly kind: 'show-backend-stat'; readonly backend: string })
  | (Built & { readonly kind: 'show-servers-state'; readonly backend: string })
  | (Built & { readonly kind: 'get-weight'; readonly backend: string; readonly server: string })
  | (Built & { readonly kind: 'show-info' })
  /** The session's level (`admin`, `operator`, `user`): only `admin` may change servers. */
  | (Built & { readonly kind: 'show-cli-level' })
  /** What the process logged while starting (a missing state file, refused keywords). */
  | (Built & { readonly kind: 'show-startup-logs' });

/** Every command the control plane can send. */
export type Command = WriteCommand | ReadCommand;
export type CommandKind = Command['kind'];

export const COMMAND_KINDS = [
  'set-addr',
  'set-state',
  'set-weight',
  'enable-health',
  'add-server',
  'del-server',
  'wait-removable',
  'show-stat',
  'show-backend-stat',
  'show-servers-state',
  'get-weight',
  'show-info',
  'show-cli-level',
  'show-startup-logs',
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

/**
 * A dynamic server `backend/server` at a literal address and port, with the slot's weight and the backend's validated
 * options (domain/server-options.ts). Never anything else on that line: invariant 3 holds for growth too.
 */
export function addServer(
  backend: string,
  server: string,
  address: string,
  port: number,
  weight: number,
  options: ServerOptions,
) {
  return make<Extract<Command, { kind: 'add-server' }>>({
    kind: 'add-server',
    ...target(backend, server),
    address: validAddress(address),
    port: validPort(port),
    weight: validWeight(weight),
    options: validServerOptions(options),
  });
}

/** Deletes a dynamic server (the planner sends it only for one in MAINT that no host reports a session on). */
export function delServer(backend: string, server: string) {
  return make<Extract<Command, { kind: 'del-server' }>>({ kind: 'del-server', ...target(backend, server) });
}

/** Longest `wait … srv-removable` we send: it holds the batch, which has to fit in the command deadline. */
export const MAX_WAIT_MS = 10_000;

/** 3.0+ `wait <ms>ms srv-removable backend/server`. */
export function waitRemovable(backend: string, server: string, ms: number) {
  if (!Number.isInteger(ms) || ms < 1 || ms > MAX_WAIT_MS)
    throw new InvalidArgumentError('wait', ms, `must be an integer from 1 to ${MAX_WAIT_MS} ms`);
  return make<Extract<Command, { kind: 'wait-removable' }>>({ kind: 'wait-removable', ...target(backend, server), ms });
}

/**
 * The server rows of one backend; with `sid`, only the row of the server with that numeric id: a few hundred bytes
 * where the whole backend of 1,024 slots is 225 KB and ~5 ms of the host's CPU (ARCHITECTURE.md, "Connections").
 */
export function showStat(backend: string, sid?: number) {
  return make<Extract<Command, { kind: 'show-stat' }>>({
    kind: 'show-stat',
    backend: validName('backend', backend),
    ...(sid === undefined ? {} : { sid: validServerId(sid) }),
  });
}

/** The BACKEND row of one backend (its balance algorithm, its session counts). */
export function showBackendStat(backend: string) {
  return make<Extract<Command, { kind: 'show-backend-stat' }>>({
    kind: 'show-backend-stat',
    backend: validName('backend', backend),
  });
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

/** The session's CLI level. */
export function showCliLevel() {
  return make<Extract<Command, { kind: 'show-cli-level' }>>({ kind: 'show-cli-level' });
}

/** The process's startup log. */
export function showStartupLogs() {
  return make<Extract<Command, { kind: 'show-startup-logs' }>>({ kind: 'show-startup-logs' });
}

const WRITES: ReadonlySet<CommandKind> = new Set<WriteCommand['kind']>([
  'set-addr',
  'set-state',
  'set-weight',
  'enable-health',
  'add-server',
  'del-server',
  'wait-removable',
]);

/** True for commands that change a server (what a dry run must not send). */
export function isWrite(command: Command): command is WriteCommand {
  return WRITES.has(command.kind);
}
