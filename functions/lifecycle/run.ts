// Lifecycle trigger, between handler and service: event → service input, idempotent on the lifecycle token.
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { ConfigDocument } from '../lib/config.js';
import type { ServiceDeps } from '../lib/services/deps.js';
import { handleLifecycle, type LifecycleOutcome } from '../lib/services/lifecycle.js';
import { idempotencyStore, metrics, plainJson, workUntil } from '../shared/runtime.js';
import { classifyLifecycle, type LifecycleEvent, parseNotificationMetadata } from './schema.js';

/** What the lifecycle function returns (and the idempotency record keeps): small and JSON-safe. */
export interface LifecycleSummary {
  readonly instanceId: string;
  readonly action: LifecycleOutcome['action'];
  readonly completion: LifecycleOutcome['completion'];
  readonly slots: readonly {
    readonly backend: string;
    readonly slot?: string;
    readonly status: string;
    readonly hosts: number;
    readonly applied: number;
  }[];
  readonly noSlot: readonly string[];
}

function summarise(o: LifecycleOutcome): LifecycleSummary {
  const slots = [
    ...o.registered.map((r) => ({
      backend: r.backend,
      slot: r.slot,
      status: r.health === 'waiting' ? 'awaiting-health' : 'active',
      hosts: r.hosts.length,
      applied: r.hosts.filter((h) => h.applied || h.awaitingHealth).length,
    })),
    ...o.deregistered.map((d) => ({
      backend: d.backend,
      slot: d.slot,
      status: d.status,
      hosts: d.hosts.length,
      applied: d.hosts.filter((h) => h.applied).length,
    })),
  ];
  return { instanceId: o.instanceId, action: o.action, completion: o.completion, slots, noSlot: o.noSlot };
}

const idemConfig = new IdempotencyConfig({ eventKeyJmesPath: 'token', expiresAfterSeconds: 6 * 3600 });
let idempotent:
  | ((
      payload: { token: string; event: LifecycleEvent },
      config: ConfigDocument,
      deps: ServiceDeps,
      context: Context,
    ) => Promise<LifecycleSummary>)
  | undefined;

/** Runs one lifecycle event at most once per lifecycle token (duplicate deliveries get the stored summary). */
export function runLifecycle(
  event: LifecycleEvent,
  config: ConfigDocument,
  deps: ServiceDeps,
  context: Context,
): Promise<LifecycleSummary> {
  // An in-progress record of a crashed invocation expires with that invocation's own deadline, not after hours.
  idemConfig.registerLambdaContext(context);
  if (!idempotent) {
    idempotent = makeIdempotent(
      async (payload: { token: string; event: LifecycleEvent }, cfg: ConfigDocument, d: ServiceDeps, ctx: Context) => {
        const detail = payload.event.detail;
        const decision = classifyLifecycle(detail);
        const started = Date.now();
        const outcome = await handleLifecycle(
          {
            action: decision.kind,
            reason: decision.reason,
            ref: {
              token: detail.LifecycleActionToken,
              hookName: detail.LifecycleHookName,
              asgName: detail.AutoScalingGroupName,
              instanceId: detail.EC2InstanceId,
            },
            backends: parseNotificationMetadata(detail.NotificationMetadata).backends,
            until: workUntil(ctx.getRemainingTimeInMillis()),
            destination: detail.Destination,
          },
          cfg,
          d,
        );
        metrics.addMetric(`${decision.kind}Latency`, MetricUnit.Milliseconds, Date.now() - started);
        if (outcome.noSlot.length > 0) metrics.addMetric('noFreeSlot', MetricUnit.Count, outcome.noSlot.length);
        return plainJson(summarise(outcome));
      },
      { persistenceStore: idempotencyStore(), config: idemConfig, dataIndexArgument: 0 },
    );
  }
  return idempotent({ token: event.detail.LifecycleActionToken, event }, config, deps, context);
}
