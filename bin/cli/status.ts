// Operator CLI `status`: every slot on every host, drift marked, one verdict; exits with the Nagios plugin code.
import type { CliArgs } from './args.js';
import { type CliContext, LOCAL_HOST, selectBackends } from './context.js';
import { explain } from './explain.js';
import { json, type Output } from './format.js';
import { buildStatus, type StatusContext } from './status-model.js';
import { renderStatus } from './status-render.js';
import { colourFor } from './style.js';

type Env = Readonly<Record<string, string | undefined>>;

/** `slot-sync status [--backend B] [--json]`: 0 OK, 1 WARNING, 2 CRITICAL (3 UNKNOWN comes from main). */
export async function runStatus(args: CliArgs, ctx: CliContext, io: Output, env: Env): Promise<number> {
  const report = await buildStatus(selectBackends(ctx.config, args.backend), ctx.deps, statusContext(args, ctx, env));
  if (args.json) io.out(json(report));
  else io.out(renderStatus(report, colourFor({ isTTY: io.tty }, env)));
  return report.verdict.code;
}

/** Where each host is (for the header) and how a table failure is worded, from the config and the environment. */
export function statusContext(args: Pick<CliArgs, 'socket'>, ctx: CliContext, env: Env): StatusContext {
  const endpoints = new Map(
    args.socket === undefined
      ? ctx.config.hosts.map((h) => [h.name, `${h.host}:${h.port}`])
      : [[LOCAL_HOST, args.socket]],
  );
  return {
    tableName: ctx.tableName,
    endpoints,
    describeTableError: (error) => {
      const e = explain(error, { env, service: 'DynamoDB' });
      return {
        cause: e.kind === 'configuration' ? 'configuration' : 'unreachable',
        error: { code: e.code, message: e.sentence },
      };
    },
  };
}
