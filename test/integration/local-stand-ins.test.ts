// The local stack's AWS stand-ins, driven by the real SDK v3 clients and the project's own adapters over loopback.
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeLaunchConfigurationsCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AutoScalingStandIn, startAutoScalingStandIn } from '../../bin/local/stand-ins/autoscaling.js';
import { type Ec2StandIn, startEc2StandIn } from '../../bin/local/stand-ins/ec2.js';
import { type SsmStandIn, startSsmStandIn } from '../../bin/local/stand-ins/ssm.js';
import { AutoScalingLifecycleActions } from '../../functions/lib/adapters/autoscaling.js';
import { Ec2Instances } from '../../functions/lib/adapters/ec2.js';
import { readParameter } from '../../functions/lib/adapters/ssm.js';
import { LifecycleActionGoneError } from '../../functions/lib/errors.js';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const region = 'us-east-1';

let ec2: Ec2StandIn;
let asg: AutoScalingStandIn;
let ssm: SsmStandIn;
let ec2Client: EC2Client;
let asgClient: AutoScalingClient;
let ssmClient: SSMClient;

beforeAll(async () => {
  ec2 = await startEc2StandIn([
    { id: 'i-0dec0de0000000001', privateIp: '127.0.0.11' },
    { id: 'i-0dec0de0000000002', privateIp: '127.0.0.12' },
  ]);
  asg = await startAutoScalingStandIn('local-asg');
  ssm = await startSsmStandIn({
    '/app/config': { type: 'String', value: '{"a":1}' },
    '/app/secret': { type: 'SecureString', value: 's3cret' },
  });
  ec2Client = new EC2Client({ region, credentials, endpoint: ec2.url });
  asgClient = new AutoScalingClient({ region, credentials, endpoint: asg.url });
  ssmClient = new SSMClient({ region, credentials, endpoint: ssm.url });
});

afterAll(async () => {
  for (const client of [ec2Client, asgClient, ssmClient]) client?.destroy();
  await Promise.all([ec2?.close(), asg?.close(), ssm?.close()]);
});

describe('EC2 stand-in', () => {
  it('answers DescribeInstances with the private address the Ec2Instances adapter reads', async () => {
    const instances = new Ec2Instances({ client: ec2Client });
    expect(await instances.privateAddress('i-0dec0de0000000002')).toBe('127.0.0.12');
    const out = await ec2Client.send(new DescribeInstancesCommand({}));
    expect(out.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId)).toEqual([
      'i-0dec0de0000000001',
      'i-0dec0de0000000002',
    ]);
  });

  it('reports an unknown instance as InvalidInstanceID.NotFound, which the adapter turns into undefined', async () => {
    await expect(
      ec2Client.send(new DescribeInstancesCommand({ InstanceIds: ['i-0ffffffffffffffff'] })),
    ).rejects.toMatchObject({
      name: 'InvalidInstanceID.NotFound',
    });
    expect(await new Ec2Instances({ client: ec2Client }).privateAddress('i-0ffffffffffffffff')).toBeUndefined();
  });

  it('refuses any other action with InvalidAction', async () => {
    await expect(ec2Client.send(new DescribeVpcsCommand({}))).rejects.toMatchObject({ name: 'InvalidAction' });
    expect(ec2.calls.at(-1)).toMatchObject({ action: 'DescribeVpcs', status: 400, error: 'InvalidAction' });
  });
});

describe('Auto Scaling stand-in', () => {
  it('moves a launch from Pending:Wait to InService on CONTINUE and lists it as a member meanwhile', async () => {
    const actions = new AutoScalingLifecycleActions({ client: asgClient });
    const started = asg.group.beginLaunch('i-0dec0de0000000001');
    expect(await actions.inService('local-asg')).toEqual(['i-0dec0de0000000001']);
    const ref = {
      token: started.token,
      hookName: started.hookName,
      asgName: 'local-asg',
      instanceId: started.instanceId,
    };
    await actions.heartbeat(ref);
    await actions.complete(ref, 'CONTINUE');
    expect(asg.group.instances.get('i-0dec0de0000000001')?.state).toBe('InService');
    const out = await asgClient.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['local-asg'] }));
    expect(out.AutoScalingGroups?.[0]?.Instances?.[0]).toMatchObject({
      InstanceId: 'i-0dec0de0000000001',
      LifecycleState: 'InService',
    });
  });

  it('lists every action it started, completed or not, for a redelivery to send again', async () => {
    const started = asg.group.beginLaunch('i-0dec0de0000000007');
    const res = await fetch(`${asg.url}/_local/state`);
    const { actions } = (await res.json()) as { actions: { instanceId: string; token: string; hookName: string }[] };
    expect(actions.at(-1)).toEqual(started);
    expect(started.hookName).toBe('slot-sync-launch');
    await asgClient.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: 'local-asg',
        LifecycleHookName: started.hookName,
        LifecycleActionToken: started.token,
        LifecycleActionResult: 'ABANDON',
      }),
    );
    const after = (await (await fetch(`${asg.url}/_local/state`)).json()) as { actions: { token: string }[] };
    expect(after.actions.map((a) => a.token)).toContain(started.token);
  });

  it('answers a second completion of the same token with "No active Lifecycle Action" (LifecycleActionGoneError)', async () => {
    const actions = new AutoScalingLifecycleActions({ client: asgClient });
    const started = asg.group.beginTerminate('i-0dec0de0000000001');
    const ref = {
      token: started.token,
      hookName: started.hookName,
      asgName: 'local-asg',
      instanceId: started.instanceId,
    };
    await actions.complete(ref, 'CONTINUE');
    expect(asg.group.instances.get('i-0dec0de0000000001')?.state).toBe('Terminated');
    await expect(actions.complete(ref, 'CONTINUE')).rejects.toBeInstanceOf(LifecycleActionGoneError);
    const completions = asg.calls.filter(
      (c) => c.action === 'CompleteLifecycleAction' && c.params.LifecycleActionToken === started.token,
    );
    expect(completions.map((c) => c.status)).toEqual([200, 400]);
  });

  it('terminates a launching instance when its action is abandoned', async () => {
    const started = asg.group.beginLaunch('i-0dec0de0000000002');
    const ref = {
      token: started.token,
      hookName: started.hookName,
      asgName: 'local-asg',
      instanceId: started.instanceId,
    };
    await new AutoScalingLifecycleActions({ client: asgClient }).complete(ref, 'ABANDON');
    expect(asg.group.instances.get('i-0dec0de0000000002')?.state).toBe('Terminated');
  });

  it('refuses any other action with InvalidAction', async () => {
    await expect(asgClient.send(new DescribeLaunchConfigurationsCommand({}))).rejects.toMatchObject({
      name: 'InvalidAction',
    });
  });
});

describe('SSM stand-in', () => {
  it('returns decrypted values and lists unknown names as InvalidParameters', async () => {
    const out = await ssmClient.send(
      new GetParametersCommand({ Names: ['/app/config', '/app/secret', '/nope'], WithDecryption: true }),
    );
    expect(out.Parameters?.map((p) => [p.Name, p.Value])).toEqual([
      ['/app/config', '{"a":1}'],
      ['/app/secret', 's3cret'],
    ]);
    expect(out.InvalidParameters).toEqual(['/nope']);
  });

  it('serves GetParameter to the project adapter, and ParameterNotFound for a missing name', async () => {
    expect(await readParameter('/app/secret', ssmClient)).toBe('s3cret');
    await expect(readParameter('/missing', ssmClient)).rejects.toMatchObject({ name: 'ParameterNotFound' });
  });

  it('never returns a SecureString in clear text without WithDecryption', async () => {
    const out = await ssmClient.send(new GetParametersCommand({ Names: ['/app/secret'] }));
    expect(out.Parameters?.[0]?.Value).not.toBe('s3cret');
  });

  it('refuses any other operation', async () => {
    await expect(
      ssmClient.send(new PutParameterCommand({ Name: '/x', Value: 'y', Type: 'String' })),
    ).rejects.toMatchObject({
      name: 'UnknownOperationException',
    });
  });
});
