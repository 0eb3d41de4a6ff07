// Lambda entry: lifecycle events → slots on every HAProxy host. They come as SQS batches (EventBridge rules → the
// lifecycle queue → the event source mapping) or, for a stack wired the old way, as one direct EventBridge event; both
// shapes take the same path per event (ARCHITECTURE.md, "Triggers").
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { registerMembers } from '../lib/services/register.js';
import { together } from '../lib/services/register-together.js';
import { configMiddlewares, type SlotSyncContext } from '../shared/config-middleware.js';
import { eventErrors, type Ignored } from '../shared/event-errors.js';
import { logger, metrics } from '../shared/runtime.js';
import { type Delivered, deliver, deliverRecord } from './deliver.js';

const processor = new BatchProcessor(EventType.SQS);

/** An SQS event source batch: every record from SQS (anything else is one EventBridge event). */
function isSqsBatch(event: unknown): event is SQSEvent {
  const records = (event as { Records?: unknown } | null)?.Records;
  return (
    Array.isArray(records) &&
    records.length > 0 &&
    records.every((r) => (r as { eventSource?: unknown })?.eventSource === 'aws:sqs')
  );
}

// How long a batch's first launch waits for the others to reach their registration (their EC2 lookups finish at
// different times): a gathering then goes out with those that came, the rest form the next one.
const GATHER_WINDOW_MS = 50;

/**
 * A batch: every record in parallel, their launches registered together (register-together.ts: one observation, one
 * pipelined batch per host and one health-gate loop for the batch, ARCHITECTURE.md "The launch path"), and each
 * record answered alone: one that a retry can fix is reported in `batchItemFailures` and comes again after the
 * visibility timeout, one that cannot is acknowledged. A direct event: handled alone, a retryable failure thrown.
 */
export const handler = middy<unknown, SQSBatchResponse | Delivered | Ignored, Error, SlotSyncContext>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(eventErrors())
  .use(configMiddlewares())
  .handler(async (event, context) => {
    if (!isSqsBatch(event)) return deliver(event, context);
    const { config, deps } = context;
    const gathering = together({
      records: event.Records.length,
      run: (inputs, early) => registerMembers(inputs, config, deps, early),
      windowMs: GATHER_WINDOW_MS,
      wait: (ms) => deps.clock.sleep(ms),
    });
    const one = async (record: SQSRecord) => {
      const seat = gathering.seat();
      try {
        return await deliverRecord(record, context, seat.register);
      } finally {
        seat.done();
      }
    };
    return processPartialResponse(event, one, processor, {
      context,
      processInParallel: true,
      // Every record failed: answer them all as failures (each comes again) rather than fail the invocation.
      throwOnFullBatchFailure: false,
    });
  });
