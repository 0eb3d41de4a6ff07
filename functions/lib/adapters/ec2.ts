// Outbound adapter: EC2 DescribeInstances → the `Instances` port (private address of an instance).
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { Instances } from '../ports.js';

/** Looks up an instance's private IP. The client is injectable so tests and the local stack can redirect it. */
export class Ec2Instances implements Instances {
  private readonly client: EC2Client;

  constructor(options: { client?: EC2Client } = {}) {
    this.client = options.client ?? new EC2Client({});
  }

  async privateAddress(instanceId: string): Promise<string | undefined> {
    try {
      const out = await this.client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      const instance = out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
      return instance?.PrivateIpAddress ?? undefined;
    } catch (error) {
      // An instance EC2 has already forgotten has no address to program; the caller decides what that means.
      if ((error as { name?: string }).name === 'InvalidInstanceID.NotFound') return undefined;
      throw error;
    }
  }
}
