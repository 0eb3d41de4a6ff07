// One host's observation of some backends: which commands read it, and the rows they give (ARCHITECTURE.md,
// "Connections"). A few servers whose ids the fleet knows are read by id; a launch's read of a large backend asks for
// the claimed slots' rows once the claim names them; anything else reads the backend whole.
import { type Command, showInfo, showServersState, showStat } from '../domain/commands.js';
import type { HostObservation, ObservedSlot } from '../domain/types.js';
import { UnsupportedVersionError } from '../errors.js';
import type { ServerFilter } from '../ports.js';
import { classifyAll, errorShape } from './client.js';
import type { Lane } from './lane.js';
import { mergeObserved } from './observe.js';
import { parseShowInfo } from './parse-info.js';
import { parseServersState, type ServerStateRow } from './parse-servers-state.js';
import { parseShowStat, SERVER_TYPE, type StatRow } from './parse-stat.js';
import { isSupported, MINIMUM_VERSION, parseVersion } from './version.js';

/** Up to this many servers are "a few": read without waiting for whole-fleet reads, and by id when their ids are known. */
export const FEW_SLOTS = 16;

/**
 * From this many servers up a backend is large: a launch's read beside its claim asks `show servers state` only, and
 * the claimed slots' `show stat` rows by id once the claim names them (one more round trip after the claim). Below it,
 * the whole `show stat` (at 64 servers ~14 KB, ~0.35 ms of the host's CPU) rides beside the claim as before.
 */
export const LARGE_BACKEND = 64;

/** What the fleet has learnt of one host's backends from the replies it parsed. */
export interface HostKnowledge {
  /**
   * Per backend, the numeric id (`srv_id`) of servers a read for a few parsed. A hint only: HAProxy reuses the ids of
   * deleted servers and a reload may renumber, so a row read by id counts only under the name asked for.
   */
  readonly ids: Map<string, Map<string, number>>;
  /** Per backend, how many servers the last `show servers state` listed. */
  readonly sizes: Map<string, number>;
}

export function hostKnowledge(): HostKnowledge {
  return { ids: new Map(), sizes: new Map() };
}

/** How a read goes: whole backends; a few known servers by id; or servers state now and the rows after the claim. */
type Shape = { kind: 'whole' } | { kind: 'by-id'; ids: readonly number[] } | { kind: 'state-first' };

function shapeOf(backends: readonly string[], filter: ServerFilter | undefined, known: HostKnowledge): Shape {
  if (backends.length !== 1 || filter === undefined) return { kind: 'whole' };
  const be = backends[0] as string;
  if (!(filter instanceof Set)) {
    // A deferred filter (a launch's claim in flight): for a backend known to be large, the stat rows can wait for it.
    return (known.sizes.get(be) ?? 0) >= LARGE_BACKEND ? { kind: 'state-first' } : { kind: 'whole' };
  }
  if (filter.size === 0 || filter.size > FEW_SLOTS) return { kind: 'whole' };
  const ids = [...filter].map((name) => known.ids.get(be)?.get(name));
  return ids.every((id) => id !== undefined) ? { kind: 'by-id', ids: ids as number[] } : { kind: 'whole' };
}

/**
 * Keeps the ids of a read for a few servers (a launch's, a read-back's): those are the servers read again. A whole
 * read (reconcile: up to 2,000 servers × backends × 50 hosts) keeps none, which keeps the pass's memory as it was.
 */
function remember(
  known: HostKnowledge,
  backend: string,
  servers: ReadonlySet<string> | undefined,
  rows: readonly ServerStateRow[],
  stateReply: string,
): void {
  // A read that parsed every row has the count already; a filtered one counts the reply's lines.
  known.sizes.set(backend, servers === undefined ? rows.length : serverLines(stateReply));
  if (servers === undefined || servers.size > FEW_SLOTS) return;
  const ids = known.ids.get(backend) ?? new Map<string, number>();
  known.ids.set(backend, ids);
  for (const row of rows) ids.set(row.server, row.serverId);
}

/** Server lines of a `show servers state` reply: every non-empty line after the version line and the header. */
function serverLines(reply: string): number {
  let lines = 0;
  for (let at = 0; at < reply.length; ) {
    const end = reply.indexOf('\n', at);
    const next = end < 0 ? reply.length : end;
    if (next > at) lines++;
    at = next + 1;
  }
  return Math.max(0, lines - 2);
}

/**
 * The same servers in both replies, each once: a row read by an id that has moved to another server is missing from
 * `stat`, or there twice when two names asked for had come to share one id.
 */
function sameServers(stat: readonly StatRow[], state: readonly ServerStateRow[]): boolean {
  const rows = stat.filter((r) => r.type === SERVER_TYPE);
  const inStat = new Set(rows.map((r) => r.server));
  return rows.length === state.length && inStat.size === state.length && state.every((r) => inStat.has(r.server));
}

/**
 * One exchange, its replies checked: a failed command fails the observation; a too-old HAProxy is refused. `version`
 * is the `show info` one when the exchange starts with it.
 */
async function ask(
  host: string,
  lane: Lane,
  commands: readonly Command[],
): Promise<{ raw: string[]; version?: string }> {
  const raw = await lane.exchange(commands);
  const classified = classifyAll(host, commands, raw);
  if (!classified.ok) throw new ObservationFailed(classified.error ?? { code: 'COMMAND_FAILED', message: host });
  if (commands[0]?.kind !== 'show-info') return { raw };
  const version = parseVersion(parseShowInfo(raw[0] ?? '').Version ?? '');
  if (!isSupported(version)) {
    throw new UnsupportedVersionError(host, version.raw, `${MINIMUM_VERSION.major}.${MINIMUM_VERSION.minor}`);
  }
  return { raw, version: version.raw };
}

class ObservationFailed extends Error {
  constructor(readonly shape: { code: string; message: string }) {
    super(shape.message);
  }
}

/** The rows of `servers` read by id, checked against `state`; undefined when an id has moved to another server. */
async function rowsById(
  host: string,
  lane: Lane,
  be: string,
  ids: readonly number[],
  servers: ReadonlySet<string> | undefined,
  state: readonly ServerStateRow[],
  replies?: readonly string[],
): Promise<readonly ObservedSlot[] | undefined> {
  const raw =
    replies ??
    (ids.length === 0
      ? []
      : (
          await ask(
            host,
            lane,
            ids.map((sid) => showStat(be, sid)),
          )
        ).raw);
  const stat = raw.flatMap((reply) => parseShowStat(reply, servers));
  return sameServers(stat, state) ? mergeObserved(stat, state) : undefined;
}

/**
 * One host's rows of `backends`, all of them or those of `filter` (which may settle while the read travels: a launch's
 * claim). Never throws: a host that fails is `ok: false` with the reason.
 */
export async function observeHost(
  host: string,
  lane: Lane,
  backends: readonly string[],
  known: HostKnowledge,
  filter?: ServerFilter,
  whole = false,
): Promise<HostObservation> {
  if (backends.length === 0) return { host, ok: true, backends: new Map() };
  const shape: Shape = whole ? { kind: 'whole' } : shapeOf(backends, filter, known);
  const be = backends[0] as string;
  // When an id has come to name another server (deleted and reused, a reload): the whole backend, read once.
  const again = () => observeHost(host, lane, backends, known, filter, true);
  try {
    // `show info` rides along (~2 KiB): every observation says which HAProxy answered, and a too-old one is refused.
    if (shape.kind === 'by-id') {
      const { raw, version } = await ask(host, lane, [
        showInfo(),
        showServersState(be),
        ...shape.ids.map((sid) => showStat(be, sid)),
      ]);
      const servers = await filter;
      const state = parseServersState(raw[1] ?? '', servers);
      remember(known, be, servers, state, raw[1] ?? '');
      const rows = await rowsById(host, lane, be, shape.ids, servers, state, raw.slice(2));
      return rows ? { host, ok: true, backends: new Map([[be, rows]]), version } : again();
    }
    if (shape.kind === 'state-first') {
      const { raw, version } = await ask(host, lane, [showInfo(), showServersState(be)]);
      const servers = await filter;
      // Every row wanted (a claim found the backend unseeded) or many: the whole backend, in a second round trip.
      if (servers === undefined || servers.size > FEW_SLOTS) return again();
      const state = parseServersState(raw[1] ?? '', servers);
      remember(known, be, servers, state, raw[1] ?? '');
      const ids = state.map((r) => r.serverId);
      const rows = await rowsById(host, lane, be, ids, servers, state);
      return rows ? { host, ok: true, backends: new Map([[be, rows]]), version } : again();
    }
    const { raw, version } = await ask(host, lane, [
      showInfo(),
      ...backends.flatMap((b) => [showStat(b), showServersState(b)]),
    ]);
    // A deferred filter settles while the reply travels (a launch's claim): only then are the rows chosen and parsed.
    const servers = await filter;
    const result = new Map<string, readonly ObservedSlot[]>();
    backends.forEach((b, i) => {
      const state = parseServersState(raw[2 * i + 2] ?? '', servers);
      remember(known, b, servers, state, raw[2 * i + 2] ?? '');
      result.set(b, mergeObserved(parseShowStat(raw[2 * i + 1] ?? '', servers), state));
    });
    return { host, ok: true, backends: result, version };
  } catch (error) {
    return { host, ok: false, error: error instanceof ObservationFailed ? error.shape : errorShape(error) };
  }
}
