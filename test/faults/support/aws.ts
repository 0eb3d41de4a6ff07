// Fault suite: EC2 and Auto Scaling faked at the SDK boundary, and lifecycle events shaped like EventBridge's.
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import launch from '../../fixtures/events/launch.json' with { type: 'json' };
import terminate from '../../fixtures/events/terminate.json' with { type: 'json' };
import { lifecycleEvent } from '../../support/lambda.js';

/** One CompleteLifecycleAction call as AWS received it. */
export interface Completion {
  readonly instanceId: string;
  readonly token: string;
  readonly result: string;
}

/** Mocks EC2 (private address from `addressOf`) and Auto Scaling (complete and heartbeat succeed). */
export function mockAws(addressOf: (instanceId: string) => string | undefined) {
  const ec2 = mockClient(EC2Client);
  const asg = mockClient(AutoScalingClient);
  ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
    const id = input.InstanceIds?.[0] ?? '';
    return { Reservations: [{ Instances: [{ InstanceId: id, PrivateIpAddress: addressOf(id) }] }] };
  });
  asg.on(CompleteLifecycleActionCommand).resolves({});
  asg.on(RecordLifecycleActionHeartbeatCommand).resolves({});
  /** Every completion so far, optionally only those of one instance. */
  const completions = (instanceId?: string): Completion[] =>
    asg
      .commandCalls(CompleteLifecycleActionCommand)
      .map((c) => c.args[0].input)
      .filter((i) => instanceId === undefined || i.InstanceId === instanceId)
      .map((i) => ({
        instanceId: i.InstanceId ?? '',
        token: i.LifecycleActionToken ?? '',
        result: i.LifecycleActionResult ?? '',
      }));
  return { ec2, asg, completions };
}

/** A 36-character lifecycle action token, as the schema wants. */
export const newToken = (): string => crypto.randomUUID();

/** An instance id for test number `n` (17 hex digits after `i-`). */
export const instanceId = (n: number, tag = 0xa): string => `i-${tag.toString(16)}${n.toString(16).padStart(16, '0')}`;

/** A launch event (EC2→AutoScalingGroup) for the instance, in the given group. */
export function launchEvent(id: string, token: string, asgName = 'web-asg', patch: Record<string, unknown> = {}) {
  return lifecycleEvent(launch, {
    EC2InstanceId: id,
    LifecycleActionToken: token,
    AutoScalingGroupName: asgName,
    ...patch,
  });
}

/** A terminate event (AutoScalingGroup→EC2) for the instance, in the given group. */
export function terminateEvent(id: string, token: string, asgName = 'web-asg', patch: Record<string, unknown> = {}) {
  return lifecycleEvent(terminate, {
    EC2InstanceId: id,
    LifecycleActionToken: token,
    AutoScalingGroupName: asgName,
    ...patch,
  });
}
