// Test fake of the Instances port (EC2): private addresses a test hands out, undefined for an instance EC2 forgot.
import type { Instances } from '../../../functions/lib/ports.js';

/** EC2's view of the instances: `add` one with its address, `forget` it (terminated long ago). */
export class FakeInstances implements Instances {
  private readonly addresses = new Map<string, string>();
  readonly lookups: string[] = [];

  async privateAddress(instanceId: string): Promise<string | undefined> {
    this.lookups.push(instanceId);
    return this.addresses.get(instanceId);
  }

  add(instanceId: string, address: string): void {
    this.addresses.set(instanceId, address);
  }

  forget(instanceId: string): void {
    this.addresses.delete(instanceId);
  }
}
