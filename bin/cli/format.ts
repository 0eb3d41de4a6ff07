// Operator CLI: plain-text output helpers — aligned tables, counts, the summary line — and the output sink.
import type { Drift } from '../../functions/lib/plan/types.js';

/** Where a command writes: stdout for results, stderr for diagnostics. Injected so output stays testable. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Columns padded to the widest cell; the last column is not padded (no trailing blanks). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** `3 hosts`, `1 host`. */
export function count(n: number, noun: string): string {
  return `${n} ${n === 1 ? noun : `${noun}s`}`;
}

/** Parts joined the way the summary line reads: `2 hosts · 20 slots · 3 active · 0 drift · 0 failed`. */
export function summaryLine(parts: readonly string[]): string {
  return parts.join(' · ');
}

/** One drift as a line: `hap2 web/web1 admin: expected ready, actual maint`. */
export function driftLine(d: Drift): string {
  const detail = [d.expected && `expected ${d.expected}`, d.actual && `actual ${d.actual}`].filter(Boolean).join(', ');
  return `${d.host} ${d.backend}/${d.slot} ${d.kind}${detail ? `: ${detail}` : ''}`;
}

/** Pretty JSON with a trailing newline. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
