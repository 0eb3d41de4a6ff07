// Lambda entry: the schedule (and on-demand invokes) — converge every host to the table, finish expired drains.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { type AsgSyncReport, syncWithAutoScaling } from '../lib/services/asg-sync.js';
import { reconcile } from '../lib/services/reconcile.js';
import { configMiddlewares, type SlotSyncContext } from '../shared/config-middleware.js';
import { workUntil } from '../shared/deadline.js';
import { logger, metrics } from '../shared/runtime.js';
import { recordReconcileMetrics, summariseReconcile } from './report.js';

/** One pass: optional ASG cross-check first (it changes the table), then the reconcile that programs the hosts. */
export const handler = middy<
  unknown,
  ReturnType<typeof summariseReconcile> & { asg?: AsgSyncReport },
  Error,
  SlotSyncContext
>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(configMiddlewares())
  .handler(async (_event, context) => {
    const started = Date.now();
    const { config, deps } = context;
    const asg = config.reconcile.asgCrossCheck
      ? await syncWithAutoScaling(config, deps, workUntil(context.getRemainingTimeInMillis() / 2, config.timeouts))
      : undefined;
    const until = workUntil(context.getRemainingTimeInMillis(), config.timeouts);
    const report = await reconcile({ backends: config.backends, until }, config, deps);
    recordReconcileMetrics(report);
    metrics.addMetric('reconcileLatency', MetricUnit.Milliseconds, Date.now() - started);
    const summary = summariseReconcile(report);
    (report.failures.length > 0 || report.errors.length > 0 ? logger.warn : logger.info).call(
      logger,
      'reconcile pass',
      { summary, asg },
    );
    return { ...summary, asg };
  });
