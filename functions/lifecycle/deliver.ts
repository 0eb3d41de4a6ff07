// Lifecycle trigger, behind the handler: one delivered event (a direct EventBridge event or an SQS record's body) →
// validated → the Auto Scaling lifecycle path or the EC2 instance-notice path, with its metrics.
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import { ValidationError } from '../lib/errors.js';
import { handleInstanceNotice, type InstanceOutcome } from '../lib/services/instance-events.js';
import type { Register } from '../lib/services/register-together.js';
import { classifyLifecycle } from '../lib/services/warm-pool.js';
import type { SlotSyncContext } from '../shared/config-middleware.js';
import { workUntil } from '../shared/deadline.js';
import type { Ignored } from '../shared/event-errors.js';
import { METRICS } from '../shared/metric-names.js';
import { codeOf, eventDisposition } from '../shared/outcomes.js';
import { idempotencyStore, logger, metrics, plainJson } from '../shared/runtime.js';
import { EC2_DETAIL_TYPES, instanceEventSchema, noticeOf } from './instance-events.js';
import { type LifecycleEvent, lifecycleEventSchema, transitionOf } from './schema.js';
import { handleLifecycleEvent, type LifecycleAids, type LifecycleSummary } from './summary.js';

/** What an instance notice answers: small and JSON-safe. */
export interface InstanceSummary {
  readonly instanceId: string;
  readonly notice: InstanceOutcome['notice'];
  readonly effect: InstanceOutcome['effect'];
  readonly slots: readonly { readonly backend: string; readonly slot?: string; readonly status: string }[];
}

export type Delivered = LifecycleSummary | InstanceSummary;

const idempotency = new IdempotencyConfig({
  eventKeyJmesPath: 'detail.LifecycleActionToken',
  // A lifecycle action lives at most 48 h; a redelivery after that has nothing left to complete.
  expiresAfterSeconds: 48 * 3600,
});
// Once per lifecycle token for the actions that are not a launch into service (terminates, the warm pool's moves): a
// duplicate delivery answers the stored summary and changes nothing. A launch keeps no record: its claim proves the
// token unsettled in the same transaction, so its one table write before the hosts is that claim.
let once:
  | ((event: LifecycleEvent, context: SlotSyncContext, aids: LifecycleAids) => Promise<LifecycleSummary>)
  | undefined;

const NOTICE_METRIC = {
  [EC2_DETAIL_TYPES.spot]: METRICS.spotInterruptionEvents,
  [EC2_DETAIL_TYPES.rebalance]: METRICS.rebalanceEvents,
  [EC2_DETAIL_TYPES.state]: METRICS.stateChangeEvents,
} as const;

function invalid(what: string, issues: readonly { path: PropertyKey[]; message: string }[]): ValidationError {
  return new ValidationError(
    `invalid ${what}`,
    issues.map((i) => ({ path: i.path.map(String), message: i.message })),
  );
}

/** Whether the event is a launch into service (it claims slots), not a terminate or a move into the warm pool. */
function registers(event: LifecycleEvent): boolean {
  const d = event.detail;
  return classifyLifecycle(transitionOf(d), d.Origin, d.Destination).kind === 'register';
}

/** The Powertools-wrapped handling, made on first use (the persistence store needs the environment). */
function idempotent(context: SlotSyncContext): NonNullable<typeof once> {
  // An in-progress record of a crashed invocation expires with that invocation's own deadline, not after hours.
  idempotency.registerLambdaContext(context);
  once ??= makeIdempotent(handleLifecycleEvent, {
    persistenceStore: idempotencyStore('lifecycle'),
    config: idempotency,
  });
  return once;
}

/**
 * One event. Throws what a retry can fix (the caller turns it into a redelivery); a ValidationError for anything
 * malformed or foreign (the caller acknowledges it).
 */
export async function deliver(event: unknown, context: SlotSyncContext, register?: Register): Promise<Delivered> {
  metrics.addMetric(METRICS.lifecycleEvents, MetricUnit.Count, 1);
  const source = (event as { source?: unknown } | null)?.source;
  if (source === 'aws.autoscaling') {
    const parsed = lifecycleEventSchema.safeParse(event);
    if (!parsed.success) throw invalid('lifecycle event', parsed.error.issues);
    const d = parsed.data.detail;
    logger.appendKeys({ instanceId: d.EC2InstanceId, asg: d.AutoScalingGroupName });
    const summary = registers(parsed.data)
      ? // A launch: no idempotency record. Its claim carries the token check (a redelivery answers `duplicate`), and
        // the completion outbox completes the action once (ARCHITECTURE.md, "The launch path").
        await handleLifecycleEvent(parsed.data, context, register ? { register } : {})
      : await idempotent(context)(parsed.data, context, {});
    logger.info('lifecycle action handled', { summary });
    return summary;
  }
  if (source === 'aws.ec2') {
    const parsed = instanceEventSchema.safeParse(event);
    if (!parsed.success) throw invalid('EC2 instance event', parsed.error.issues);
    metrics.addMetric(NOTICE_METRIC[parsed.data['detail-type']], MetricUnit.Count, 1);
    // No idempotency record: each notice is the machine's terminate event, which joins a drain already under way, so
    // a duplicate or reordered delivery changes nothing (ARCHITECTURE.md, "Every way an instance leaves").
    const outcome = await handleInstanceNotice(
      { notice: noticeOf(parsed.data), until: workUntil(context.getRemainingTimeInMillis(), context.config.timeouts) },
      context.config,
      context.deps,
    );
    if (outcome.effect === 'ignored') metrics.addMetric(METRICS.ignoredEvents, MetricUnit.Count, 1);
    const summary: InstanceSummary = {
      instanceId: outcome.instanceId,
      notice: outcome.notice,
      effect: outcome.effect,
      slots: outcome.drained.map((d) => ({ backend: d.backend, slot: d.slot, status: d.status })),
    };
    logger.info('instance notice handled', { summary });
    return plainJson(summary);
  }
  throw new ValidationError('not an event this function handles', [
    { path: ['source'], message: `expected aws.autoscaling or aws.ec2, got ${JSON.stringify(source)?.slice(0, 60)}` },
  ]);
}

/**
 * One SQS record: its body is the EventBridge event. A failure a redelivery cannot fix is acknowledged here (logged,
 * counted, answered); anything else is thrown, and Powertools reports the record in `batchItemFailures`.
 */
export async function deliverRecord(
  record: SQSRecord,
  context: SlotSyncContext,
  register?: Register,
): Promise<Delivered | Ignored> {
  try {
    let event: unknown;
    try {
      event = JSON.parse(record.body);
    } catch {
      throw new ValidationError('SQS record body is not JSON', [
        { path: ['body'], message: 'expected an EventBridge event' },
      ]);
    }
    return await deliver(event, context, register);
  } catch (error) {
    if (eventDisposition(error) === 'ack') {
      logger.error('event dropped: a redelivery cannot help', {
        code: codeOf(error),
        messageId: record.messageId,
        error: error as Error,
      });
      metrics.addMetric(METRICS.droppedEvents, MetricUnit.Count, 1);
      return { ignored: codeOf(error) };
    }
    metrics.addMetric(METRICS.batchRecordFailures, MetricUnit.Count, 1);
    logger.warn('record failed: SQS delivers it again', {
      code: codeOf(error),
      messageId: record.messageId,
      error: error as Error,
    });
    throw error;
  }
}
