// The one place that maps error codes to outcomes: HTTP status for the webhook, retry-or-ack for events.
import { SlotSyncError } from '../lib/errors.js';

const HTTP_STATUS: Readonly<Record<string, number>> = {
  VALIDATION_FAILED: 400,
  INVALID_ARGUMENT: 400,
  BAD_SIGNATURE: 401,
  NOT_FOUND: 404,
  NO_FREE_SLOT: 409,
  SLOT_CONFLICT: 409,
  MEMBER_RETIRED: 409,
  PAYLOAD_TOO_LARGE: 413,
  QUORUM_NOT_MET: 502,
  HOST_UNREACHABLE: 502,
  HOST_TIMEOUT: 502,
  STORE_UNAVAILABLE: 503,
  // Powertools idempotency: the key was used with another body / the first request is still running.
  IDEMPOTENCY_KEY_REUSED: 422,
  IN_PROGRESS: 409,
};

const FOREIGN_CODES: Readonly<Record<string, string>> = {
  IdempotencyValidationError: 'IDEMPOTENCY_KEY_REUSED',
  IdempotencyAlreadyInProgressError: 'IN_PROGRESS',
};

/** The error's domain code, or INTERNAL for anything that is not ours (a bug, or an SDK error that leaked). */
export function codeOf(error: unknown): string {
  if (error instanceof SlotSyncError) return error.code;
  return FOREIGN_CODES[(error as { name?: string })?.name ?? ''] ?? 'INTERNAL';
}

/** HTTP status for a webhook failure. */
export function httpStatusFor(error: unknown): number {
  return HTTP_STATUS[codeOf(error)] ?? 500;
}

/**
 * Whether an event-triggered failure is final (ack: log and return) or worth a retry (throw: EventBridge retries,
 * then the DLQ). A malformed event never gets better; a lifecycle action AWS says is gone is over.
 */
export function eventDisposition(error: unknown): 'ack' | 'retry' {
  const code = codeOf(error);
  return code === 'VALIDATION_FAILED' || code === 'LIFECYCLE_ACTION_GONE' ? 'ack' : 'retry';
}

/** The JSON body of a webhook error: code, message, and zod issues when there are some. Never a stack. */
export function errorBody(error: unknown): { error: { code: string; message: string; issues?: unknown } } {
  const code = codeOf(error);
  const message =
    error instanceof SlotSyncError ? error.message : code === 'INTERNAL' ? 'internal error' : (error as Error).message;
  const issues = (error as { issues?: unknown }).issues;
  return { error: { code, message, ...(issues && code === 'VALIDATION_FAILED' ? { issues } : {}) } };
}
