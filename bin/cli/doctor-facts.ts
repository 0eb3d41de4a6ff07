// Operator CLI `doctor`: asks every host (one batch each, then the connection probe) and reads the table, all at once.
import type { BackendConfig } from '../../functions/lib/config.js';
import { showCliLevel, showInfo, showServersState, showStartupLogs } from '../../functions/lib/domain/commands.js';
import type { CommandReply, HostResult } from '../../functions/lib/domain/types.js';
import { backendAlgorithms } from '../../functions/lib/haproxy/backend-stat.js';
import { parseShowInfo } from '../../functions/lib/haproxy/parse-info.js';
import { parseServersState } from '../../functions/lib/haproxy/parse-servers-state.js';
import type { Endpoint } from '../../functions/lib/haproxy/transport.js';
import type { ServiceDeps } from '../../functions/lib/services/deps.js';
import { probeCapacity } from './cli-capacity.js';
import { DEFAULT_STATS_MAXCONN } from './doctor-host-checks.js';
import type { Answer, BackendFacts, DoctorFacts, HostFacts, TableFacts } from './doctor-types.js';
import type { StatusContext } from './status-model.js';

/** Where each host is (shown, and probed) and how a table failure is worded. */
export interface FactsContext extends StatusContext {
  /** Each host's transport endpoint, for the connection probe (it opens its own connections). */
  readonly transports: ReadonlyMap<string, Endpoint>;
  /** How long the probe waits for its connections to be served (the command deadline). */
  readonly probeWaitMs: number;
}

/**
 * One batch per host (`show info`, `show cli level`, `show startup-logs`, `show servers state` and the BACKEND row of
 * each backend; the fleet's lane sends them on one connection), the table's slots, then — once that connection is
 * closed, so it is not counted — the connection probe on every host that answered.
 */
export async function gatherFacts(
  backends: readonly BackendConfig[],
  deps: ServiceDeps,
  context: FactsContext,
): Promise<DoctorFacts> {
  const commands = [showInfo(), showCliLevel(), showStartupLogs(), ...backends.map((b) => showServersState(b.name))];
  // Both calls start in this tick, so each host's lane merges them into one batch.
  const [results, algorithms, table] = await Promise.all([
    deps.fleet.run(deps.fleet.hosts.map((host) => ({ host, commands }))),
    Promise.all(backends.map((b) => backendAlgorithms(deps.fleet, b.name))),
    readTable(backends, deps, context),
  ]);
  const at = deps.clock.now();
  const hosts = await Promise.all(
    results.map(async (r): Promise<HostFacts> => {
      const endpoint = context.endpoints.get(r.host) ?? '';
      if (r.replies.length === 0) {
        return { host: r.host, endpoint, error: r.error ?? { code: 'FAILED', message: r.host }, backends: new Map() };
      }
      const algo = (i: number) => algorithms[i]?.find((a) => a.host === r.host)?.algo;
      const transport = context.transports.get(r.host);
      return {
        host: r.host,
        endpoint,
        info: infoOf(r.replies[0]),
        level: answer(r.replies[1]),
        startupLogs: answer(r.replies[2]),
        backends: new Map(backends.map((b, i) => [b.name, backendFacts(r, 3 + i, algo(i))])),
        capacity: transport
          ? await probeCapacity(transport, { connections: DEFAULT_STATS_MAXCONN + 1, waitMs: context.probeWaitMs })
          : undefined,
      };
    }),
  );
  return {
    at,
    backends: backends.map(({ name, slotPrefix, maxSlots }) => ({ name, slotPrefix, maxSlots })),
    hosts,
    table,
  };
}

const answer = (reply: CommandReply | undefined): Answer | undefined => reply && { ok: reply.ok, reply: reply.reply };

function infoOf(reply: CommandReply | undefined): Readonly<Record<string, string>> | undefined {
  if (!reply?.ok) return undefined;
  try {
    return parseShowInfo(reply.reply);
  } catch {
    return undefined;
  }
}

function backendFacts(r: HostResult, at: number, algo: string | undefined): BackendFacts {
  const reply = r.replies[at];
  // `Can't find backend.`: the host has no such backend (show stat says `No such proxy.` for the same).
  if (!reply?.ok) return { present: false, reply: reply?.reply, servers: [] };
  try {
    return { present: true, servers: parseServersState(reply.reply), algo };
  } catch (error) {
    return { present: true, reply: (error as Error).message, servers: [], algo };
  }
}

async function readTable(
  backends: readonly BackendConfig[],
  deps: ServiceDeps,
  context: FactsContext,
): Promise<TableFacts> {
  const name = context.tableName;
  try {
    const lists = await Promise.all(backends.map(async (b) => [b.name, await deps.store.list(b.name)] as const));
    return { side: { name, ok: true }, slots: new Map(lists) };
  } catch (error) {
    return { side: { name, ok: false, ...context.describeTableError(error) } };
  }
}
