// Local stack: what `npm run local -- …` and the e2e test do to a running stack — launch, terminate, webhook, look.
import { randomUUID } from 'node:crypto';
import { signBody } from '../../functions/webhook/signature.js';
import { SECRET_PREFIX, standardHeaders } from '../../functions/webhook/standard-signature.js';
import { httpGet } from '../harness/instances.js';
import { lifecycleEvent } from './events.js';
import { type InvokeResult, invokeFunction } from './offline.js';
import type { StackState } from './stack-state.js';
import type { CallRecord } from './stand-ins/http.js';

/** One instance as the Auto Scaling stand-in sees it. */
export interface GroupView {
  readonly id: string;
  readonly state: string;
  readonly action?: { readonly token: string; readonly hookName: string };
}

/** The group and every AWS call the Auto Scaling stand-in answered. */
export async function asgState(state: StackState): Promise<{ instances: GroupView[]; calls: CallRecord[] }> {
  const res = await fetch(`${state.endpoints.autoscaling}/_local/state`);
  return (await res.json()) as { instances: GroupView[]; calls: CallRecord[] };
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

/** What one lifecycle event did: the token it carried and the lifecycle function's answer. */
export interface LifecycleRun {
  readonly instanceId: string;
  readonly token: string;
  readonly result: InvokeResult;
}

async function sendLifecycle(
  state: StackState,
  kind: 'launch' | 'terminate',
  instanceId: string,
): Promise<LifecycleRun> {
  const { token, hookName } = await startAction(state, kind, instanceId);
  const event = lifecycleEvent({ kind, region: state.region, asgName: state.backend.asg, instanceId, token, hookName });
  const result = await invokeFunction(state.endpoints.lambda, state.functions.lifecycle, event);
  return { instanceId, token, result };
}

/** Instances of the stack that are not in the group (never launched, or Terminated), in id order. */
export async function idleInstances(state: StackState): Promise<string[]> {
  const { instances } = await asgState(state);
  const busy = new Set(instances.filter((i) => i.state !== 'Terminated').map((i) => i.id));
  return state.instances.map((i) => i.id).filter((id) => !busy.has(id));
}

/**
 * Scale-out by `count`: each idle instance enters Pending:Wait in the stand-in with a fresh token, then its
 * `EC2 Instance-launch Lifecycle Action` event goes to the lifecycle function (concurrently, as EventBridge would).
 */
export async function launch(state: StackState, count: number): Promise<LifecycleRun[]> {
  const idle = await idleInstances(state);
  if (idle.length < count)
    throw new Error(`only ${idle.length} of ${state.instances.length} instances are free to launch`);
  return Promise.all(idle.slice(0, count).map((id) => sendLifecycle(state, 'launch', id)));
}

/** Scale-in of one InService instance: Terminating:Wait, then the terminate event to the lifecycle function. */
export function terminate(state: StackState, instanceId: string): Promise<LifecycleRun> {
  return sendLifecycle(state, 'terminate', instanceId);
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
