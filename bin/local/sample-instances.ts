// Local stack: the sample "EC2 instances" — HTTP servers answering with their id, each on its own loopback address.
import { type Instance, startInstanceAt } from '../harness/instances.js';

/** One sample instance: its EC2-style id and the loopback address it listens on. */
export interface SampleInstance {
  readonly id: string;
  readonly address: string;
}

/** The instances the stack offers: ids valid for the lifecycle schema (`i-` + 17 hex), addresses 127.0.0.11 and up. */
export function sampleInstances(count: number): SampleInstance[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `i-0dec0de${String(i + 1).padStart(10, '0')}`,
    address: `127.0.0.${11 + i}`,
  }));
}

/**
 * Starts every instance on `address:port` with the test harness's instance launcher (one implementation): 200 with
 * the id on every path (health checks use GET /), `/sleep/<ms>` after that long. Own addresses, because a
 * backend's members all share the config's `port`, exactly as on EC2.
 */
export async function startSampleInstances(
  instances: readonly SampleInstance[],
  port: number,
): Promise<{ close(): Promise<void> }> {
  const started = await Promise.allSettled(instances.map((i) => startInstanceAt(i.id, i.address, port)));
  const running = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const closeAll = async () => {
    await Promise.all(running.map((i: Instance) => i.close()));
  };
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await closeAll();
    throw failed.reason;
  }
  return { close: closeAll };
}
