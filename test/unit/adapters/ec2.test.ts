import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { Ec2Instances } from '../../../functions/lib/adapters/ec2.js';

const ec2 = mockClient(EC2Client);

describe('Ec2Instances', () => {
  beforeEach(() => ec2.reset());

  it('returns the private address of the instance asked for', async () => {
    ec2.on(DescribeInstancesCommand, { InstanceIds: ['i-0abc'] }).resolves({
      Reservations: [{ Instances: [{ InstanceId: 'i-0abc', PrivateIpAddress: '127.0.0.21' }] }],
    });
    expect(await new Ec2Instances().privateAddress('i-0abc')).toBe('127.0.0.21');
  });

  it('returns undefined for an instance EC2 no longer knows', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .rejects(Object.assign(new Error('The instance ID does not exist'), { name: 'InvalidInstanceID.NotFound' }));
    expect(await new Ec2Instances().privateAddress('i-0gone')).toBeUndefined();
  });

  it('lets other EC2 failures through for the trigger to retry', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' }));
    await expect(new Ec2Instances().privateAddress('i-0abc')).rejects.toThrow('Rate exceeded');
  });
});
