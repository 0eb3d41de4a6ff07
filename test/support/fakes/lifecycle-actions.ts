// Test fake of the LifecycleActions port (Auto Scaling): records every completion and heartbeat, answers group membership,
// and says "gone" like AWS does for an action that was completed already or has expired.
import type { LifecycleRef } from '../../../functions/lib/domain/types.js';
import { LifecycleActionGoneError } from '../../../functions/lib/errors.js';
import type { LifecycleActions } from '../../../functions/lib/ports.js';
import type { FakeClock } from './clock.js';

export interface RecordedCompletion {
  readonly ref: LifecycleRef;
  readonly result: 'CONTINUE' | 'ABANDON';
  readonly at: number;
}

/** Auto Scaling as the services see it. An action is open until completed once or expired (`expire`). */
export class FakeLifecycleActions implements LifecycleActions {
  readonly completions: RecordedCompletion[] = [];
  readonly heartbeats: { readonly ref: LifecycleRef; readonly at: number }[] = [];
  /** Called as AWS hears a completion, before it is recorded: a test looks at the hosts at that very moment. */
  onComplete?: (ref: LifecycleRef, result: 'CONTINUE' | 'ABANDON') => void | Promise<void>;
  private readonly closed = new Set<string>();
  private readonly groups = new Map<string, readonly string[]>();
  private failures: { call: 'complete' | 'heartbeat'; error: Error }[] = [];

  constructor(private readonly clock: FakeClock) {}

  async complete(ref: LifecycleRef, result: 'CONTINUE' | 'ABANDON'): Promise<void> {
    this.fail('complete');
    this.gone(ref);
    await this.onComplete?.(ref, result);
    this.closed.add(ref.token);
    this.completions.push({ ref, result, at: this.clock.now() });
  }

  async heartbeat(ref: LifecycleRef): Promise<void> {
    this.fail('heartbeat');
    this.gone(ref);
    this.heartbeats.push({ ref, at: this.clock.now() });
  }

  async inService(asgName: string): Promise<readonly string[]> {
    return this.groups.get(asgName) ?? [];
  }

  private gone(ref: LifecycleRef): void {
    if (this.closed.has(ref.token)) throw new LifecycleActionGoneError(`lifecycle action of ${ref.instanceId} is gone`);
  }

  private fail(call: 'complete' | 'heartbeat'): void {
    const i = this.failures.findIndex((f) => f.call === call);
    if (i === -1) return;
    const [f] = this.failures.splice(i, 1);
    throw f?.error;
  }

  /** The next `call` throws `error` (AWS throttling, a network failure). */
  failNext(call: 'complete' | 'heartbeat', error: Error): void {
    this.failures.push({ call, error });
  }

  /** The action timed out on the AWS side: completing or heartbeating it now says "gone". */
  expire(token: string): void {
    this.closed.add(token);
  }

  /** The instances a group has InService (or Pending) from now on. */
  setGroup(asgName: string, instanceIds: readonly string[]): void {
    this.groups.set(asgName, [...instanceIds]);
  }

  /** Results AWS heard for one token, in order. */
  resultsOf(token: string): ('CONTINUE' | 'ABANDON')[] {
    return this.completions.filter((c) => c.ref.token === token).map((c) => c.result);
  }
}
