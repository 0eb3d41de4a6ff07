// The HAProxy fleet: one batch per host over its own connection, all hosts in parallel, one outcome per host.
import type { HostConfig } from '../config.js';
import { type Command, showInfo, showServersState, showStat } from '../domain/commands.js';
import type { HostBatch, HostObservation, HostResult, ObservedSlot } from '../domain/types.js';
import { UnsupportedVersionError } from '../errors.js';
import type { HaproxyFleet } from '../ports.js';
import { type ClientTimeouts, classifyAll, createHostClient, errorShape, type HostClient } from './client.js';
import { mergeObserved } from './observe.js';
import { parseShowInfo } from './parse-info.js';
import { parseServersState } from './parse-servers-state.js';
import { parseShowStat } from './parse-stat.js';
import { isSupported, MINIMUM_VERSION, parseVersion } from './version.js';

/** A fleet over the configured hosts (TCP, TLS when configured). */
export function createFleet(config: { hosts: readonly HostConfig[]; timeouts: ClientTimeouts }): HaproxyFleet {
  return fleetOf(config.hosts.map((host) => createHostClient(host, config.timeouts)));
}

/** A fleet over ready-made clients (e.g. unix-socket clients on a host). Host names must be unique. */
export function fleetOf(clients: readonly HostClient[]): HaproxyFleet {
  const byName = new Map(clients.map((c) => [c.name, c]));
  const run = (batch: HostBatch): Promise<HostResult> => {
    const client = byName.get(batch.host);
    if (!client) {
      return Promise.resolve({
        host: batch.host,
        ok: false,
        replies: [],
        error: { code: 'CONFIG_ERROR', message: `unknown host ${batch.host}` },
      });
    }
    // Nothing to say: no connection at all (a host that is down must not fail an empty batch).
    if (batch.commands.length === 0) return Promise.resolve({ host: batch.host, ok: true, replies: [] });
    return client.run(batch.commands, { notAfter: batch.notAfter });
  };
  return {
    hosts: clients.map((c) => c.name),
    run: (batches) => Promise.all(batches.map(run)),
    broadcast: (commands) => Promise.all(clients.map((c) => run({ host: c.name, commands }))),
    observe: (backends, options) => Promise.all(clients.map((c) => observeHost(c, backends, options?.servers))),
  };
}

async function observeHost(
  client: HostClient,
  backends: readonly string[],
  servers?: ReadonlySet<string>,
): Promise<HostObservation> {
  const host = client.name;
  if (backends.length === 0) return { host, ok: true, backends: new Map() };
  try {
    // `show info` rides along (~2 KiB): every observation says which HAProxy answered, and a too-old one is refused.
    const commands: Command[] = [showInfo(), ...backends.flatMap((be) => [showStat(be), showServersState(be)])];
    const raw = await client.exchange(commands);
    const classified = classifyAll(host, commands, raw);
    if (!classified.ok)
      return { host, ok: false, error: classified.error ?? { code: 'COMMAND_FAILED', message: host } };
    const version = parseVersion(parseShowInfo(raw[0] ?? '').Version ?? '');
    if (!isSupported(version)) {
      throw new UnsupportedVersionError(host, version.raw, `${MINIMUM_VERSION.major}.${MINIMUM_VERSION.minor}`);
    }
    const result = new Map<string, readonly ObservedSlot[]>();
    backends.forEach((be, i) => {
      const stat = parseShowStat(raw[2 * i + 1] ?? '', servers);
      result.set(be, mergeObserved(stat, parseServersState(raw[2 * i + 2] ?? '', servers)));
    });
    return { host, ok: true, backends: result, version: version.raw };
  } catch (error) {
    return { host, ok: false, error: errorShape(error) };
  }
}
