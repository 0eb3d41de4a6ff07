// The adapter boundary: AWS SDK failures become domain errors or typed "rejected" outcomes here, nowhere else.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { SlotSyncError, StoreUnavailableError } from '../errors.js';
import { decodeItem, type Item } from './mapping.js';

/** One entry of a TransactionCanceledException, in the order of the transaction's items. */
export interface CancellationReason {
  /** `None`, `ConditionalCheckFailed`, `TransactionConflict`, `ThrottlingError`, ... */
  readonly code: string;
  /** The item as it was, when the write asked for ReturnValuesOnConditionCheckFailure. */
  readonly item?: Item;
}

/** A conditional write that lost: either a single-item condition or a cancelled transaction. Expected, not an error. */
export class Rejected {
  constructor(
    readonly kind: 'condition' | 'transaction',
    readonly reasons: readonly CancellationReason[],
  ) {}
  /** The current item of a failed single-item condition (when returned). */
  get item(): Item | undefined {
    return this.reasons[0]?.item;
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'AbortError']);

interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: unknown;
  Item?: Record<string, AttributeValue>;
  CancellationReasons?: Array<{ Code?: string; Item?: Record<string, AttributeValue> }>;
}

/**
 * Classifies what a DynamoDB call threw. Lost conditions come back as Rejected; a ValidationException is a bug in the
 * request and is rethrown as is; every other service or transport failure (throttling past the SDK's own retries,
 * 5xx, connection refused, missing table) becomes StoreUnavailableError so the trigger retries.
 */
export function classify(error: unknown, what: string): Rejected {
  const e = (error ?? {}) as SdkLikeError;
  if (e.name === 'ConditionalCheckFailedException') {
    return new Rejected('condition', [{ code: 'ConditionalCheckFailed', item: decodeItem(e.Item) }]);
  }
  // A plain write that hit an item inside another transaction: a lost race like any other, decided again by the caller.
  if (e.name === 'TransactionConflictException') return new Rejected('condition', [{ code: 'TransactionConflict' }]);
  if (e.name === 'TransactionCanceledException') {
    const reasons = (e.CancellationReasons ?? []).map((r) => ({ code: r.Code ?? 'None', item: decodeItem(r.Item) }));
    // Cancelled only by throttling / capacity on some item: that is unavailability, not a lost race.
    const raced = reasons.some((r) => r.code === 'ConditionalCheckFailed' || r.code === 'TransactionConflict');
    if (raced || reasons.length === 0) return new Rejected('transaction', reasons);
    throw new StoreUnavailableError(`${what}: transaction cancelled (${reasons.map((r) => r.code).join(', ')})`, {
      cause: error,
    });
  }
  if (error instanceof SlotSyncError) throw error;
  if (e.name === 'ValidationException') throw error;
  const sdkFailure =
    e.$metadata !== undefined || (e.code !== undefined && NETWORK_CODES.has(e.code)) || NETWORK_NAMES.has(e.name ?? '');
  if (sdkFailure)
    throw new StoreUnavailableError(`${what}: ${e.name ?? 'Error'}: ${e.message ?? ''}`.trim(), { cause: error });
  throw error;
}

/** Runs one SDK call; a lost condition resolves to Rejected, every other failure is classified by `classify`. */
export async function attempt<T>(what: string, run: () => Promise<T>): Promise<T | Rejected> {
  try {
    return await run();
  } catch (error) {
    return classify(error, what);
  }
}
