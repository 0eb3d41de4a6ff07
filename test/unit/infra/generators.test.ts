// Deployment: the package-time generators in infra/*.cjs, called as serverless.yml calls them, with other params.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation is untyped JSON.
type Json = Record<string, any>;
const root = fileURLToPath(new URL('../../../', import.meta.url));
const load = (file: string) => createRequire(import.meta.url)(join(root, 'infra', file));

/** A resolver like osls's: `param:x`, `sls:stage`, `self:…`; an absent param rejects as osls does. */
const resolver = (values: Json) => ({
  resolveVariable: async (v: string) => {
    const key = v.replace(/^param:/, '');
    if (!(key in values))
      throw Object.assign(new Error(`Value not found at "param" source`), { code: 'MISSING_VARIABLE_RESULT' });
    return values[key];
  },
});
const base = {
  'sls:stage': 'test',
  'self:service': 'haproxy-slot-sync',
  'self:functions.lifecycle.timeout': 900,
  autoScalingGroups: ['web-asg', 'api-asg'],
  subnetIds: ['subnet-0123456789abcdef0'],
  securityGroupIds: ['sg-0123456789abcdef0'],
};

describe('infra/autoscaling.cjs', () => {
  const generator = load('autoscaling.cjs');
  const params = { ...base, launchHookTimeoutSeconds: 600, terminateHookTimeoutSeconds: 900 };

  it('creates no hooks when lifecycleHookGroups is empty', async () => {
    expect(await generator.lifecycleHooks(resolver({ ...params, lifecycleHookGroups: [] }))).toEqual({ Resources: {} });
  });

  it('creates a launch and a terminate hook for each listed group', async () => {
    const { Resources } = await generator.lifecycleHooks(resolver({ ...params, lifecycleHookGroups: ['api-asg'] }));
    expect(
      Object.values(Resources as Record<string, Json>).map((r) => [
        r.Properties.AutoScalingGroupName,
        r.Properties.LifecycleTransition,
      ]),
    ).toEqual([
      ['api-asg', 'autoscaling:EC2_INSTANCE_LAUNCHING'],
      ['api-asg', 'autoscaling:EC2_INSTANCE_TERMINATING'],
    ]);
  });

  it('refuses a hook for a group the EventBridge rule does not match', async () => {
    await expect(generator.lifecycleHooks(resolver({ ...params, lifecycleHookGroups: ['other'] }))).rejects.toThrow(
      /not in autoScalingGroups/,
    );
  });

  it('refuses an empty, invalid or missing ASG list for the IAM scope', async () => {
    await expect(generator.groupArns(resolver({ ...base, autoScalingGroups: [] }))).rejects.toThrow(/at least one/);
    await expect(generator.groupArns(resolver({ ...base, autoScalingGroups: ['a b'] }))).rejects.toThrow(
      /invalid ASG name/,
    );
    const { autoScalingGroups: _, ...none } = base;
    await expect(generator.groupArns(resolver(none))).rejects.toThrow(/params\.test\.autoScalingGroups is not set/);
  });
});

describe('infra/monitoring.cjs', () => {
  const generator = load('monitoring.cjs');
  const params = { ...base, alarmTopicArn: '', freeSlotAlarms: [] };
  const alarms = (r: { Resources: Json }) =>
    Object.values(r.Resources).filter((x: Json) => x.Type === 'AWS::CloudWatch::Alarm') as Json[];

  it('gives alarms no actions at all (not empty ones) when no topic is configured', async () => {
    const list = alarms(await generator.monitoring(resolver(params)));
    expect(list.length).toBeGreaterThan(0);
    for (const a of list) {
      expect(a.Properties).not.toHaveProperty('AlarmActions');
      expect(a.Properties).not.toHaveProperty('OKActions');
    }
  });

  it('refuses an alarm topic that is not an SNS topic ARN', async () => {
    await expect(generator.monitoring(resolver({ ...params, alarmTopicArn: 'ops-team' }))).rejects.toThrow(
      /alarmTopicArn/,
    );
  });

  it('creates one free-slot alarm per listed backend, and refuses duplicates or bad thresholds', async () => {
    const two = [
      { backend: 'web', threshold: 2 },
      { backend: 'api', threshold: 5 },
    ];
    const free = alarms(await generator.monitoring(resolver({ ...params, freeSlotAlarms: two }))).filter(
      (a) => a.Properties.MetricName === 'freeSlots',
    );
    expect(free.map((a) => [a.Properties.Dimensions[1].Value, a.Properties.Threshold])).toEqual([
      ['web', 2],
      ['api', 5],
    ]);
    await expect(generator.monitoring(resolver({ ...params, freeSlotAlarms: [two[0], two[0]] }))).rejects.toThrow(
      /once/,
    );
    await expect(
      generator.monitoring(resolver({ ...params, freeSlotAlarms: [{ backend: 'web', threshold: 0 }] })),
    ).rejects.toThrow(/threshold/);
  });
});

describe('infra/vpc.cjs', () => {
  const generator = load('vpc.cjs');

  it('refuses placeholder subnets and security groups outside the package-only stages', async () => {
    await expect(generator.subnetIds(resolver({ ...base, 'sls:stage': 'prod' }))).rejects.toThrow(
      /params\.prod\.subnetIds: .* is a placeholder/,
    );
    await expect(
      generator.securityGroupIds(resolver({ ...base, 'sls:stage': 'prod', securityGroupIds: ['sg-REPLACE-me'] })),
    ).rejects.toThrow(/placeholder/);
    expect(
      await generator.subnetIds(resolver({ ...base, 'sls:stage': 'prod', subnetIds: ['subnet-0a1b2c3d4e5f60718'] })),
    ).toEqual(['subnet-0a1b2c3d4e5f60718']);
  });

  it('names the missing stage section when a stage sets no subnets', async () => {
    const { subnetIds: _, ...none } = base;
    await expect(generator.subnetIds(resolver({ ...none, 'sls:stage': 'staging' }))).rejects.toThrow(
      /params\.staging\.subnetIds is not set: add a params\.staging section/,
    );
  });

  it('creates no endpoints when no services are listed', async () => {
    expect(await generator.endpoints(resolver({ ...base, vpcEndpoints: { services: [] } }))).toEqual({ Resources: {} });
  });

  it('uses the given endpoint security groups and subnets instead of creating a group', async () => {
    const { Resources } = await generator.endpoints(
      resolver({
        ...base,
        vpcEndpoints: {
          vpcId: 'vpc-0a1b2c3d',
          services: ['ssm'],
          securityGroupIds: ['sg-0a1b2c3d'],
          subnetIds: ['subnet-0a1b2c3d'],
        },
      }),
    );
    expect(Object.keys(Resources)).toEqual(['SsmInterfaceEndpoint']);
    expect(Resources.SsmInterfaceEndpoint.Properties).toMatchObject({
      SecurityGroupIds: ['sg-0a1b2c3d'],
      SubnetIds: ['subnet-0a1b2c3d'],
    });
  });

  it('refuses unknown services or keys, a missing VPC, and a DynamoDB gateway without route tables', async () => {
    const with_ = (vpcEndpoints: Json) => generator.endpoints(resolver({ ...base, vpcEndpoints }));
    await expect(with_({ vpcId: 'vpc-0a1b2c3d', services: ['sqs'] })).rejects.toThrow(/"sqs" is not one of/);
    await expect(with_({ vpcId: 'vpc-0a1b2c3d', services: [], typo: 1 })).rejects.toThrow(/unknown keys typo/);
    await expect(with_({ services: ['ssm'] })).rejects.toThrow(/vpcId/);
    await expect(with_({ vpcId: 'vpc-0a1b2c3d', services: ['dynamodb'] })).rejects.toThrow(/routeTableIds/);
  });
});

describe('infra/concurrency.cjs', () => {
  const generator = load('concurrency.cjs');
  const params = { ...base, lifecycleReservedConcurrency: 10, webhookReservedConcurrency: 5, hostConnections: 20 };

  it('passes the reserved concurrencies through while lifecycle + webhook + 1 fits hostConnections', async () => {
    expect(await generator.lifecycle(resolver(params))).toBe(10);
    expect(await generator.webhook(resolver({ ...params, webhookReservedConcurrency: 9 }))).toBe(9);
  });

  it('refuses reserved concurrencies that would open more connections per host than the budget', async () => {
    await expect(generator.lifecycle(resolver({ ...params, webhookReservedConcurrency: 10 }))).rejects.toThrow(
      /= 21 connections per HAProxy host exceed hostConnections \(20\)/,
    );
  });

  it('refuses a lifecycle concurrency below the SQS mapping minimum of 2', async () => {
    await expect(generator.lifecycle(resolver({ ...params, lifecycleReservedConcurrency: 1 }))).rejects.toThrow(
      /from 2 to/,
    );
  });
});

describe('infra/lifecycle-events.cjs', () => {
  const generator = load('lifecycle-events.cjs');
  const params = { ...base, lifecycleMaxReceiveCount: 5 };

  it('derives the visibility timeout from the function timeout', async () => {
    const { Resources } = await generator.lifecycleEvents(
      resolver({ ...params, 'self:functions.lifecycle.timeout': 120 }),
    );
    expect(Resources.LifecycleEventsQueue.Properties.VisibilityTimeout).toBe(720);
  });

  it('refuses a function timeout whose 6× exceeds what SQS allows', async () => {
    await expect(
      generator.lifecycleEvents(resolver({ ...params, 'self:functions.lifecycle.timeout': 7201 })),
    ).rejects.toThrow(/12 h/);
  });

  it('filters the Auto Scaling rule by every mapped group', async () => {
    const { Resources } = await generator.lifecycleEvents(resolver(params));
    expect(Resources.AsgLifecycleRule.Properties.EventPattern.detail).toEqual({
      AutoScalingGroupName: ['web-asg', 'api-asg'],
    });
  });
});
