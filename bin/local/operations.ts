// Local stack: what `npm run local -- …` and the e2e test do to a running stack — launch, terminate, webhook, look.
import { randomUUID } from 'node:crypto';
import { parseShowStat } from '../../functions/lib/haproxy/parse-stat.js';
import { signBody } from '../../functions/webhook/signature.js';
import { SECRET_PREFIX, standardHeaders } from '../../functions/webhook/standard-signature.js';
import { oneShot } from '../harness/haproxy-util.js';
import { httpGet } from '../harness/instances.js';
import { lifecycleEvent } from './events.js';
import { type Delivery, deliverThroughQueue, type Queued } from './queue.js';
import type { StackState } from './stack-state.js';
import { HOOKS, type StartedAction } from './stand-ins/asg-group.js';
import type { CallRecord } from './stand-ins/http.js';

/** One instance as the Auto Scaling stand-in sees it. */
export interface GroupView {
  readonly id: string;
  readonly state: string;
  readonly action?: { readonly token: string; readonly hookName: string };
}

/** The group, every AWS call the Auto Scaling stand-in answered, and every lifecycle action it started. */
export async function asgState(
  state: StackState,
): Promise<{ instances: GroupView[]; calls: CallRecord[]; actions: StartedAction[] }> {
  const res = await fetch(`${state.endpoints.autoscaling}/_local/state`);
  return (await res.json()) as { instances: GroupView[]; calls: CallRecord[]; actions: StartedAction[] };
}

async function startAction(state: StackState, kind: 'launch' | 'terminate', instanceId: string) {
  const res = await fetch(`${state.endpoints.autoscaling}/_local/${kind}`, {
    method: 'POST',
    body: JSON.stringify({ instanceId }),
  });
  const body = (await res.json()) as { token?: string; hookName?: string; error?: string };
  if (!res.ok || !body.token || !body.hookName) throw new Error(`${kind} ${instanceId}: ${body.error ?? res.status}`);
  return { token: body.token, hookName: body.hookName };
}

/** Where an instance's address is on the hosts: one row per slot, with the status each host reports for it. */
export interface HostSlot {
  readonly backend: string;
  readonly slot: string;
  /** HAProxy's status word per host that shows the address in this slot (`UP`, `DRAIN`, `MAINT`, …). */
  readonly statuses: readonly string[];
  /** Hosts asked. */
  readonly of: number;
}

/** What one lifecycle event did, seen from outside: the queue's delivery, what AWS heard, what the hosts show. */
export interface LifecycleRun {
  readonly instanceId: string;
  readonly token: string;
  readonly delivery: Delivery;
  /** The CompleteLifecycleAction result the Auto Scaling stand-in accepted for the token; undefined: none yet. */
  readonly completion?: string;
  readonly slots: readonly HostSlot[];
}

/** The slots whose address is the instance's, per the hosts' `show stat` now. */
export async function hostSlotsOf(state: StackState, instanceId: string): Promise<HostSlot[]> {
  const address = state.instances.find((i) => i.id === instanceId)?.address;
  const rows = await Promise.all(
    state.hosts.map(async (h) =>
      parseShowStat(await oneShot(h.statsPort, `show stat ${state.backend.name} 4 -1`)).filter(
        (r) => r.address === address && r.port === state.backend.port,
      ),
    ),
  );
  const slots = new Map<string, string[]>();
  for (const row of rows.flat()) slots.set(row.server, [...(slots.get(row.server) ?? []), row.statusWord]);
  return [...slots].map(([slot, statuses]) => ({
    backend: state.backend.name,
    slot,
    statuses,
    of: state.hosts.length,
  }));
}

/**
 * Starts the actions in the Auto Scaling stand-in (a fresh token each), sends their events through the queue
 * (queue.ts: SQS batches, as the stage's event source mapping delivers them), then reports each as AWS and the hosts
 * see it.
 */
async function sendLifecycle(
  state: StackState,
  kind: 'launch' | 'terminate',
  instanceIds: readonly string[],
): Promise<LifecycleRun[]> {
  const queued = await Promise.all(
    instanceIds.map(async (instanceId) => {
      const { token, hookName } = await startAction(state, kind, instanceId);
      const event = lifecycleEvent({
        kind,
        region: state.region,
        asgName: state.backend.asg,
        instanceId,
        token,
        hookName,
      });
      return { instanceId, token, event };
    }),
  );
  return deliverAndReport(state, queued);
}

/** Sends the events through the queue, then reports each as AWS and the hosts see it. */
async function deliverAndReport(state: StackState, queued: readonly Queued[]): Promise<LifecycleRun[]> {
  const deliveries = await deliverThroughQueue(state, queued);
  const { calls } = await asgState(state);
  return Promise.all(
    deliveries.map(async (delivery) => {
      const completion = calls.findLast(
        (c) =>
          c.action === 'CompleteLifecycleAction' &&
          c.status === 200 &&
          c.params.LifecycleActionToken === delivery.token,
      )?.params.LifecycleActionResult as string | undefined;
      return {
        instanceId: delivery.instanceId,
        token: delivery.token,
        delivery,
        ...(completion ? { completion } : {}),
        slots: await hostSlotsOf(state, delivery.instanceId),
      };
    }),
  );
}

/** Instances of the stack that are not in the group (never launched, or Terminated), in id order. */
export async function idleInstances(state: StackState): Promise<string[]> {
  const { instances } = await asgState(state);
  const busy = new Set(instances.filter((i) => i.state !== 'Terminated').map((i) => i.id));
  return state.instances.map((i) => i.id).filter((id) => !busy.has(id));
}

/**
 * Scale-out by `count`: each idle instance enters Pending:Wait in the stand-in with a fresh token, then their
 * `EC2 Instance-launch Lifecycle Action` events go through the queue to the lifecycle function (batches of up to 10).
 */
export async function launch(state: StackState, count: number): Promise<LifecycleRun[]> {
  const idle = await idleInstances(state);
  if (idle.length < count)
    throw new Error(`only ${idle.length} of ${state.instances.length} instances are free to launch`);
  return sendLifecycle(state, 'launch', idle.slice(0, count));
}

/** Scale-in of InService instances: each Terminating:Wait, then their terminate events through the queue together. */
export function terminate(state: StackState, instanceIds: readonly string[]): Promise<LifecycleRun[]> {
  return sendLifecycle(state, 'terminate', instanceIds);
}

/** A lifecycle event delivered again, and what the Auto Scaling stand-in accepted for its token in all. */
export interface Redelivery extends LifecycleRun {
  /** CompleteLifecycleAction calls for the token the stand-in accepted, the first delivery's included. */
  readonly accepted: number;
}

/**
 * The event of an action the stand-in started earlier, with its own token, through the queue once more: what SQS does
 * when a record comes back after its visibility timeout although the function had handled it (ARCHITECTURE.md, "The
 * launch path": a launch decided once). Refuses a token the stand-in never handed out.
 */
export async function redeliver(state: StackState, token: string): Promise<Redelivery> {
  const action = (await asgState(state)).actions.find((a) => a.token === token);
  if (!action)
    throw new Error(`no lifecycle action has token ${JSON.stringify(token)}; \`calls\` lists those completed`);
  const kind = action.hookName === HOOKS.launch ? 'launch' : 'terminate';
  const event = lifecycleEvent({ kind, region: state.region, asgName: state.backend.asg, ...action });
  const [run] = await deliverAndReport(state, [{ instanceId: action.instanceId, token, event }]);
  if (!run) throw new Error(`the queue reported nothing for token ${token}`);
  const { calls } = await asgState(state);
  const accepted = calls.filter(
    (c) => c.action === 'CompleteLifecycleAction' && c.status === 200 && c.params.LifecycleActionToken === token,
  ).length;
  return { ...run, accepted };
}

/**
 * The signature headers for `body`, signed now: Standard Webhooks for a `whsec_` secret (the stack's), the deprecated
 * X-Slot-Sync-Signature for any other (how the e2e test shows a wrong secret getting a 401).
 */
function signedHeaders(secret: string, body: string): Record<string, string> {
  const now = Math.floor(Date.now() / 1000);
  if (!secret.startsWith(SECRET_PREFIX)) return { 'x-slot-sync-signature': signBody(secret, body, now) };
  return standardHeaders(secret, body, `msg_${randomUUID()}`, now);
}

/** POSTs a webhook body signed with the stack's secret (or `secret`, to see a 401). */
export async function sendWebhook(
  state: StackState,
  body: string,
  secret = state.secret,
): Promise<{ status: number; body: string }> {
  const res = await fetch(state.endpoints.webhook, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signedHeaders(secret, body) },
    body,
  });
  return { status: res.status, body: await res.text() };
}

/** A curl line that sends `body` signed now (valid for the signature's five-minute window, once: the id is fixed). */
export function webhookCurl(state: StackState, body: string): string {
  const headers = Object.entries(signedHeaders(state.secret, body)).map(([k, v]) => `-H '${k}: ${v}'`);
  return `curl -s -X POST ${state.endpoints.webhook} -H 'content-type: application/json' ${headers.join(' ')} -d '${body}'`;
}

/**
 * The distinct answers of `requests` GETs to one frontend (no keep-alive, so round robin moves on every time):
 * instance ids, or `HTTP <status>` when HAProxy had nobody to send it to.
 */
export async function frontendServes(port: number, requests = 12): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < requests; i++) {
    try {
      const res = await httpGet(port, '/', 3_000);
      seen.add(res.status === 200 ? res.body.trim() : `HTTP ${res.status}`);
    } catch (error) {
      seen.add(`error: ${(error as Error).message}`);
    }
  }
  return [...seen].sort();
}

/** What each host's frontend serves right now, by host name. */
export async function whatFrontendsServe(state: StackState): Promise<Record<string, string[]>> {
  const entries = await Promise.all(
    state.hosts.map(async (h) => [h.name, await frontendServes(h.frontendPort)] as const),
  );
  return Object.fromEntries(entries);
}
