// Operator CLI `--wait` progress: on a terminal one bar per host redrawn in place; piped, one line per change.
import type { Output } from './format.js';
import type { Paint, Style } from './style.js';

/** One host while waiting: where it is (`fraction` 0..1 for the bar) and what it says. */
export interface HostProgress {
  readonly host: string;
  readonly state: 'waiting' | 'done' | 'unreachable' | 'changed';
  /** `3 sessions left`, `DOWN 1/2 · L7OK, waiting for a passing check`, `ready (UP · 0 · L7OK)`. */
  readonly text: string;
  readonly fraction: number;
}

/** One round: every host, and the countdown (`gives up in 4m 48s`). */
export interface ProgressFrame {
  readonly hosts: readonly HostProgress[];
  readonly countdown: string;
}

/** Shows rounds as they come; `done` leaves the last one on screen (terminal) and adds nothing (pipe). */
export interface ProgressView {
  show(frame: ProgressFrame): void;
  done(): void;
}

const BAR_WIDTH = 24;
const STATE_STYLE = {
  waiting: undefined,
  done: 'ok',
  unreachable: 'critical',
  changed: 'warning',
} as const satisfies Record<HostProgress['state'], Style | undefined>;

/** `[██████░░░░░░]`: full = done. */
export function bar(fraction: number): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * BAR_WIDTH);
  return `[${'█'.repeat(full)}${'░'.repeat(BAR_WIDTH - full)}]`;
}

/** A terminal: the frame's lines are rewritten in place (cursor up, clear line), so the bars move instead of scroll. */
export function terminalProgress(io: Output, paint: Paint): ProgressView {
  let drawn = 0;
  return {
    show(frame) {
      const width = Math.max(...frame.hosts.map((h) => h.host.length));
      const lines = [
        ...frame.hosts.map(
          (h) =>
            `  ${h.host.padEnd(width)}  ${paint(STATE_STYLE[h.state], bar(h.fraction))}  ${paint(STATE_STYLE[h.state], h.text)}`,
        ),
        `  ${frame.countdown}`,
      ];
      // `ESC[nF` = up n lines to column 1; `ESC[2K` clears each line before it is written again.
      const up = drawn > 0 ? `\x1b[${drawn}F` : '';
      io.out(`${up}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
      drawn = lines.length;
    },
    done() {
      drawn = 0;
    },
  };
}

/** A pipe or a file: a line only when a host's state or text changed (the countdown alone is not a change). */
export function lineProgress(io: Output, clock: () => number): ProgressView {
  const last = new Map<string, string>();
  return {
    show(frame) {
      const lines: string[] = [];
      for (const h of frame.hosts) {
        if (last.get(h.host) === h.text) continue;
        last.set(h.host, h.text);
        lines.push(`${new Date(clock()).toISOString().slice(11, 19)} ${h.host}: ${h.text} (${frame.countdown})\n`);
      }
      // One write per round: a reader of the pipe (a script, a log shipper) gets a round's hosts together, never half.
      if (lines.length > 0) io.out(lines.join(''));
    },
    done() {},
  };
}

/** `4m 48s`, `12s`, `1h 2m`. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}
