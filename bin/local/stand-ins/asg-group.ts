// Local stack: the Auto Scaling group the stand-in pretends to run — instance lifecycle states and lifecycle actions.
import { randomUUID } from 'node:crypto';

/** Lifecycle states this stand-in uses (a subset of Auto Scaling's). */
export const ASG_STATES = {
  pendingWait: 'Pending:Wait',
  inService: 'InService',
  terminatingWait: 'Terminating:Wait',
  terminated: 'Terminated',
} as const;
export type AsgState = (typeof ASG_STATES)[keyof typeof ASG_STATES];

/** Hook names of the group, as infra would create them. */
export const HOOKS = { launch: 'slot-sync-launch', terminate: 'slot-sync-terminate' } as const;

/** One instance of the group and, while it waits in a hook, the action that must be completed. */
export interface GroupInstance {
  readonly id: string;
  state: AsgState;
  action?: { readonly token: string; readonly hookName: string };
}

/** A lifecycle action just started: what the EventBridge event must carry. */
export interface StartedAction {
  readonly instanceId: string;
  readonly token: string;
  readonly hookName: string;
}

/** An AWS-shaped refusal (`ValidationError` with AWS's wording). */
export class AsgValidationError extends Error {
  readonly code = 'ValidationError' as const;
}

/** The group: instances enter through the launch hook and leave through the terminate hook. */
export class AsgGroup {
  readonly instances = new Map<string, GroupInstance>();
  /** Every action started, oldest first, completed or not: what `npm run local -- redeliver` sends again. */
  readonly started: StartedAction[] = [];

  constructor(readonly name: string) {}

  /** Instances that count as members right now (everything not yet Terminated). */
  members(): GroupInstance[] {
    return [...this.instances.values()].filter((i) => i.state !== ASG_STATES.terminated);
  }

  /** A scale-out: the instance enters Pending:Wait with a fresh lifecycle token. */
  beginLaunch(instanceId: string): StartedAction {
    const current = this.instances.get(instanceId);
    if (current && current.state !== ASG_STATES.terminated) {
      throw new AsgValidationError(`instance ${instanceId} is already in group ${this.name} (${current.state})`);
    }
    return this.wait(instanceId, ASG_STATES.pendingWait, HOOKS.launch);
  }

  /** A scale-in: an InService instance enters Terminating:Wait with a fresh lifecycle token. */
  beginTerminate(instanceId: string): StartedAction {
    const current = this.instances.get(instanceId);
    if (current?.state !== ASG_STATES.inService) {
      throw new AsgValidationError(
        `instance ${instanceId} is not InService in group ${this.name} (${current?.state ?? 'absent'})`,
      );
    }
    return this.wait(instanceId, ASG_STATES.terminatingWait, HOOKS.terminate);
  }

  /** CompleteLifecycleAction: CONTINUE lets the transition go on; ABANDON on launch terminates the instance. */
  complete(input: { hookName: string; token?: string; instanceId?: string; result: string }): void {
    const instance = this.activeAction(input);
    if (input.result !== 'CONTINUE' && input.result !== 'ABANDON') {
      throw new AsgValidationError(`LifecycleActionResult must be CONTINUE or ABANDON, not ${input.result}`);
    }
    const launching = instance.state === ASG_STATES.pendingWait;
    instance.state = launching && input.result === 'CONTINUE' ? ASG_STATES.inService : ASG_STATES.terminated;
    instance.action = undefined;
  }

  /** RecordLifecycleActionHeartbeat: only checks that the action is still active. */
  heartbeat(input: { hookName: string; token?: string; instanceId?: string }): void {
    this.activeAction(input);
  }

  private wait(instanceId: string, state: AsgState, hookName: string): StartedAction {
    const token = randomUUID();
    this.instances.set(instanceId, { id: instanceId, state, action: { token, hookName } });
    const started = { instanceId, token, hookName };
    this.started.push(started);
    return started;
  }

  private activeAction(input: { hookName: string; token?: string; instanceId?: string }): GroupInstance {
    const found = [...this.instances.values()].find(
      (i) =>
        i.action?.hookName === input.hookName &&
        (input.token === undefined || i.action.token === input.token) &&
        (input.instanceId === undefined || i.id === input.instanceId),
    );
    if (!found) {
      // AWS's wording; the adapter recognises "No active Lifecycle Action" as final.
      const what = input.token ? `token ${input.token}` : `instance ID ${input.instanceId ?? '(none)'}`;
      throw new AsgValidationError(`No active Lifecycle Action found with ${what}`);
    }
    return found;
  }
}
