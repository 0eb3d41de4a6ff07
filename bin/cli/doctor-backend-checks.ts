// Operator CLI `doctor`, pure: per backend and host — present, slot names (across hosts and against the table),
// algorithm, the placeholder init-addr depends on, and whether the backend can grow.
import { algorithmSupport, growthOf } from '../../functions/lib/domain/growth.js';
import { naturalCompare } from '../../functions/lib/domain/natural-order.js';
import type { ServerStateRow } from '../../functions/lib/haproxy/parse-servers-state.js';
import { checkRow } from './doctor-row.js';
import type {
  BackendFacts,
  BackendSide,
  DoctorCell,
  DoctorCheck,
  GrowthSummary,
  HostFacts,
  TableFacts,
} from './doctor-types.js';

/** `srv_admin_state` bit 0x20: the address never resolved (`MAINT (resolution)`); HAProxy refuses `set server … addr`. */
const RESOLUTION_MAINT = 0x20;
const SHOWN_NAMES = 6;

const notChecked = (why: string): DoctorCell => ({ state: 'INFO', value: '-', detail: `not checked: ${why}` });

/** The rows of one backend and its fleet-wide growth. */
export function backendChecks(
  b: BackendSide,
  hosts: readonly HostFacts[],
  table: TableFacts,
): { checks: DoctorCheck[]; growth: GrowthSummary } {
  const records = 'slots' in table ? (table.slots.get(b.name) ?? []) : undefined;
  const dynamic = new Set((records ?? []).filter((r) => r.dynamic).map((r) => r.slot));
  const tableNames = records?.filter((r) => !r.dynamic).map((r) => r.slot);
  // Template slots: the backend's servers named with the prefix, less the dynamic ones growth added.
  const slotRows = (f: BackendFacts) =>
    f.servers.filter((s) => s.server.startsWith(b.slotPrefix) && !dynamic.has(s.server));
  const names = new Map(
    hosts.flatMap((h) => {
      const f = h.backends.get(b.name);
      return f?.present ? [[h.host, slotRows(f).map((s) => s.server)] as const] : [];
    }),
  );
  const extras = (f: BackendFacts) => ({
    dynamic: f.servers.filter((s) => dynamic.has(s.server)).length,
    other: f.servers.filter((s) => !s.server.startsWith(b.slotPrefix)).length,
  });
  const onBackend = (cell: (f: BackendFacts, h: HostFacts) => DoctorCell) => (h: HostFacts) => {
    const f = h.backends.get(b.name);
    return f?.present ? cell(f, h) : notChecked(`no backend ${b.name}`);
  };
  const common = [...names.values()].reduce<string[] | undefined>(
    (acc, n) => (acc === undefined ? [...n] : acc.filter((x) => n.includes(x))),
    undefined,
  );
  const template = tableNames && tableNames.length > 0 ? tableNames : (common ?? []);
  const algorithms = hosts.map((h) => ({ host: h.host, algo: h.backends.get(b.name)?.algo }));
  const growth = growthOf(b, template, algorithms);
  const wantsGrowth = b.maxSlots !== undefined && b.maxSlots > template.length;
  const opts = { backend: b.name };
  return {
    checks: [
      checkRow('backend', `show servers state ${b.name}`, hosts, (h) => present(b, h.backends.get(b.name)), opts),
      checkRow(
        'slots',
        `show servers state ${b.name}: servers named ${b.slotPrefix}*`,
        hosts,
        onBackend((f, h) => slotsCell(b, names, h.host, extras(f))),
        opts,
      ),
      checkRow(
        'table',
        'the slot table against each host',
        hosts,
        onBackend((_, h) => tableCell(b, names.get(h.host) ?? [], tableNames)),
        opts,
      ),
      checkRow('algorithm', `show stat ${b.name} 2 -1: algo`, hosts, onBackend(algorithmCell(algorithms)), opts),
      checkRow(
        'init-addr',
        'inferred: show servers state srv_fqdn and admin bits (init-addr itself is not observable)',
        hosts,
        onBackend((f) => placeholderCell(slotRows(f))),
        opts,
      ),
      checkRow(
        'growth',
        `show stat ${b.name} 2 -1: algo, against maxSlots`,
        hosts,
        onBackend((f) => growthCell(f.algo, wantsGrowth, b)),
        opts,
      ),
    ],
    growth: { backend: b.name, ...growth },
  };
}

function present(b: BackendSide, f: BackendFacts | undefined): DoctorCell {
  if (f?.present) return { state: 'OK', value: 'present' };
  const said = f?.reply ? ` (HAProxy: ${f.reply.slice(0, 80)})` : '';
  return { state: 'CRITICAL', value: 'missing', detail: `no backend ${b.name} on this host${said}` };
}

/** `10: web1-web10`, `3: web1, web2, web7`; names in natural order, a run of numbers as a range. */
export function describeSlots(prefix: string, names: readonly string[]): string {
  const sorted = [...names].sort(naturalCompare);
  const numbers = sorted.map((n) => n.slice(prefix.length));
  const first = Number(numbers[0]);
  const run = numbers.every((n, i) => /^[1-9]\d*$/.test(n) && Number(n) === first + i);
  if (sorted.length > 2 && run) return `${sorted.length}: ${sorted[0]}-${sorted.at(-1)}`;
  const shown = sorted.slice(0, SHOWN_NAMES).join(', ');
  const more = sorted.length > SHOWN_NAMES ? ` … (+${sorted.length - SHOWN_NAMES})` : '';
  return `${sorted.length}${sorted.length > 0 ? `: ${shown}${more}` : ''}`;
}

const list = (names: readonly string[]) => [...names].sort(naturalCompare).join(', ');

function slotsCell(
  b: BackendSide,
  names: ReadonlyMap<string, readonly string[]>,
  host: string,
  extra: { readonly dynamic: number; readonly other: number },
) {
  const own = names.get(host) ?? [];
  const more = [
    extra.dynamic > 0 ? `+${extra.dynamic} dynamic` : '',
    extra.other > 0 ? `+${extra.other} not named ${b.slotPrefix}*` : '',
  ].filter(Boolean);
  const value = describeSlots(b.slotPrefix, own) + (more.length > 0 ? ` (${more.join(', ')})` : '');
  const elsewhere = new Set([...names.values()].flat());
  const lacking = [...elsewhere].filter((n) => !own.includes(n));
  if (lacking.length > 0) {
    return {
      state: 'CRITICAL' as const,
      value,
      detail: `lacks ${list(lacking)}, which other hosts have: the slot names differ between hosts`,
    };
  }
  if (own.length === 0) return { state: 'CRITICAL' as const, value, detail: `no server is named ${b.slotPrefix}*` };
  return { state: 'OK' as const, value };
}

function tableCell(b: BackendSide, own: readonly string[], tableNames: readonly string[] | undefined): DoctorCell {
  if (tableNames === undefined) return notChecked('the table could not be read');
  if (tableNames.length === 0) {
    return {
      state: 'WARNING',
      value: 'not seeded',
      detail: `the table has no slot of ${b.name} yet: reconcile seeds it from the names every host has`,
    };
  }
  const lacking = tableNames.filter((n) => !own.includes(n));
  const extra = own.filter((n) => !tableNames.includes(n));
  if (lacking.length > 0) {
    return {
      state: 'CRITICAL',
      value: `lacks ${lacking.length} of ${tableNames.length}`,
      detail: `lacks ${list(lacking)}, which the table has: a member given one cannot be programmed on this host`,
    };
  }
  if (extra.length > 0) {
    return {
      state: 'WARNING',
      value: `${extra.length} not in the table`,
      detail: `${list(extra)} not in the table: reconcile seeds a slot once every host has it`,
    };
  }
  return { state: 'OK', value: `matches (${tableNames.length})` };
}

function algorithmCell(all: readonly { host: string; algo?: string }[]) {
  const counts = new Map<string, number>();
  for (const { algo } of all) if (algo) counts.set(algo, (counts.get(algo) ?? 0) + 1);
  const usual = [...counts].sort((x, y) => y[1] - x[1])[0]?.[0];
  return (f: BackendFacts): DoctorCell => {
    if (!f.algo) return { state: 'INFO', value: 'unknown', detail: 'the host did not report the backend row' };
    if (counts.size > 1 && f.algo !== usual) {
      return {
        state: 'WARNING',
        value: f.algo,
        detail: `other hosts balance with ${usual}: traffic splits differently`,
      };
    }
    return { state: 'OK', value: f.algo };
  };
}

/**
 * `init-addr` is not observable; what it acts on is. A slot named by a hostname (`srv_fqdn`) gets its address back
 * from the state file through `init-addr last` (HAProxy's default is `last,libc`); an IP literal does not (reference
 * §9.1). A slot in `MAINT (resolution)` never resolved, and HAProxy refuses to re-address it.
 */
export function placeholderCell(rows: readonly ServerStateRow[]): DoctorCell {
  if (rows.length === 0) return notChecked('no slot');
  const unresolved = rows.filter((r) => (r.adminBits & RESOLUTION_MAINT) !== 0);
  if (unresolved.length > 0) {
    return {
      state: 'CRITICAL',
      value: `${unresolved.length} unresolved`,
      detail:
        `${list(unresolved.map((r) => r.server))} never resolved (MAINT (resolution)): HAProxy refuses 'set server … addr' ` +
        'on them; use a placeholder libc resolves (localhost:9) with init-addr last,libc,none',
    };
  }
  const fqdn = (r: ServerStateRow) => r.fields.srv_fqdn ?? '-';
  const named = [...new Set(rows.map(fqdn).filter((n) => n !== '-'))];
  const literal = rows.filter((r) => fqdn(r) === '-').length;
  if (literal === 0) return { state: 'OK', value: `hostname ${named.join(', ')}` };
  return {
    state: 'WARNING',
    value: literal === rows.length ? 'IP literal' : `${literal} IP literal`,
    detail:
      'a reload with the state file restores port, state and weight but not the address of a slot without a hostname: ' +
      "it comes back pointing at the placeholder until reconcile re-programs it; the host kit's placeholder is " +
      'localhost:9 with init-addr last,libc,none',
  };
}

function growthCell(algo: string | undefined, wanted: boolean, b: BackendSide): DoctorCell {
  if (!algo) return { state: 'INFO', value: 'unknown' };
  const support = algorithmSupport(algo);
  if (support === 'yes') return { state: 'OK', value: 'possible' };
  if (support === 'no') {
    return wanted
      ? {
          state: 'WARNING',
          value: `impossible (${algo})`,
          detail: `maxSlots is ${b.maxSlots} but HAProxy refuses 'add server' with balance ${algo}: use roundrobin, leastconn, first or random`,
        }
      : { state: 'OK', value: `impossible (${algo})` };
  }
  const value = algo === 'unknown' ? 'HAProxy decides' : 'only with hash-type consistent';
  const detail =
    algo === 'unknown'
      ? "the backend row names no algorithm (random, or 3.3+'s default): HAProxy's answer to the first add server decides"
      : `balance ${algo} takes dynamic servers only with hash-type consistent, which the Runtime API does not show`;
  return { state: wanted ? 'INFO' : 'OK', value, detail };
}
