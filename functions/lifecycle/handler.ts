// Lambda entry: EventBridge Auto Scaling lifecycle actions (launch / terminate) → slots on every HAProxy host.
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { configMiddlewares, type SlotSyncContext } from '../shared/config-middleware.js';
import { eventErrors, type Ignored } from '../shared/event-errors.js';
import { idempotencyStore, logger, metrics } from '../shared/runtime.js';
import { type LifecycleEvent, lifecycleEventSchema } from './schema.js';
import { handleLifecycleEvent, type LifecycleSummary } from './summary.js';

const idempotency = new IdempotencyConfig({
  eventKeyJmesPath: 'detail.LifecycleActionToken',
  // A lifecycle action lives at most 48 h; a redelivery after that has nothing left to complete.
  expiresAfterSeconds: 48 * 3600,
});
// Once per lifecycle token: a duplicate delivery answers the stored summary and changes nothing.
let once: ((event: LifecycleEvent, context: SlotSyncContext) => Promise<LifecycleSummary>) | undefined;

/** Validates the event, runs it once per lifecycle token; throws (redelivery) only what a retry can fix. */
export const handler = middy<unknown, LifecycleSummary | Ignored, Error, SlotSyncContext>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use({ before: () => void metrics.addMetric('lifecycleEvents', MetricUnit.Count, 1) })
  .use(eventErrors())
  .use(configMiddlewares())
  .use(parser({ schema: lifecycleEventSchema }))
  .handler(async (event, context) => {
    const parsed = event as unknown as LifecycleEvent;
    logger.appendKeys({ instanceId: parsed.detail.EC2InstanceId, asg: parsed.detail.AutoScalingGroupName });
    // An in-progress record of a crashed invocation expires with that invocation's own deadline, not after hours.
    idempotency.registerLambdaContext(context);
    once ??= makeIdempotent(handleLifecycleEvent, {
      persistenceStore: idempotencyStore('lifecycle'),
      config: idempotency,
    });
    const summary = await once(parsed, context);
    logger.info('lifecycle action handled', { summary });
    return summary;
  });
