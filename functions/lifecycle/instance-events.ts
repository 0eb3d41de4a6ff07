// Lifecycle trigger edge: zod schemas of the EC2 events that say an instance is going (issue 14), and what they mean
// for the service. Shapes as AWS documents them for each detail-type (EventBridge, source `aws.ec2`).
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { z } from 'zod';
import type { InstanceNotice } from '../lib/services/instance-events.js';

export const EC2_DETAIL_TYPES = {
  spot: 'EC2 Spot Instance Interruption Warning',
  rebalance: 'EC2 Instance Rebalance Recommendation',
  state: 'EC2 Instance State-change Notification',
} as const;

// AWS issues the Spot warning two minutes before it acts; the event carries no action time of its own (only the
// instance metadata's spot/instance-action does), so the event's `time` plus two minutes is the action time.
const SPOT_NOTICE_MS = 120_000;

const instanceId = z.string().regex(/^i-[0-9a-f]{8,17}$/, 'must look like i-0123456789abcdef0');

// Not strict, unlike the lifecycle detail: AWS may add fields to these, and refusing a Spot warning over a new field
// would leave an instance in traffic until it is gone. Unknown fields are dropped, known ones are checked.
const spotDetail = z.object({
  'instance-id': instanceId,
  'instance-action': z.enum(['terminate', 'stop', 'hibernate']),
});
const rebalanceDetail = z.object({ 'instance-id': instanceId });
const stateDetail = z.object({
  'instance-id': instanceId,
  state: z.enum(['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated']),
});

const base = EventBridgeSchema.extend({ source: z.literal('aws.ec2') });

export const instanceEventSchema = z.discriminatedUnion('detail-type', [
  base.extend({ 'detail-type': z.literal(EC2_DETAIL_TYPES.spot), detail: spotDetail }),
  base.extend({ 'detail-type': z.literal(EC2_DETAIL_TYPES.rebalance), detail: rebalanceDetail }),
  base.extend({ 'detail-type': z.literal(EC2_DETAIL_TYPES.state), detail: stateDetail }),
]);
export type InstanceEvent = z.infer<typeof instanceEventSchema>;

/** The service's view of a validated EC2 event. */
export function noticeOf(event: InstanceEvent): InstanceNotice {
  const at = Date.parse(event.time);
  switch (event['detail-type']) {
    case EC2_DETAIL_TYPES.spot:
      return {
        kind: 'spot-interruption',
        instanceId: event.detail['instance-id'],
        action: event.detail['instance-action'],
        actionAt: at + SPOT_NOTICE_MS,
      };
    case EC2_DETAIL_TYPES.rebalance:
      return { kind: 'rebalance', instanceId: event.detail['instance-id'] };
    case EC2_DETAIL_TYPES.state:
      return { kind: 'state-change', instanceId: event.detail['instance-id'], state: event.detail.state };
  }
}
