// Operator CLI: each host's HAProxy version, from `show info` (the fleet's observations do not carry it yet).
import { showInfo } from '../../functions/lib/domain/commands.js';
import { parseShowInfo } from '../../functions/lib/haproxy/parse-info.js';
import type { HaproxyFleet } from '../../functions/lib/ports.js';

/**
 * `Version` of every host that answers `show info`; a host that does not is simply absent (its observation says why).
 * One extra short connection per host, sent in parallel with the observation.
 */
export async function hostVersions(fleet: HaproxyFleet): Promise<ReadonlyMap<string, string>> {
  const results = await fleet.run(fleet.hosts.map((host) => ({ host, commands: [showInfo()] })));
  const versions = new Map<string, string>();
  for (const r of results) {
    const reply = r.replies[0];
    if (!r.ok || !reply) continue;
    try {
      const version = parseShowInfo(reply.reply).Version;
      if (version) versions.set(r.host, version);
    } catch {
      // Not `show info` text: no version to show, and nothing the status depends on.
    }
  }
  return versions;
}
