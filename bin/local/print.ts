// Local stack: the text `npm start` and `npm run local` print — URLs, what to try, outcomes in one line each.
import { relative } from 'node:path';
import type { InvokeResult } from './offline.js';
import type { LifecycleRun } from './operations.js';
import type { StackState } from './stack-state.js';

/** A path as the user typed from here would: relative to the working directory. */
export const rel = (path: string) => relative(process.cwd(), path) || '.';

/** The banner after start: where everything listens and what to try. */
export function banner(state: StackState, tookMs: number): string {
  const [first] = state.instances;
  const member = first ? `{"id":"${first.id}","address":"${first.address}","port":${state.backend.port}}` : '{…}';
  const drain = `{"action":"drain","backend":"${state.backend.name}","member":${member}}`;
  const envFile = rel(`${state.stateDir}/env`);
  return [
    '',
    `haproxy-slot-sync local stack is up (stage ${state.stage}, ${(tookMs / 1000).toFixed(1)} s)`,
    '',
    `  frontends      ${state.hosts.map((h) => `http://127.0.0.1:${h.frontendPort}/ (${h.name})`).join('   ')}`,
    `  stats sockets  ${state.hosts.map((h) => `${h.name} 127.0.0.1:${h.statsPort}`).join('   ')}`,
    `  webhook        POST ${state.endpoints.webhook}  (signed; secret in ${rel(`${state.stateDir}/stack.json`)})`,
    `  Lambda invoke  ${state.endpoints.lambda}/2015-03-31/functions/<${Object.values(state.functions).join('|')}>/invocations`,
    `  DynamoDB       ${state.endpoints.dynamodb}  tables ${state.tables.slots}, ${state.tables.idempotency}`,
    `  stand-ins      EC2 ${state.endpoints.ec2}   Auto Scaling ${state.endpoints.autoscaling}   SSM ${state.endpoints.ssm}`,
    `  instances      ${state.instances.map((i) => `${i.id} ${i.address}:${state.backend.port}`).join(', ')} (none in service yet)`,
    `  reconcile      every 15 s and on demand; handler logs in ${rel(state.logFile)}`,
    '',
    'Try (in another terminal, in this directory):',
    '  npm run local -- launch 2                      # 2 instances enter the ASG; their launch events reach the lifecycle function as one SQS batch',
    `  curl -s -w '\\n' 127.0.0.1:${state.hosts[0]?.frontendPort}/ 127.0.0.1:${state.hosts[1]?.frontendPort}/   # both frontends answer with launched ids`,
    `  npm run local -- terminate ${first?.id ?? 'i-…'}   # drain on both hosts, free the slot, complete the action`,
    '  npm run local -- calls                         # the Auto Scaling calls, with each lifecycle token',
    '  npm run local -- redeliver <token>             # that event again, as SQS may deliver it twice: nothing changes',
    `  npm run local -- webhook '${drain}'`,
    '  npm run local -- status                        # ASG stand-in, frontends, and the operator CLI',
    `  source ${envFile} && npx slot-sync status       # the operator CLI against this stack (sets local AWS_* in that shell)`,
    '',
    'Ctrl-C stops everything this started.',
    '',
  ].join('\n');
}

/** One line per lifecycle event: where the hosts have the instance, what AWS heard, how the queue delivered it. */
export function describeRun(run: LifecycleRun, state: StackState): string {
  const d = run.delivery;
  const slots = run.slots
    .map((s) => {
      const statuses = [...new Set(s.statuses)].join('/');
      return `${s.backend}/${s.slot} ${statuses} on ${s.statuses.length}/${s.of} hosts`;
    })
    .join(', ');
  const received = d.receives > 1 ? `, received ${d.receives} times` : '';
  const batch = `SQS batch of ${d.batchOf}${received}`;
  if (d.deadLettered) {
    const why = d.result.ok ? 'reported failed every time' : `function failed (${d.result.functionError})`;
    return `${run.instanceId}: ${batch}, ${why}: in AWS it would now be in the DLQ; see ${rel(state.logFile)}`;
  }
  const pending =
    run.completion === undefined
      ? ` (a terminate still draining is finished by a reconcile (every 15 s) once sessions end or ${state.backend.drainSeconds} s pass; otherwise see ${rel(state.logFile)})`
      : '';
  return `${run.instanceId}: ${slots || 'on no host'}; CompleteLifecycleAction: ${run.completion ?? 'none yet'}${pending} (${batch})`;
}

/** What each frontend answered. */
export function describeServes(serves: Record<string, readonly string[]>, state: StackState): string {
  return state.hosts
    .map((h) => `  ${h.name} 127.0.0.1:${h.frontendPort} serves: ${(serves[h.name] ?? []).join(', ') || '(nothing)'}`)
    .join('\n');
}

/** A line for a scheduled reconcile, only when it changed or failed something (quiet passes print nothing). */
export function describeReconcile(result: InvokeResult): string | undefined {
  const p = (result.payload ?? {}) as Record<string, unknown> & {
    asg?: { registered?: unknown[]; deregistered?: unknown[] };
  };
  if (!result.ok) return `reconcile failed (${result.functionError}): ${String(p.errorMessage ?? JSON.stringify(p))}`;
  const count = (v: unknown) => (Array.isArray(v) ? v.length : Number(v) || 0);
  const parts = [
    count(p.driftFound) && `${count(p.driftFound)} drift fixed`,
    count(p.releases) && `${count(p.releases)} release(s)`,
    count(p.seeded) && 'slots seeded',
    count(p.failures) && `${count(p.failures)} host failure(s)`,
    count(p.asg?.registered) && `${count(p.asg?.registered)} registered from the ASG`,
    count(p.asg?.deregistered) && `${count(p.asg?.deregistered)} deregistered (gone from the ASG)`,
  ].filter(Boolean);
  return parts.length > 0 ? `reconcile: ${parts.join(', ')}` : undefined;
}
