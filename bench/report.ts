// Result vocabulary shared by the benchmarks: metric rows with their goals, percentiles, and the pass verdict.

/** One line of a benchmark's table in docs/PERFORMANCE.md: a measured value and, when it has one, its goal. */
export interface MetricRow {
  readonly metric: string;
  readonly value: number | string;
  readonly unit?: string;
  /** Human form of the goal (`≤ 25 ms`); absent for informational rows. */
  readonly goal?: string;
  readonly pass?: boolean;
}

/** p50/p99 (nearest rank) and extremes of a sample, in the sample's unit, rounded to 0.01. */
export interface Distribution {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

const r2 = (v: number): number => Math.round(v * 100) / 100;

/** Nearest-rank percentile (`p` in 0..100) of a non-empty sample: a value that was actually measured. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Summarises a sample as p50/p99/min/max. */
export function distribution(values: readonly number[]): Distribution {
  return {
    n: values.length,
    p50: r2(percentile(values, 50)),
    p99: r2(percentile(values, 99)),
    min: r2(Math.min(...values)),
    max: r2(Math.max(...values)),
  };
}

/** A row whose goal is an upper bound. */
export function atMost(metric: string, value: number, limit: number, unit = 'ms'): MetricRow {
  return { metric, value: r2(value), unit, goal: `≤ ${limit.toLocaleString('en-US')} ${unit}`, pass: value <= limit };
}

/** A row whose goal is a lower bound (ratios). */
export function atLeast(metric: string, value: number, limit: number, unit = '×'): MetricRow {
  return { metric, value: r2(value), unit, goal: `≥ ${limit} ${unit}`, pass: value >= limit };
}

/** A row whose goal is an exact value (e.g. 0 duplicate slots). */
export function exactly(metric: string, value: number, expected: number, unit = ''): MetricRow {
  return { metric, value, unit, goal: `= ${expected}`, pass: value === expected };
}

/** An informational row without a goal. */
export function info(metric: string, value: number | string, unit = ''): MetricRow {
  return { metric, value: typeof value === 'number' ? r2(value) : value, unit };
}

/** True when every row that has a goal meets it. */
export function allPass(rows: readonly MetricRow[]): boolean {
  return rows.every((row) => row.pass !== false);
}

/** Milliseconds since `start` (a `performance.now()` reading). */
export function since(start: number): number {
  return performance.now() - start;
}
