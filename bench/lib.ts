// Shared benchmark helpers: timing, medians, stderr logging (stdout is reserved for the one JSON document).

/** Logs a progress line to stderr. */
export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Runs `fn` and returns its result with the elapsed wall time in milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const start = process.hrtime.bigint();
  const result = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, result };
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Operations per second, rounded. */
export function opsPerSec(ops: number, ms: number): number {
  return Math.round((ops * 1000) / ms);
}

/** Rounds to `digits` decimals for readable JSON. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
