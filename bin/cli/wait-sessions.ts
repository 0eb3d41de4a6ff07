// Operator CLI `drain --wait` / `disable --wait`: one round = every host's sessions on the slot, until none is left.
import type { AdminState } from '../../functions/lib/domain/values.js';
import type { HaproxyFleet } from '../../functions/lib/ports.js';
import type { HostFact, Round } from './wait-loop.js';
import type { HostProgress } from './wait-progress.js';

/**
 * A round function for `backend/slot` held in `admin` on every host. Done when every host answers with the slot in
 * `admin` and no session; `changed` when a host reports another admin state (someone enabled it meanwhile). The bar
 * of a host is the share of the sessions it had at the first round that have ended since.
 */
export function sessionsRound(
  fleet: HaproxyFleet,
  backend: string,
  slot: string,
  admin: AdminState,
): () => Promise<Round> {
  const firstSeen = new Map<string, number>();
  return async () => {
    const observed = await fleet.observe([backend], { servers: new Set([slot]) });
    const facts: HostFact[] = [];
    const progress: HostProgress[] = [];
    for (const o of observed) {
      const found = o.ok ? o.backends.get(backend)?.find((s) => s.server === slot) : undefined;
      if (!o.ok || !found) {
        const error = o.ok ? { code: 'MISSING_SLOT', message: `${slot} is not on this host` } : o.error;
        facts.push({ host: o.host, reachable: o.ok, error });
        progress.push({ host: o.host, state: 'unreachable', text: `${error.code} ${error.message}`, fraction: 0 });
        continue;
      }
      const { sessions } = found;
      facts.push({
        host: o.host,
        reachable: true,
        admin: found.admin,
        status: found.status,
        sessions,
        check: found.checkStatus,
      });
      if (!firstSeen.has(o.host)) firstSeen.set(o.host, sessions);
      const first = firstSeen.get(o.host) ?? sessions;
      if (found.admin !== admin) {
        progress.push({
          host: o.host,
          state: 'changed',
          text: `no longer in ${admin}: ${found.admin} (${found.status})`,
          fraction: 0,
        });
      } else if (sessions === 0) {
        progress.push({ host: o.host, state: 'done', text: 'no session left', fraction: 1 });
      } else {
        const text = `${sessions} session${sessions === 1 ? '' : 's'} left${first > sessions ? ` (of ${first})` : ''}`;
        progress.push({ host: o.host, state: 'waiting', text, fraction: first > 0 ? (first - sessions) / first : 0 });
      }
    }
    const over = progress.some((p) => p.state === 'changed')
      ? 'changed'
      : progress.every((p) => p.state === 'done')
        ? 'done'
        : undefined;
    return { facts, progress, over };
  };
}
