// Operator CLI `hook <action>`: the signed sender for deploy pipelines — builds the webhook body, signs it Standard
// Webhooks style (fresh webhook-id unless --id, timestamp now), POSTs it, prints the per-change, per-host results.
import { randomUUID } from 'node:crypto';
import { SlotSyncError, ValidationError } from '../../functions/lib/errors.js';
import { parseWebhookBody } from '../../functions/webhook/schema.js';
import { SECRET_PREFIX, standardHeaders } from '../../functions/webhook/standard-signature.js';
import type { CliArgs } from './args.js';
import { EnvironmentError } from './environment.js';
import { EXIT } from './exit-codes.js';
import { count, json, type Output, summaryLine, table } from './format.js';
import type { HookArgs } from './hook-args.js';
import { UsageError } from './usage.js';

// The HTTP API answers within 29 s or not at all; a little more covers the connection.
const REQUEST_TIMEOUT_MS = 35_000;
// What the webhook reports for a change that did what was asked (or is on its way: a drain, a health check).
const DONE = new Set(['applied', 'moved', 'awaiting-health', 'draining', 'released', 'not-registered']);

/** The webhook could not be reached, or answered something that is not the webhook's JSON. */
export class WebhookUnreachableError extends SlotSyncError {
  readonly code = 'WEBHOOK_UNREACHABLE' as const;
}

interface ChangeResult {
  readonly action: string;
  readonly backend: string;
  readonly member: string;
  readonly slot?: string;
  readonly status: string;
  readonly error?: { readonly code: string; readonly message: string };
  readonly hosts: readonly { readonly host: string; readonly ok: boolean; readonly error?: string }[];
}

interface Answer {
  readonly results?: readonly ChangeResult[];
  readonly error?: {
    readonly code: string;
    readonly message: string;
    readonly issues?: readonly { readonly path: readonly unknown[]; readonly message: string }[];
    readonly refusals?: readonly { readonly message: string }[];
  };
}

/** The body exactly as the webhook parses it (one change, or a desired set for `set`). */
export function hookBody(hook: HookArgs): string {
  if (hook.action === 'set') {
    return JSON.stringify({
      backend: hook.backend,
      members: hook.members ?? [],
      ...(hook.allowEmpty ? { allowEmpty: true } : {}),
    });
  }
  return JSON.stringify({
    action: hook.action,
    backend: hook.backend,
    member: hook.member,
    ...(hook.weight === undefined ? {} : { weight: hook.weight }),
  });
}

function secretOf(hook: HookArgs, env: Readonly<Record<string, string | undefined>>): string {
  const secret = env[hook.secretEnv]?.trim();
  if (!secret) {
    throw new EnvironmentError(
      `${hook.secretEnv} is not set: export it with the webhook secret (whsec_…, the value of the stage's webhookSecretParameter)`,
    );
  }
  // A parameter holding several lines (a rotation): the sender signs with the first, the newest by convention.
  const first = secret.split('\n')[0]?.trim() ?? '';
  if (!first.startsWith(SECRET_PREFIX)) {
    throw new EnvironmentError(`${hook.secretEnv} does not hold a Standard Webhooks secret: it must start with whsec_`);
  }
  return first;
}

/** The body checked with the webhook's own schema, so a mistake is a usage error here, not a 400 there. */
function checkedBody(hook: HookArgs): string {
  const body = hookBody(hook);
  try {
    parseWebhookBody(body);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const issue = error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new UsageError(`the webhook would refuse this body: ${where}${issue?.message ?? error.message}`);
  }
  return body;
}

async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; answer: Answer }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (cause) {
    // fetch says "fetch failed"; what failed (ECONNREFUSED, a blocked port, a timeout) is in its cause.
    const inner = (cause as { cause?: { code?: string; message?: string } }).cause;
    const reason = inner?.code ?? inner?.message ?? (cause as Error).message;
    throw new WebhookUnreachableError(
      `cannot reach the webhook at ${url} (${reason}): check --url and the network path`,
      {
        cause,
      },
    );
  }
  const text = await res.text();
  try {
    return { status: res.status, answer: JSON.parse(text) as Answer };
  } catch {
    throw new WebhookUnreachableError(
      `${url} answered HTTP ${res.status} with a body that is not the webhook's JSON: is --url the WebhookUrl?`,
    );
  }
}

/** Text form: one block per change (its status, then one line per host), then the summary line. */
export function renderHook(id: string, status: number, answer: Answer): string {
  const lines = [`webhook-id ${id}: HTTP ${status}`];
  const results = answer.results ?? [];
  for (const r of results) {
    const slot = r.slot ? ` (slot ${r.slot})` : '';
    const why = r.error ? `: ${r.error.code}: ${r.error.message}` : '';
    lines.push(`${r.action} ${r.backend} ${r.member}: ${r.status}${slot}${why}`);
    if (r.hosts.length > 0) {
      const rows = r.hosts.map((h) => [h.host, h.ok ? 'ok' : `FAILED${h.error ? `: ${h.error}` : ''}`]);
      lines.push(
        ...table(
          ['  HOST', 'RESULT'],
          rows.map(([h, v]) => [`  ${h}`, v ?? '']),
        ),
      );
    }
  }
  if (answer.error) {
    lines.push(`refused: ${answer.error.code}: ${answer.error.message}`);
    for (const i of answer.error.issues ?? []) lines.push(`  ${i.path.join('.') || '(body)'}: ${i.message}`);
    for (const r of answer.error.refusals ?? []) lines.push(`  ${r.message}`);
  }
  const failed = results.filter((r) => !DONE.has(r.status)).length;
  if (results.length > 0) {
    lines.push(summaryLine([count(results.length, 'change'), `${results.length - failed} done`, `${failed} failed`]));
  }
  return `${lines.join('\n')}\n`;
}

/** Exit 0 when the webhook answered 200 and every change is done; 1 otherwise (refused, partial, not applied). */
export async function runHook(args: CliArgs, env: Readonly<Record<string, string | undefined>>, io: Output) {
  const hook = args.hook as HookArgs;
  const secret = secretOf(hook, env);
  const body = checkedBody(hook);
  const id = hook.id ?? `msg_${randomUUID().replaceAll('-', '')}`;
  const headers = standardHeaders(secret, body, id, Math.floor(Date.now() / 1000));
  const { status, answer } = await post(hook.url, body, headers);
  const done = status === 200 && (answer.results ?? []).every((r) => DONE.has(r.status));
  if (args.json) io.out(json({ webhookId: id, status, ...answer }));
  else io.out(renderHook(id, status, answer));
  if (!done && answer.error) io.err(`slot-sync: ${answer.error.code}: ${answer.error.message}\n`);
  return done ? EXIT.ok : EXIT.failed;
}
