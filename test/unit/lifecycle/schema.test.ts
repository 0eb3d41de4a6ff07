// Lifecycle edge: the AWS-shaped fixtures parse, bad details are refused as ValidationError, and the warm-pool rules hold.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../functions/lib/errors.js';
import { classifyLifecycle } from '../../../functions/lib/services/warm-pool.js';
import {
  LIFECYCLE_TRANSITIONS,
  type LifecycleDetail,
  parseLifecycleDetail,
  parseLifecycleEvent,
  parseNotificationMetadata,
  transitionOf,
} from '../../../functions/lifecycle/schema.js';

/** The warm-pool rules applied to a whole detail, as the lifecycle service applies them. */
const classify = (d: {
  LifecycleTransition: string;
  Origin?: 'EC2' | 'AutoScalingGroup' | 'WarmPool';
  Destination?: 'EC2' | 'AutoScalingGroup' | 'WarmPool';
}) => classifyLifecycle(transitionOf(d as Parameters<typeof transitionOf>[0]), d.Origin, d.Destination);

const fixture = (name: string): Record<string, unknown> & { detail: Record<string, unknown> } =>
  JSON.parse(readFileSync(new URL(`../../fixtures/events/${name}.json`, import.meta.url), 'utf8'));

function validationIssues(fn: () => unknown): ValidationError['issues'] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
}

describe('parseLifecycleEvent', () => {
  it.each([
    ['launch', 'register'],
    ['launch-duplicate', 'register'],
    ['launch-no-warm-pool-fields', 'register'],
    ['launch-metadata-backends', 'register'],
    ['launch-ec2-to-warmpool', 'skip'],
    ['launch-warmpool-to-asg', 'register'],
    ['terminate', 'deregister'],
    ['terminate-asg-to-warmpool', 'deregister'],
    ['terminate-warmpool-to-ec2', 'skip'],
  ] as const)('accepts the %s fixture and classifies it as %s', (name, kind) => {
    const event = parseLifecycleEvent(fixture(name));
    expect(event.source).toBe('aws.autoscaling');
    expect(classify(event.detail).kind).toBe(kind);
  });

  it('keeps the same token for the duplicate delivery of a launch', () => {
    const a = parseLifecycleEvent(fixture('launch'));
    const b = parseLifecycleEvent(fixture('launch-duplicate'));
    expect(b.id).not.toBe(a.id);
    expect(b.detail.LifecycleActionToken).toBe(a.detail.LifecycleActionToken);
  });

  it('refuses an event from another source', () => {
    const issues = validationIssues(() => parseLifecycleEvent({ ...fixture('launch'), source: 'aws.ec2' }));
    expect(issues.map((i) => i.path.join('.'))).toContain('source');
  });

  it('refuses a detail-type that contradicts the LifecycleTransition', () => {
    const event = fixture('launch');
    event.detail.LifecycleTransition = LIFECYCLE_TRANSITIONS.terminate;
    const issues = validationIssues(() => parseLifecycleEvent(event));
    expect(issues).toEqual([
      { path: ['detail', 'LifecycleTransition'], message: expect.stringMatching(/detail-type/) },
    ]);
  });

  it('refuses an event whose time is not an ISO timestamp', () => {
    const issues = validationIssues(() => parseLifecycleEvent({ ...fixture('launch'), time: 'yesterday' }));
    expect(issues.map((i) => i.path.join('.'))).toEqual(['time']);
  });
});

describe('parseLifecycleDetail', () => {
  const detail = () => fixture('launch').detail;

  it.each([
    ['EC2InstanceId', 'i-123; rm -rf /'],
    ['EC2InstanceId', 'I-1234567890ABCDEF0'],
    ['LifecycleActionToken', '87654321-4321-4321-4321-21098765432'],
    ['LifecycleActionToken', '87654321-4321-4321-4321-21098765432\n'],
    ['AutoScalingGroupName', 'web asg'],
    ['AutoScalingGroupName', 'a'.repeat(256)],
    ['LifecycleHookName', ''],
    ['LifecycleTransition', 'autoscaling:TEST_NOTIFICATION'],
    ['Origin', 'Warmpool'],
    ['Destination', 'Elsewhere'],
  ])('refuses %s = %j with an issue at that path', (field, value) => {
    const issues = validationIssues(() => parseLifecycleDetail({ ...detail(), [field]: value }));
    expect(issues.map((i) => i.path.join('.'))).toEqual([field]);
  });

  it('refuses unknown keys in the detail', () => {
    const issues = validationIssues(() => parseLifecycleDetail({ ...detail(), Extra: 'x' }));
    expect(issues).toHaveLength(1);
  });

  it('refuses a detail without EC2InstanceId', () => {
    const { EC2InstanceId: _, ...rest } = detail();
    const issues = validationIssues(() => parseLifecycleDetail(rest));
    expect(issues.map((i) => i.path.join('.'))).toEqual(['EC2InstanceId']);
  });

  it.each([null, 'text', 42, []])('refuses a non-object detail %j', (value) => {
    expect(() => parseLifecycleDetail(value)).toThrow(ValidationError);
  });
});

describe('parseNotificationMetadata', () => {
  it.each([undefined, '', '   '])('treats %j as no metadata', (text) => {
    expect(parseNotificationMetadata(text)).toEqual({});
  });

  it('reads the backends a hook names, without duplicates', () => {
    expect(parseNotificationMetadata('{"backends":["web","api","web"]}')).toEqual({ backends: ['web', 'api'] });
  });

  it('reads the metadata of the fixture that names backends', () => {
    expect(
      parseNotificationMetadata(fixture('launch-metadata-backends').detail.NotificationMetadata as string),
    ).toEqual({
      backends: ['web', 'api'],
    });
  });

  it('turns text that is not JSON into a ValidationError, not a SyntaxError', () => {
    const issues = validationIssues(() => parseNotificationMetadata('additional-info'));
    expect(issues[0]?.path).toEqual(['NotificationMetadata']);
  });

  it.each([
    '{"backends":[]}',
    '{"backends":"web"}',
    '{"backends":["web;show info"]}',
    '{"backends":["web"],"other":1}',
    '["web"]',
    'null',
  ])('refuses %s', (text) => {
    const issues = validationIssues(() => parseNotificationMetadata(text));
    expect(issues[0]?.path[0]).toBe('NotificationMetadata');
  });
});

describe('classifyLifecycle', () => {
  type Case = [LifecycleDetail['Origin'], LifecycleDetail['Destination'], 'register' | 'deregister' | 'skip'];
  const launch: Case[] = [
    ['EC2', 'WarmPool', 'skip'],
    ['EC2', 'AutoScalingGroup', 'register'],
    ['WarmPool', 'AutoScalingGroup', 'register'],
    [undefined, undefined, 'register'],
    ['EC2', 'EC2', 'skip'],
  ];
  const terminate: Case[] = [
    ['AutoScalingGroup', 'WarmPool', 'deregister'],
    ['AutoScalingGroup', 'EC2', 'deregister'],
    ['WarmPool', 'EC2', 'skip'],
    [undefined, undefined, 'deregister'],
  ];

  it.each(launch)('launch %s→%s: %s', (Origin, Destination, kind) => {
    const decision = classifyLifecycle('launch', Origin, Destination);
    expect(decision.kind).toBe(kind);
    expect(decision.reason).toMatch(/^launch/);
  });

  it.each(terminate)('terminate %s→%s: %s', (Origin, Destination, kind) => {
    const decision = classifyLifecycle('terminate', Origin, Destination);
    expect(decision.kind).toBe(kind);
    expect(decision.reason).toMatch(/^terminate/);
  });
});
