// Operator CLI: text output helpers — aligned (optionally coloured) tables, counts, the summary line — and the sink.
import type { Drift } from '../../functions/lib/plan/types.js';
import type { Paint, Style } from './style.js';

/** Where a command writes: stdout for results, stderr for diagnostics. Injected so output stays testable. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal: colour, progress bars and the full-screen watch are allowed. */
  readonly tty?: boolean;
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

/** A table cell: text, and how it looks on a terminal. */
export type Cell = string | { readonly text: string; readonly style?: Style };

const textOf = (c: Cell | undefined) => (c === undefined ? '' : typeof c === 'string' ? c : c.text);

/** Like `table`, with cells styled after padding (so escape codes never shift a column). */
export function styledTable(header: readonly string[], rows: readonly (readonly Cell[])[], paint: Paint): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => textOf(r[i]).length)));
  const line = (cells: readonly Cell[], heading: boolean) =>
    cells
      .map((c, i) => {
        const text = i === cells.length - 1 ? textOf(c) : textOf(c).padEnd(widths[i] ?? 0);
        const style = heading ? 'heading' : typeof c === 'string' ? undefined : c.style;
        // Only the text is painted, never the padding: an underline or background must not run into the gap.
        const padded = text.slice(textOf(c).length);
        return paint(style, text.slice(0, textOf(c).length)) + padded;
      })
      .join('  ')
      .trimEnd();
  return [line(header, true), ...rows.map((r) => line(r, false))];
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
