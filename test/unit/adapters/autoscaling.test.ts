import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AutoScalingLifecycleActions } from '../../../functions/lib/adapters/autoscaling.js';
import { LifecycleActionGoneError } from '../../../functions/lib/errors.js';

const asg = mockClient(AutoScalingClient);
const ref = {
  token: 'bcd2f1b8-9a78-44d3-8a7a-4dd07d7cf635',
  hookName: 'hook',
  asgName: 'web-asg',
  instanceId: 'i-0123456789abcdef0',
};

function validationError(message: string): Error {
  return Object.assign(new Error(message), { name: 'ValidationError' });
}

describe('AutoScalingLifecycleActions', () => {
  beforeEach(() => asg.reset());

  it('completes the lifecycle action with the token, hook, group and instance of the event', async () => {
    asg.on(CompleteLifecycleActionCommand).resolves({});
    await new AutoScalingLifecycleActions().complete(ref, 'ABANDON');
    expect(asg).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      AutoScalingGroupName: 'web-asg',
      LifecycleHookName: 'hook',
      LifecycleActionToken: ref.token,
      InstanceId: ref.instanceId,
      LifecycleActionResult: 'ABANDON',
    });
  });

  it('turns "No active Lifecycle Action" into LifecycleActionGoneError (final, never retried)', async () => {
    asg
      .on(CompleteLifecycleActionCommand)
      .rejects(validationError('No active Lifecycle Action found with instance ID i-0123456789abcdef0'));
    await expect(new AutoScalingLifecycleActions().complete(ref, 'CONTINUE')).rejects.toBeInstanceOf(
      LifecycleActionGoneError,
    );
  });

  it('passes other ValidationErrors through unchanged', async () => {
    asg.on(CompleteLifecycleActionCommand).rejects(validationError('1 validation error detected'));
    await expect(new AutoScalingLifecycleActions().complete(ref, 'CONTINUE')).rejects.toThrow(
      '1 validation error detected',
    );
  });

  it('records a heartbeat for the same action, and maps a gone action the same way', async () => {
    asg
      .on(RecordLifecycleActionHeartbeatCommand)
      .resolvesOnce({})
      .rejects(validationError('No active Lifecycle Action found'));
    const actions = new AutoScalingLifecycleActions();
    await actions.heartbeat(ref);
    expect(asg).toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, {
      LifecycleActionToken: ref.token,
      InstanceId: ref.instanceId,
    });
    await expect(actions.heartbeat(ref)).rejects.toBeInstanceOf(LifecycleActionGoneError);
  });

  it('lists InService and Pending instances of the group, not those leaving or on standby', async () => {
    asg.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: 'web-asg',
          Instances: [
            { InstanceId: 'i-1', LifecycleState: 'InService' },
            { InstanceId: 'i-2', LifecycleState: 'Pending:Wait' },
            { InstanceId: 'i-3', LifecycleState: 'Terminating:Wait' },
            { InstanceId: 'i-4', LifecycleState: 'Standby' },
            { InstanceId: 'i-5', LifecycleState: 'Detaching' },
          ],
        } as never,
      ],
    });
    expect(await new AutoScalingLifecycleActions().inService('web-asg')).toEqual(['i-1', 'i-2']);
  });
});
