// Operator CLI `doctor`, pure: the per-host checks — reachable, CLI level, version, stats maxconn, server-state file.
import { isSupported, MINIMUM_VERSION, parseVersion } from '../../functions/lib/haproxy/version.js';
import { checkRow } from './doctor-row.js';
import type { Capacity, DoctorCell, DoctorCheck, HostFacts } from './doctor-types.js';

/** HAProxy's default `stats maxconn`: the probe opens one connection more than this. */
export const DEFAULT_STATS_MAXCONN = 10;

const MINIMUM = `${MINIMUM_VERSION.major}.${MINIMUM_VERSION.minor}`;

/** The rows every host gets, in the order they are shown. */
export function hostChecks(hosts: readonly HostFacts[]): DoctorCheck[] {
  return [
    checkRow('reachable', 'a connection to the Runtime API', hosts, reachable, { always: true }),
    checkRow('cli level', 'show cli level', hosts, cliLevel),
    checkRow('version', 'show info: Version', hosts, version),
    checkRow(
      'stats maxconn',
      `inferred: ${DEFAULT_STATS_MAXCONN + 1} concurrent connections held open (the value is not observable)`,
      hosts,
      (h) => statsMaxconn(h.capacity),
    ),
    checkRow('server-state-file', 'inferred: show startup-logs (not observable when it is silent)', hosts, stateFile),
  ];
}

function reachable(h: HostFacts): DoctorCell {
  if (h.error) return { state: 'CRITICAL', value: h.error.code, detail: h.error.message };
  return { state: 'OK', value: h.endpoint || 'yes' };
}

function cliLevel(h: HostFacts): DoctorCell {
  const level = h.level;
  if (!level?.ok) {
    return {
      state: 'CRITICAL',
      value: 'unknown',
      detail: `show cli level answered ${JSON.stringify((level?.reply ?? '').slice(0, 80))}`,
    };
  }
  if (level.reply === 'admin') return { state: 'OK', value: 'admin' };
  return {
    state: 'CRITICAL',
    value: level.reply,
    detail: `at level ${level.reply} every 'set server' is 'Permission denied': bind the stats socket with 'level admin'`,
  };
}

function version(h: HostFacts): DoctorCell {
  const raw = h.info?.Version;
  if (raw === undefined) return { state: 'CRITICAL', value: 'unknown', detail: 'show info gave no Version' };
  try {
    const v = parseVersion(raw);
    if (isSupported(v)) return { state: 'OK', value: v.raw };
    return {
      state: 'CRITICAL',
      value: v.raw,
      detail: `${h.host}: HAProxy ${v.raw} is older than ${MINIMUM}, the oldest version slot-sync supports: every operation refuses this host`,
    };
  } catch {
    return { state: 'CRITICAL', value: 'unreadable', detail: `show info: Version ${JSON.stringify(raw.slice(0, 80))}` };
  }
}

/**
 * The Runtime API shows no `stats maxconn`: doctor holds DEFAULT + 1 connections open at once and counts those HAProxy
 * served. All of them: the limit is above the default. Fewer: it is at most that many (or other clients hold the rest).
 */
export function statsMaxconn(capacity: Capacity | undefined): DoctorCell {
  if (!capacity) return { state: 'INFO', value: 'not measured' };
  if (capacity.served >= capacity.of) {
    return {
      state: 'OK',
      value: `above ${DEFAULT_STATS_MAXCONN}`,
      detail: `${capacity.of} concurrent connections were served (the exact value is not observable)`,
    };
  }
  return {
    state: 'WARNING',
    value: `${capacity.served} of ${capacity.of} served`,
    detail:
      `only ${capacity.served} of ${capacity.of} concurrent CLI connections were served within ${capacity.waitedMs} ms: ` +
      `stats maxconn is at most ${capacity.served} (default ${DEFAULT_STATS_MAXCONN}) or other clients hold the rest; ` +
      'concurrent functions then stall 1 s per SYN retry: set stats maxconn 100',
  };
}

/**
 * `server-state-file` has no Runtime API command. The startup log of the running process is the only trace: HAProxy
 * warns there when the configured file could not be opened, and logs each server whose state the file changed.
 */
export function stateFile(h: HostFacts): DoctorCell {
  const logs = h.startupLogs;
  const silent: DoctorCell = {
    state: 'INFO',
    value: 'not observable',
    detail:
      'the startup log names no state file: either none is configured or it changed no server; ' +
      'look for server-state-file and load-server-state-from-file in haproxy.cfg',
  };
  if (!logs?.ok) return silent;
  const lines = logs.reply.split('\n');
  const missing = lines.map((l) => /Can't open (?:global )?server state file '([^']*)'/.exec(l)?.[1]).find(Boolean);
  const broken = lines.find(
    (l) => /server.state file|server-state (?:partially|application)/i.test(l) && !/Can't open/.test(l),
  );
  if (broken) {
    return { state: 'WARNING', value: 'not applied', detail: broken.replace(/^\[\w+\]\s+\(\d+\)\s*:\s*/, '') };
  }
  if (missing) {
    return {
      state: 'OK',
      value: 'configured, absent at start',
      detail: `${missing} did not exist when this process started (normal on a first start; after a reload the state was not saved)`,
    };
  }
  const restored = new Set(lines.map((l) => /config : Server (\S+\/\S+) /.exec(l)?.[1]).filter(Boolean)).size;
  if (restored > 0) {
    return {
      state: 'OK',
      value: 'loaded at start',
      detail: `the startup log shows ${restored} servers restored from it`,
    };
  }
  return silent;
}
