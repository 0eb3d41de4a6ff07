// Operator CLI `enable --wait`: one round = converge the slot once and report each host's check, until ready everywhere.
import type { BackendConfig, ConfigDocument } from '../../functions/lib/config.js';
import type { SlotRecord } from '../../functions/lib/domain/types.js';
import { converge } from '../../functions/lib/services/converge.js';
import type { ServiceDeps } from '../../functions/lib/services/deps.js';
import { CELL_SEPARATOR } from './status-render.js';
import type { HostFact, Round } from './wait-loop.js';
import type { HostProgress } from './wait-progress.js';

/** `DOWN 2/3` is a server on its way up: 2 of the 3 passing checks it needs. */
const RISING = /^DOWN (\d+)\/(\d+)/;

/**
 * A round function for an enabled slot: observe the slot, let syncSlot send what the table still wants (a health-gated
 * slot goes ready once its check passes), and report per host. Done when syncSlot settles with every host applied.
 */
export function readyRound(
  backend: Pick<BackendConfig, 'name' | 'slotPrefix' | 'healthGate'>,
  record: SlotRecord,
  config: Pick<ConfigDocument, 'timeouts' | 'lifecycle' | 'quorum'>,
  deps: ServiceDeps,
): () => Promise<Round> {
  return async () => {
    const observed = await deps.fleet.observe([backend.name], { servers: new Set([record.slot]) });
    // until 0: one converge step per round (plus a fresh look after any commands); the waiting is this loop's job.
    const converged = await converge([{ backend, slots: [record.slot] }], config, deps, {
      until: 0,
      pollMs: 0,
      observed,
    });
    const outcome = { hosts: converged.slots[0]?.hosts ?? [] };
    const facts: HostFact[] = [];
    const progress: HostProgress[] = [];
    for (const o of observed) {
      const h = outcome.hosts.find((x) => x.host === o.host);
      const found = o.ok ? o.backends.get(backend.name)?.find((s) => s.server === record.slot) : undefined;
      if (!o.ok || !found) {
        const error = o.ok ? { code: 'MISSING_SLOT', message: `${record.slot} is not on this host` } : o.error;
        facts.push({ host: o.host, reachable: o.ok, error });
        progress.push({ host: o.host, state: 'unreachable', text: `${error.code} ${error.message}`, fraction: 0 });
        continue;
      }
      const { status, checkStatus: check, sessions, admin } = found;
      facts.push({ host: o.host, reachable: true, admin, status, sessions, check });
      const seen = [status, check || 'no check'].join(CELL_SEPARATOR);
      // What `seen` shows predates commands sent this round: only a round that sent nothing can call a host ready.
      const sent = h?.results.flatMap((r) => r.replies.map((c) => c.command)) ?? [];
      if (sent.length > 0) {
        progress.push({ host: o.host, state: 'waiting', text: `${seen}, sent: ${sent.join('; ')}`, fraction: 0 });
      } else if (h?.applied && !h.awaitingHealth) {
        progress.push({ host: o.host, state: 'done', text: `ready (${seen})`, fraction: 1 });
      } else {
        const rising = RISING.exec(status);
        const fraction = rising ? Number(rising[1]) / Number(rising[2]) : 0;
        const why = h?.awaitingHealth ? 'waiting for a passing check' : `converging (${h?.error?.code ?? 'pending'})`;
        progress.push({ host: o.host, state: 'waiting', text: `${seen}, ${why}`, fraction });
      }
    }
    return { facts, progress, over: progress.every((p) => p.state === 'done') ? 'done' : undefined };
  };
}
