// Local stack: lifecycle events reach the function the way the stage delivers them — EventBridge → the lifecycle queue
// → the SQS event source mapping (serverless.yml, infra/lifecycle-events.cjs) — so a local `launch 5` takes the same
// path a scale-out does in AWS: one invocation per batch, whose launches register together.
import { sqsRecord } from '../harness/sqs.js';
import { type InvokeResult, invokeFunction } from './offline.js';
import type { StackState } from './stack-state.js';

// The stage's defaults (serverless.yml params lifecycleBatchSize and lifecycleMaxReceiveCount).
const BATCH_SIZE = 10;
const MAX_RECEIVES = 5;
// Stands in for the visibility timeout before a failed record is received again (90 min in AWS: 6 × the timeout).
const REDELIVER_AFTER_MS = 1_000;

/** One event on its way through the queue. */
export interface Queued {
  readonly instanceId: string;
  readonly token: string;
  readonly event: unknown;
}

/** What the queue did with one event: how often it was received, and whether it ended in the DLQ. */
export interface Delivery {
  readonly instanceId: string;
  readonly token: string;
  /** Receives it took (1 when the first batch handled it). */
  readonly receives: number;
  /** Still failing after MAX_RECEIVES receives: in AWS it would now be in the dead-letter queue. */
  readonly deadLettered: boolean;
  /** The records that were in its last batch (itself included). */
  readonly batchOf: number;
  /** Its last batch's invocation: a function error fails every record of the batch. */
  readonly result: InvokeResult;
}

/**
 * Delivers the events in batches of at most BATCH_SIZE, the batches side by side (the mapping's concurrency). A record
 * the function reports in `batchItemFailures` — or every record of a batch whose invocation failed — is received
 * again (in AWS after the visibility timeout; here after REDELIVER_AFTER_MS), up to MAX_RECEIVES times.
 */
export async function deliverThroughQueue(
  state: Pick<StackState, 'region' | 'endpoints' | 'functions'>,
  events: readonly Queued[],
  redeliverAfterMs = REDELIVER_AFTER_MS,
): Promise<Delivery[]> {
  const queueArn = `arn:aws:sqs:${state.region}:123456789012:${state.functions.lifecycle}-events`;
  const done = new Map<string, Delivery>();
  let pending = events.map((q) => ({ q, receives: 1 }));
  for (let round = 0; pending.length > 0; round++) {
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, redeliverAfterMs));
    const batches: (typeof pending)[] = [];
    for (let i = 0; i < pending.length; i += BATCH_SIZE) batches.push(pending.slice(i, i + BATCH_SIZE));
    const again = await Promise.all(
      batches.map(async (batch) => {
        const records = batch.map((b) =>
          sqsRecord(b.q.event, { receives: b.receives, region: state.region, queueArn }),
        );
        const result = await invokeFunction<{ batchItemFailures?: { itemIdentifier?: string }[] }>(
          state.endpoints.lambda,
          state.functions.lifecycle,
          { Records: records },
        );
        const failed = new Set(
          result.ok
            ? (result.payload?.batchItemFailures ?? []).map((f) => f.itemIdentifier)
            : records.map((r) => r.messageId),
        );
        return batch.flatMap((b, i) => {
          const retry = failed.has(records[i]?.messageId);
          done.set(b.q.token, {
            instanceId: b.q.instanceId,
            token: b.q.token,
            receives: b.receives,
            deadLettered: retry && b.receives >= MAX_RECEIVES,
            batchOf: batch.length,
            result,
          });
          return retry && b.receives < MAX_RECEIVES ? [{ q: b.q, receives: b.receives + 1 }] : [];
        });
      }),
    );
    pending = again.flat();
  }
  return events.map((q) => done.get(q.token) as Delivery);
}
