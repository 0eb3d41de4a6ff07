// Operator CLI `render-config`: `server` lines matching the table, for hosts that keep haproxy.cfg in step (hybrid).
import type { BackendConfig } from '../../functions/lib/config.js';
import { renderServerOptions } from '../../functions/lib/domain/server-options.js';
import type { SlotRecord } from '../../functions/lib/domain/types.js';
import { formatEndpoint } from '../../functions/lib/domain/values.js';
import type { CliArgs } from './args.js';
import { type CliContext, selectBackends } from './context.js';
import { EXIT } from './exit-codes.js';
import type { Output } from './format.js';

/**
 * The host kit's placeholder: a hostname libc resolves at start, so `init-addr last` can restore a runtime address
 * from the server-state file after a reload (an IP-literal placeholder loses it; reference §9, gotcha 12).
 */
export const PLACEHOLDER = 'localhost:9';
const PLACEHOLDER_OPTIONS = 'init-addr last,libc,none';

/** `render-config --backend B [--no-check]`: prints the lines; exit 0 (reading the table is all it does). */
export async function runRenderConfig(args: CliArgs, ctx: CliContext, io: Output): Promise<number> {
  const [backend] = selectBackends(ctx.config, args.backend);
  if (!backend) return EXIT.usage;
  const slots = await ctx.deps.store.list(backend.name);
  io.out(
    renderServerLines(backend, slots, { check: args.check, table: ctx.tableName, now: new Date(ctx.deps.clock.now()) }),
  );
  return EXIT.ok;
}

/**
 * One `server` line per slot, in slot order, with the slot's own name (the Runtime API finds slots by name, so a
 * reload must keep them). Every line carries the same `check` so any slot can later be re-addressed and gated.
 *  - active: `server web1 10.0.0.5:8080 weight 3 check` — serves after a reload.
 *  - draining: the member, `disabled`: its sessions stay with the old worker; the new one must send it nothing.
 *  - held maint: the member, `disabled` — exactly what the operator set.
 *  - held drain: the member with `weight 0` (config has no drain keyword; weight 0 takes no new balanced traffic).
 *  - free (or held without a member): the placeholder, `disabled`.
 * A dynamic slot (growth, ARCHITECTURE.md "Growth") is written with the backend's dynamicServerOptions instead of
 * `check`, so a reload keeps it where the Runtime API alone would lose it; one nobody holds gets no line at all.
 */
export function renderServerLines(
  backend: Pick<BackendConfig, 'name' | 'weight' | 'dynamicServerOptions'>,
  slots: readonly SlotRecord[],
  options: { readonly check: boolean; readonly table: string; readonly now: Date },
): string {
  const check = options.check ? ' check' : '';
  const lines = [
    `# backend ${backend.name}: ${slots.length} slots from table ${options.table} at ${options.now.toISOString()} (slot-sync render-config)`,
    `# These replace the backend's server-template line. Re-render right before every reload; reconcile repairs the rest.`,
  ];
  const dynamicCheck = ['', ...renderServerOptions(backend.dynamicServerOptions ?? {})].join(' ');
  for (const r of slots) {
    if (!r.dynamic) lines.push(serverLine(r, backend.weight, check));
    else if (r.member !== undefined && r.state !== 'free') lines.push(serverLine(r, backend.weight, dynamicCheck));
  }
  return `${lines.join('\n')}\n`;
}

function serverLine(r: SlotRecord, defaultWeight: number, check: string): string {
  const placeholder = `server ${r.slot} ${PLACEHOLDER}${check} disabled ${PLACEHOLDER_OPTIONS}`;
  if (r.member === undefined || r.address === undefined || r.port === undefined || r.state === 'free') {
    return r.state === 'held'
      ? `${placeholder}  # held (${r.heldAdmin ?? 'untouched'}) by an operator, no member`
      : placeholder;
  }
  const weight = r.weight ?? defaultWeight;
  const server = `server ${r.slot} ${formatEndpoint(r.address, r.port)}`;
  if (r.state === 'active') return `${server} weight ${weight}${check}`;
  if (r.state === 'draining') return `${server} weight ${weight}${check} disabled  # draining ${r.member}`;
  if (r.heldAdmin === 'drain') {
    return `${server} weight 0${check}  # held (drain) by an operator: ${r.member}, weight ${weight} on enable`;
  }
  if (r.heldAdmin === 'maint')
    return `${server} weight ${weight}${check} disabled  # held (maint) by an operator: ${r.member}`;
  // Held as ready, or recorded without an admin state: the hosts were not touched, so keep what it was.
  return r.heldFrom === 'draining'
    ? `${server} weight ${weight}${check} disabled  # held, was draining: ${r.member}`
    : `${server} weight ${weight}${check}  # held by an operator: ${r.member}`;
}
