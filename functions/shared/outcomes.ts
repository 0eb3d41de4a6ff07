// The one place that maps error codes to outcomes: HTTP status for the webhook, retry-or-ack for events.
import { type ErrorCode, SlotSyncError } from '../lib/errors.js';

/** Codes of errors that are not ours but have a meaning: Powertools idempotency and parser failures, middy's timeout. */
export type ForeignCode = 'IDEMPOTENCY_KEY_REUSED' | 'IN_PROGRESS' | 'DEADLINE_EXCEEDED' | 'INTERNAL';
export type OutcomeCode = ErrorCode | ForeignCode;

// Keyed by the whole union: a new error code does not compile until it has a status here.
const HTTP_STATUS: { readonly [C in OutcomeCode]: number } = {
  VALIDATION_FAILED: 400,
  INVALID_ARGUMENT: 400,
  ADDRESS_REFUSED: 400,
  BAD_SIGNATURE: 401,
  NOT_FOUND: 404,
  NO_FREE_SLOT: 409,
  SLOT_CONFLICT: 409,
  MEMBER_RETIRED: 409,
  MEMBER_LEAVING: 409,
  LAUNCH_SETTLED: 409,
  REQUEST_REFUSED: 409,
  IN_PROGRESS: 409,
  PAYLOAD_TOO_LARGE: 413,
  IDEMPOTENCY_KEY_REUSED: 422,
  QUORUM_NOT_MET: 502,
  NOTHING_APPLIED: 502,
  HOST_UNREACHABLE: 502,
  HOST_TIMEOUT: 502,
  PROTOCOL_ERROR: 502,
  REPLY_TOO_LARGE: 502,
  UNSUPPORTED_VERSION: 502,
  COMMAND_FAILED: 502,
  STALE_PLAN: 502,
  STORE_UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  PARSE_ERROR: 500,
  CONFIG_ERROR: 500,
  LIFECYCLE_ACTION_GONE: 500,
  INTERNAL: 500,
};

// Whether an event-triggered failure is final (ack: log, count, return) or worth a redelivery (retry: throw).
const EVENT_DISPOSITION: { readonly [C in OutcomeCode]: 'ack' | 'retry' } = {
  // A malformed event never gets better; a lifecycle action AWS says is gone is over.
  VALIDATION_FAILED: 'ack',
  INVALID_ARGUMENT: 'ack',
  // The config refuses the instance's address: a redelivery refuses it again.
  ADDRESS_REFUSED: 'ack',
  LIFECYCLE_ACTION_GONE: 'ack',
  PAYLOAD_TOO_LARGE: 'ack',
  BAD_SIGNATURE: 'ack',
  REQUEST_REFUSED: 'ack',
  // The member is gone or going: the event's purpose is moot.
  MEMBER_RETIRED: 'ack',
  MEMBER_LEAVING: 'ack',
  // A redelivered launch whose action was already decided: nothing is left to do.
  LAUNCH_SETTLED: 'ack',
  // A duplicate delivery while the first is still running: the first finishes the work.
  IN_PROGRESS: 'ack',
  IDEMPOTENCY_KEY_REUSED: 'ack',
  NOT_FOUND: 'retry',
  NO_FREE_SLOT: 'retry',
  SLOT_CONFLICT: 'retry',
  QUORUM_NOT_MET: 'retry',
  NOTHING_APPLIED: 'retry',
  HOST_UNREACHABLE: 'retry',
  HOST_TIMEOUT: 'retry',
  PROTOCOL_ERROR: 'retry',
  REPLY_TOO_LARGE: 'retry',
  UNSUPPORTED_VERSION: 'retry',
  COMMAND_FAILED: 'retry',
  STALE_PLAN: 'retry',
  STORE_UNAVAILABLE: 'retry',
  DEADLINE_EXCEEDED: 'retry',
  PARSE_ERROR: 'retry',
  CONFIG_ERROR: 'retry',
  INTERNAL: 'retry',
};

const FOREIGN_CODES: Readonly<Record<string, OutcomeCode>> = {
  IdempotencyValidationError: 'IDEMPOTENCY_KEY_REUSED',
  IdempotencyAlreadyInProgressError: 'IN_PROGRESS',
  // Powertools parser middleware: the event or body does not match its schema.
  ParseError: 'VALIDATION_FAILED',
};

/**
 * middy's answer when the invocation is about to run out of time (`timeoutEarlyResponse`): the handler's work is not
 * over, only abandoned. Told apart by its cause: the SDK's HTTP handler names its socket timeouts TimeoutError too.
 */
function middyTimeout(error: unknown): boolean {
  const e = error as { name?: string; cause?: { package?: string } } | undefined;
  return e?.name === 'TimeoutError' && e.cause?.package === '@middy/core';
}

/** What a client is told when the function ran out of time: the work may have been done in part. */
const DEADLINE_MESSAGE =
  'the function ran out of time before it could answer: the change may be recorded in part (reconcile converges the ' +
  'hosts to what the table records); retry with the same webhook-id';

/** The error's code, or INTERNAL for anything that is not ours (a bug, or an SDK error that leaked). */
export function codeOf(error: unknown): OutcomeCode {
  if (error instanceof SlotSyncError) return error.code as ErrorCode;
  if (middyTimeout(error)) return 'DEADLINE_EXCEEDED';
  return FOREIGN_CODES[(error as { name?: string })?.name ?? ''] ?? 'INTERNAL';
}

/** HTTP status for a webhook failure. */
export function httpStatusFor(error: unknown): number {
  return HTTP_STATUS[codeOf(error)];
}

/** Whether an event-triggered failure is final (ack) or worth a redelivery (retry). */
export function eventDisposition(error: unknown): 'ack' | 'retry' {
  return EVENT_DISPOSITION[codeOf(error)];
}

/** Issues of a validation failure: ours carry `issues`; a Powertools ParseError carries the schema's issues as cause. */
function issuesOf(error: unknown): { path: unknown[]; message: string }[] | undefined {
  const own = (error as { issues?: { path: unknown[]; message: string }[] }).issues;
  if (own) return own;
  const cause = (error as { cause?: unknown }).cause;
  if (!Array.isArray(cause)) return undefined;
  return cause.map((i: { path?: unknown[]; message?: string }) => {
    // Standard Schema path segments are keys or `{ key }`; the webhook's body issues read relative to the body.
    const path = (i.path ?? []).map((p) => (typeof p === 'object' && p !== null && 'key' in p ? p.key : p));
    return { path: path[0] === 'body' ? path.slice(1) : path, message: i.message ?? 'invalid' };
  });
}

/** The JSON body of a webhook error: code, message, issues / refusals when there are some. Never a stack. */
export function errorBody(error: unknown): {
  error: { code: OutcomeCode; message: string; issues?: unknown; refusals?: unknown };
  results?: unknown;
} {
  const code = codeOf(error);
  const message =
    error instanceof SlotSyncError
      ? error.message
      : code === 'INTERNAL'
        ? 'internal error'
        : code === 'DEADLINE_EXCEEDED'
          ? DEADLINE_MESSAGE
          : (error as Error).message;

  const issues = code === 'VALIDATION_FAILED' ? issuesOf(error) : undefined;
  const detail = issues?.[0] && !(error instanceof SlotSyncError) ? `invalid request: ${issues[0].message}` : undefined;
  const refusals = (error as { refusals?: unknown }).refusals;
  const results = code === 'NOTHING_APPLIED' ? (error as { results?: unknown }).results : undefined;
  return {
    error: { code, message: detail ?? message, ...(issues ? { issues } : {}), ...(refusals ? { refusals } : {}) },
    ...(results ? { results } : {}),
  };
}
