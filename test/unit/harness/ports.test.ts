// Harness ports: each vitest worker draws from a block of its own, below the kernel's ephemeral range, so two workers
// starting HAProxy at the same moment are never handed the same port.
import { describe, expect, it } from 'vitest';
import { freePorts, workerBlock } from '../../../bin/harness/ports.js';

describe('workerBlock', () => {
  it('gives each pool id its own block of 2,000 ports, all below the ephemeral range', () => {
    expect(workerBlock({ VITEST_POOL_ID: '1' })).toBe(10_000);
    expect(workerBlock({ VITEST_POOL_ID: '2' })).toBe(12_000);
    const firsts = Array.from({ length: 11 }, (_, i) => workerBlock({ VITEST_POOL_ID: String(i + 1) }) as number);
    expect(new Set(firsts).size).toBe(11);
    expect(Math.max(...firsts) + 2_000).toBeLessThanOrEqual(32_768);
  });

  it('has no block outside a vitest worker (the kernel chooses)', () => {
    expect(workerBlock({})).toBeUndefined();
    expect(workerBlock({ VITEST_POOL_ID: '0' })).toBeUndefined();
    expect(workerBlock({ VITEST_POOL_ID: 'x' })).toBeUndefined();
  });
});

describe('freePorts', () => {
  it("hands out distinct ports from this worker's block", async () => {
    const first = workerBlock() as number;
    expect(first).toBeGreaterThanOrEqual(10_000);
    const ports = await freePorts(50);
    expect(new Set(ports).size).toBe(50);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(first);
      expect(p).toBeLessThan(first + 2_000);
    }
  });
});
