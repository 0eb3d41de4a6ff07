// The local stack's lifecycle events and sample instance ids pass the lifecycle function's own schema.
import { describe, expect, it } from 'vitest';
import { lifecycleEvent } from '../../../bin/local/events.js';
import { sampleInstances } from '../../../bin/local/sample-instances.js';
import { classifyLifecycle } from '../../../functions/lib/services/warm-pool.js';
import { parseLifecycleEvent, transitionOf } from '../../../functions/lifecycle/schema.js';

/** The warm-pool rules applied to a whole detail, as the lifecycle service applies them. */
const classify = (d: {
  LifecycleTransition: string;
  Origin?: 'EC2' | 'AutoScalingGroup' | 'WarmPool';
  Destination?: 'EC2' | 'AutoScalingGroup' | 'WarmPool';
}) => classifyLifecycle(transitionOf(d as Parameters<typeof transitionOf>[0]), d.Origin, d.Destination);

const token = '3f2c6a1e-8d4b-4c7a-9e1f-0a2b3c4d5e6f';

describe('local lifecycle events', () => {
  it.each(['launch', 'terminate'] as const)('builds a %s event the lifecycle schema accepts', (kind) => {
    const [instance] = sampleInstances(1);
    const event = lifecycleEvent({
      kind,
      region: 'us-east-1',
      asgName: 'local-asg',
      instanceId: instance?.id ?? '',
      token,
      hookName: 'slot-sync-launch',
    });
    const parsed = parseLifecycleEvent(event);
    expect(parsed.detail.EC2InstanceId).toBe(instance?.id);
    expect(classify(parsed.detail).kind).toBe(kind === 'launch' ? 'register' : 'deregister');
  });

  it('gives every sample instance a distinct schema-valid id and its own loopback address', () => {
    const instances = sampleInstances(4);
    for (const i of instances) {
      expect(() =>
        parseLifecycleEvent(
          lifecycleEvent({ kind: 'launch', region: 'us-east-1', asgName: 'a', instanceId: i.id, token, hookName: 'h' }),
        ),
      ).not.toThrow();
    }
    expect(new Set(instances.map((i) => i.id)).size).toBe(4);
    expect(instances.map((i) => i.address)).toEqual(['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14']);
  });
});
