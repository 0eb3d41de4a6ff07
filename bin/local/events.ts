// Local stack: Auto Scaling lifecycle-action events shaped the way EventBridge delivers them to the lifecycle function.
import { randomUUID } from 'node:crypto';
import { LIFECYCLE_DETAIL_TYPES, LIFECYCLE_TRANSITIONS } from '../../functions/lifecycle/schema.js';

const ACCOUNT = '123456789012';

/** What one event needs: which transition, the group, and the action the ASG stand-in just started. */
export interface LifecycleEventInput {
  readonly kind: 'launch' | 'terminate';
  readonly region: string;
  readonly asgName: string;
  readonly instanceId: string;
  readonly token: string;
  readonly hookName: string;
}

/** An `aws.autoscaling` event: launch is EC2→AutoScalingGroup, terminate AutoScalingGroup→EC2 (no warm pool). */
export function lifecycleEvent(input: LifecycleEventInput) {
  const launch = input.kind === 'launch';
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': LIFECYCLE_DETAIL_TYPES[input.kind],
    source: 'aws.autoscaling',
    account: ACCOUNT,
    // EventBridge timestamps have whole seconds.
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: input.region,
    resources: [
      `arn:aws:autoscaling:${input.region}:${ACCOUNT}:autoScalingGroup:00000000-0000-4000-8000-000000000001:autoScalingGroupName/${input.asgName}`,
    ],
    detail: {
      LifecycleActionToken: input.token,
      AutoScalingGroupName: input.asgName,
      LifecycleHookName: input.hookName,
      EC2InstanceId: input.instanceId,
      LifecycleTransition: LIFECYCLE_TRANSITIONS[input.kind],
      NotificationMetadata: '',
      Origin: launch ? 'EC2' : 'AutoScalingGroup',
      Destination: launch ? 'AutoScalingGroup' : 'EC2',
    },
  };
}
