// The benchmark report vocabulary and the docs/PERFORMANCE.md renderer (pure: no benchmark is run here).
import { describe, expect, it } from 'vitest';
import { renderPerformance } from '../../../bench/performance-md.js';
import { atLeast, atMost, distribution, exactly, percentile } from '../../../bench/report.js';

describe('percentile', () => {
  it.each([
    [50, 5],
    [99, 10],
    [100, 10],
    [1, 1],
  ])('p%i of 1..10 is the measured value %i (nearest rank)', (p, expected) => {
    expect(percentile([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], p)).toBe(expected);
  });

  it('summarises a sample as p50/p99/min/max', () => {
    expect(distribution([3, 1, 2])).toEqual({ n: 3, p50: 2, p99: 3, min: 1, max: 3 });
  });
});

describe('goal rows', () => {
  it('passes an upper bound only at or below the limit', () => {
    expect(atMost('pass', 25, 25).pass).toBe(true);
    expect(atMost('pass', 25.01, 25).pass).toBe(false);
  });

  it('passes a lower bound only at or above the limit', () => {
    expect(atLeast('ratio', 4.99, 5).pass).toBe(false);
    expect(atLeast('ratio', 5, 5)).toMatchObject({ goal: '≥ 5 ×', pass: true });
  });

  it('passes an exact goal only on the exact value', () => {
    expect(exactly('duplicates', 1, 0).pass).toBe(false);
  });
});

describe('renderPerformance', () => {
  const facts = { cpus: '2 × test CPU', node: 'v20' };
  const meta = { date: '2026-11-22T10:00:00.000Z', command: 'npm run bench', durationSec: 7 };

  it('writes one table per benchmark with value, goal and a pass column, and marks a missed goal', () => {
    const text = renderPerformance(
      { burst: { metrics: [atMost('wall time', 12_000, 10_000), exactly('dups', 0, 0)] } },
      meta,
      facts,
    );
    expect(text).toContain('`burst`: **goal missed**.');
    expect(text).toContain('| wall time | 12,000 ms | ≤ 10,000 ms | **no** |');
    expect(text).toContain('| dups | 0 | = 0 | yes |');
  });

  it('names the command, the date and the machine it ran on', () => {
    const text = renderPerformance({}, meta, facts);
    expect(text).toContain('Written by `npm run bench` from one run on 2026-11-22T10:00:00.000Z');
    expect(text).toContain('| cpus | 2 × test CPU |');
  });

  it('reports a benchmark that failed to run as a missed goal with its error', () => {
    const text = renderPerformance({ coldStart: { error: 'serverless wrote no lifecycle.zip' } }, meta, facts);
    expect(text).toContain('| error | serverless wrote no lifecycle.zip |  | **no** |');
  });

  it('derives the runtime API table from the fields that benchmark reports', () => {
    const runtimeApi = {
      oneConnectionPerCommand: { opsPerSec: 3000 },
      pipelinedBatch: { opsPerSec: 120000 },
      ratio: 40,
      goal: 20,
      badReplies: 0,
      pass: true,
    };
    expect(renderPerformance({ runtimeApi }, meta, facts)).toContain(
      '| ratio pipelined ÷ per command | 40 × | ≥ 20 × | yes |',
    );
  });
});
