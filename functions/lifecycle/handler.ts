// Lambda entry: EventBridge Auto Scaling lifecycle actions (launch / terminate) → slots on every HAProxy host.

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { configMiddlewares, type SlotSyncContext } from '../shared/config-middleware.js';
import { codeOf, eventDisposition } from '../shared/outcomes.js';
import { logger, metrics } from '../shared/runtime.js';
import { type LifecycleSummary, runLifecycle } from './run.js';
import { parseLifecycleEvent } from './schema.js';

/** Validates the event, runs it once per lifecycle token; retries (throws) only what a retry can fix. */
export const handler = middy<unknown, LifecycleSummary | { ignored: string }, Error, SlotSyncContext>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(configMiddlewares())
  .handler(async (event, context) => {
    // Every delivery counts, duplicates included (their work is skipped by the idempotency record, not this metric).
    metrics.addMetric('lifecycleEvents', MetricUnit.Count, 1);
    try {
      const parsed = parseLifecycleEvent(event);
      logger.appendKeys({ instanceId: parsed.detail.EC2InstanceId, asg: parsed.detail.AutoScalingGroupName });
      const summary = await runLifecycle(parsed, context.config, context.deps, context);
      logger.info('lifecycle action handled', { summary });
      return summary;
    } catch (error) {
      if (eventDisposition(error) === 'retry') throw error;
      logger.error('lifecycle event dropped: retrying cannot help', { code: codeOf(error), error: error as Error });
      metrics.addMetric('droppedEvents', MetricUnit.Count, 1);
      return { ignored: codeOf(error) };
    }
  });
