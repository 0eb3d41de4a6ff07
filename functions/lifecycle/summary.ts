// Lifecycle trigger, behind the handler: a validated event → the service, and the small summary it answers with.
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { LifecycleInput, LifecycleOutcome } from '../lib/services/lifecycle.js';
import { handleLifecycle } from '../lib/services/lifecycle.js';
import type { SlotSyncContext } from '../shared/config-middleware.js';
import { workUntil } from '../shared/deadline.js';
import { metrics, plainJson } from '../shared/runtime.js';
import { type LifecycleEvent, parseNotificationMetadata, transitionOf } from './schema.js';

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
  readonly abandoned?: string;
  /** One sentence per backend whose address policy refused the instance's address (nothing was claimed). */
  readonly refused?: readonly string[];
}

function summarise(o: LifecycleOutcome): LifecycleSummary {
  const slots = [
    ...o.registered.map((r) => ({
      backend: r.backend,
      slot: r.slot,
      status: r.quorumMet
        ? 'serving'
        : r.health === 'waiting'
          ? 'awaiting-health'
          : r.health === 'blocked'
            ? 'blocked'
            : 'partial',
      hosts: r.hosts.length,
      applied: r.hosts.filter((h) => h.applied).length,
    })),
    ...o.deregistered.map((d) => ({
      backend: d.backend,
      slot: d.slot,
      status: d.status,
      hosts: d.hosts.length,
      applied: d.hosts.filter((h) => h.applied).length,
    })),
  ];
  const { instanceId, action, completion, noSlot, abandoned, refused } = o;
  return {
    instanceId,
    action,
    completion,
    slots,
    noSlot,
    ...(abandoned ? { abandoned } : {}),
    ...(refused ? { refused: refused.map((r) => r.message) } : {}),
  };
}

/** What the batch path hands a lifecycle event besides the event (deliver.ts): its gathering point. */
export type LifecycleAids = Pick<LifecycleInput, 'register'>;

/** One lifecycle event through the service (the warm-pool rules live there), with its latency metric. */
export async function handleLifecycleEvent(
  event: LifecycleEvent,
  context: SlotSyncContext,
  aids: LifecycleAids = {},
): Promise<LifecycleSummary> {
  const d = event.detail;
  const started = Date.now();
  const outcome = await handleLifecycle(
    {
      transition: transitionOf(d),
      ref: {
        token: d.LifecycleActionToken,
        hookName: d.LifecycleHookName,
        asgName: d.AutoScalingGroupName,
        instanceId: d.EC2InstanceId,
      },
      origin: d.Origin,
      destination: d.Destination,
      backends: parseNotificationMetadata(d.NotificationMetadata).backends,
      until: workUntil(context.getRemainingTimeInMillis(), context.config.timeouts),
      ...aids,
    },
    context.config,
    context.deps,
  );
  metrics.addMetric(`${outcome.action}Latency`, MetricUnit.Milliseconds, Date.now() - started);
  if (outcome.noSlot.length > 0) metrics.addMetric('noFreeSlot', MetricUnit.Count, outcome.noSlot.length);
  return plainJson(summarise(outcome));
}
