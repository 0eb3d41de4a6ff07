// Outbound adapter: Auto Scaling lifecycle actions and group membership → the `LifecycleActions` port.
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import type { LifecycleRef } from '../domain/types.js';
import { LifecycleActionGoneError } from '../errors.js';
import type { LifecycleActions } from '../ports.js';

/** True for AWS's "No active Lifecycle Action found…" ValidationError: the action expired or was completed. */
function isGone(error: unknown): boolean {
  const e = error as { name?: string; message?: string };
  return e.name === 'ValidationError' && /No active Lifecycle Action/i.test(e.message ?? '');
}

/** Completes and heartbeats lifecycle actions; lists InService instances for the reconcile cross-check. */
export class AutoScalingLifecycleActions implements LifecycleActions {
  private readonly client: AutoScalingClient;

  constructor(options: { client?: AutoScalingClient } = {}) {
    this.client = options.client ?? new AutoScalingClient({});
  }

  async complete(ref: LifecycleRef, result: 'CONTINUE' | 'ABANDON'): Promise<void> {
    await this.onAction(ref, () =>
      this.client.send(
        new CompleteLifecycleActionCommand({
          AutoScalingGroupName: ref.asgName,
          LifecycleHookName: ref.hookName,
          LifecycleActionToken: ref.token,
          InstanceId: ref.instanceId,
          LifecycleActionResult: result,
        }),
      ),
    );
  }

  async heartbeat(ref: LifecycleRef): Promise<void> {
    await this.onAction(ref, () =>
      this.client.send(
        new RecordLifecycleActionHeartbeatCommand({
          AutoScalingGroupName: ref.asgName,
          LifecycleHookName: ref.hookName,
          LifecycleActionToken: ref.token,
          InstanceId: ref.instanceId,
        }),
      ),
    );
  }

  /** A call on one lifecycle action: AWS saying the action is gone becomes LifecycleActionGoneError (final). */
  private async onAction(ref: LifecycleRef, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      if (isGone(error))
        throw new LifecycleActionGoneError(`lifecycle action of ${ref.instanceId} is gone`, { cause: error });
      throw error;
    }
  }

  async inService(asgName: string): Promise<readonly string[]> {
    const out = await this.client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asgName] }));
    const group = out.AutoScalingGroups?.find((g) => g.AutoScalingGroupName === asgName);
    // Pending:* instances are mid-launch (their hook may be claiming a slot right now): they count as members.
    return (group?.Instances ?? [])
      .filter((i) => i.InstanceId && (i.LifecycleState === 'InService' || i.LifecycleState?.startsWith('Pending')))
      .map((i) => i.InstanceId as string);
  }
}
