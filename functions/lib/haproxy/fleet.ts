// The HAProxy fleet: all hosts in parallel, one outcome per host; per host one lane (lane.ts): a single connection at
// a time, with concurrent callers' commands merged into its pipelined batch.
import { limiter } from '../concurrency.js';
import type { HostConfig } from '../config.js';
import { type Command, showInfo, showServersState, showStat } from '../domain/commands.js';
import type { HostBatch, HostObservation, HostResult, ObservedSlot } from '../domain/types.js';
import { UnsupportedVersionError } from '../errors.js';
import type { HaproxyFleet, ServerFilter } from '../ports.js';
import { type ClientTimeouts, classifyAll, createHostClient, errorShape, type HostClient } from './client.js';
import { type Lane, laneOf } from './lane.js';
import { mergeObserved } from './observe.js';
import { parseShowInfo } from './parse-info.js';
import { parseServersState, type ServerStateRow } from './parse-servers-state.js';
import { parseShowStat, type StatRow } from './parse-stat.js';
import { isSupported, MINIMUM_VERSION, parseVersion } from './version.js';

/** A fleet over the configured hosts (TCP, TLS when configured). */
export function createFleet(config: { hosts: readonly HostConfig[]; timeouts: ClientTimeouts }): HaproxyFleet {
  return fleetOf(config.hosts.map((host) => createHostClient(host, config.timeouts)));
}

/** A fleet over ready-made clients (e.g. unix-socket clients on a host). Host names must be unique. */
export function fleetOf(clients: readonly HostClient[]): HaproxyFleet {
  const byName = new Map(clients.map((c) => [c.name, laneOf(c)]));
  const idsOf = new Map<string, ServerIds>(clients.map((c) => [c.name, new Map()]));
  const run = async (batch: HostBatch): Promise<HostResult> => {
    const lane = byName.get(batch.host);
    if (!lane) {
      return Promise.resolve({
        host: batch.host,
        ok: false,
        replies: [],
        error: { code: 'CONFIG_ERROR', message: `unknown host ${batch.host}` },
      });
    }
    // Nothing to say: no connection at all (a host that is down must not fail an empty batch).
    if (batch.commands.length === 0) return { host: batch.host, ok: true, replies: [] };
    try {
      return classifyAll(batch.host, batch.commands, await lane.exchange(batch.commands, { notAfter: batch.notAfter }));
    } catch (error) {
      return { host: batch.host, ok: false, replies: [], error: errorShape(error) };
    }
  };
  // Whole-fleet reads (reconcile, status, seeding: every row, or many, of every host) in flight at once. Each reply costs its
  // bytes three times over while it is received, joined and decoded (~4 MB for 2,000 servers), and parsing is one
  // thread anyway: four at a time kept a 50-host × 2,000-slot pass as fast as sixteen (1.30–1.38 s) with a lower,
  // steadier peak RSS (223–225 MB against 226–276 MB; issue 10). A read for a few slots (a launch, a health poll)
  // is not held back: its caller waits on it, and it parses a line or two.
  const reading = limiter(OBSERVATIONS_IN_FLIGHT);
  return {
    hosts: clients.map((c) => c.name),
    run: (batches) => Promise.all(batches.map(run)),
    broadcast: (commands) => Promise.all(clients.map((c) => run({ host: c.name, commands }))),
    observe: (backends, options) =>
      Promise.all(
        clients
          .filter((c) => options?.hosts === undefined || options.hosts.has(c.name))
          .map((c) => {
            const observe = () =>
              observeHost(
                c.name,
                byName.get(c.name) as Lane,
                backends,
                idsOf.get(c.name) as ServerIds,
                options?.servers,
              );
            return forFewSlots(options?.servers) ? observe() : reading(observe);
          }),
      ),
  };
}

const OBSERVATIONS_IN_FLIGHT = 4;
const FEW_SLOTS = 16;

/** A read for a few slots: a launch's (its slot, deferred until the claim names it) or a set of up to FEW_SLOTS. */
function forFewSlots(filter: ServerFilter | undefined): boolean {
  return filter !== undefined && (!(filter instanceof Set) || filter.size <= FEW_SLOTS);
}

/**
 * Per backend, the numeric id (`srv_id`) each server had in the host's last `show servers state` reply we parsed. A
 * hint only: HAProxy reuses the ids of deleted servers and a reload may renumber, so a row read by id counts only when
 * its name is the one asked for.
 */
type ServerIds = Map<string, Map<string, number>>;

/**
 * The id of every server in `servers` when one backend is read and all are known: the read then asks `show stat` for
 * those rows alone. Undefined otherwise (the whole backend is read, as the first time).
 */
function knownIds(
  backends: readonly string[],
  servers: ServerFilter | undefined,
  ids: ServerIds,
): readonly number[] | undefined {
  if (backends.length !== 1 || !(servers instanceof Set) || servers.size === 0 || servers.size > FEW_SLOTS) return;
  const known = ids.get(backends[0] as string);
  const found = [...servers].map((name) => known?.get(name));
  return found.every((id) => id !== undefined) ? (found as number[]) : undefined;
}

/**
 * Keeps the ids of a read for a few servers (a launch's, a read-back's): those are the servers read again. A whole
 * read (reconcile: up to 2,000 servers × backends × 50 hosts) keeps none, which keeps the pass's memory as it was.
 */
function remember(
  ids: ServerIds,
  backend: string,
  servers: ReadonlySet<string> | undefined,
  rows: readonly ServerStateRow[],
): void {
  if (servers === undefined || servers.size > FEW_SLOTS) return;
  let known = ids.get(backend);
  if (!known) ids.set(backend, (known = new Map()));
  for (const row of rows) known.set(row.server, row.serverId);
}

/** The same servers in both replies: a row read by an id that has moved to another server is missing from `stat`. */
function sameServers(stat: readonly StatRow[], state: readonly ServerStateRow[]): boolean {
  const inStat = new Set(stat.filter((r) => r.type === SERVER_TYPE).map((r) => r.server));
  return inStat.size === state.length && state.every((r) => inStat.has(r.server));
}

const SERVER_TYPE = 2;

async function observeHost(
  host: string,
  lane: Lane,
  backends: readonly string[],
  ids: ServerIds,
  filter?: ServerFilter,
  whole = false,
): Promise<HostObservation> {
  if (backends.length === 0) return { host, ok: true, backends: new Map() };
  const byId = whole ? undefined : knownIds(backends, filter, ids);
  try {
    // `show info` rides along (~2 KiB): every observation says which HAProxy answered, and a too-old one is refused.
    // A few known servers of one backend (a read-back, a health poll) are read by id; anything else reads the backend.
    const commands: Command[] = byId
      ? [
          showInfo(),
          showServersState(backends[0] as string),
          ...byId.map((sid) => showStat(backends[0] as string, sid)),
        ]
      : [showInfo(), ...backends.flatMap((be) => [showStat(be), showServersState(be)])];
    const raw = await lane.exchange(commands);
    // A deferred filter settles while the reply travels (a launch's claim): only then are the rows chosen and parsed.
    const servers = await filter;
    const classified = classifyAll(host, commands, raw);
    if (!classified.ok)
      return { host, ok: false, error: classified.error ?? { code: 'COMMAND_FAILED', message: host } };
    const version = parseVersion(parseShowInfo(raw[0] ?? '').Version ?? '');
    if (!isSupported(version)) {
      throw new UnsupportedVersionError(host, version.raw, `${MINIMUM_VERSION.major}.${MINIMUM_VERSION.minor}`);
    }
    const result = new Map<string, readonly ObservedSlot[]>();
    if (byId) {
      const be = backends[0] as string;
      const state = parseServersState(raw[1] ?? '', servers);
      const stat = raw.slice(2).flatMap((reply) => parseShowStat(reply, servers));
      remember(ids, be, servers, state);
      // An id that now names another server (deleted and reused, a reload): read the whole backend instead, once.
      if (!sameServers(stat, state)) return observeHost(host, lane, backends, ids, filter, true);
      result.set(be, mergeObserved(stat, state));
    } else {
      backends.forEach((be, i) => {
        const state = parseServersState(raw[2 * i + 2] ?? '', servers);
        remember(ids, be, servers, state);
        result.set(be, mergeObserved(parseShowStat(raw[2 * i + 1] ?? '', servers), state));
      });
    }
    return { host, ok: true, backends: result, version: version.raw };
  } catch (error) {
    return { host, ok: false, error: errorShape(error) };
  }
}
