// Operator CLI `doctor`: everything to check before trusting the fleet, per host and backend; exits with the Nagios code.
import { endpointOf } from '../../functions/lib/haproxy/client.js';
import type { Endpoint } from '../../functions/lib/haproxy/transport.js';
import type { CliArgs } from './args.js';
import { type CliContext, LOCAL_HOST, selectBackends } from './context.js';
import { gatherFacts } from './doctor-facts.js';
import { renderDoctor } from './doctor-render.js';
import { judge } from './doctor-report.js';
import { json, type Output } from './format.js';
import { statusContext } from './status.js';
import { colourFor } from './style.js';

type Env = Readonly<Record<string, string | undefined>>;

/** `slot-sync doctor [--backend B] [--json]`: 0 OK, 1 WARNING, 2 CRITICAL (3 UNKNOWN comes from main). */
export async function runDoctor(args: CliArgs, ctx: CliContext, io: Output, env: Env): Promise<number> {
  const transports = new Map<string, Endpoint>(
    args.socket === undefined
      ? ctx.config.hosts.map((h) => [h.name, endpointOf(h)])
      : [[LOCAL_HOST, { kind: 'unix', path: args.socket }]],
  );
  const facts = await gatherFacts(selectBackends(ctx.config, args.backend), ctx.deps, {
    ...statusContext(args, ctx, env),
    transports,
    probeWaitMs: ctx.config.timeouts.commandMs,
  });
  const report = judge(facts);
  if (args.json) io.out(json(report));
  else io.out(renderDoctor(report, colourFor({ isTTY: io.tty }, env)));
  return report.verdict.code;
}
