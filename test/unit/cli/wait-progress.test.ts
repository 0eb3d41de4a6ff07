// --wait progress: bars and durations, a line per change when piped, frames rewritten in place on a terminal.
import { describe, expect, it } from 'vitest';
import type { Output } from '../../../bin/cli/format.js';
import { plain } from '../../../bin/cli/style.js';
import { bar, duration, lineProgress, terminalProgress } from '../../../bin/cli/wait-progress.js';

function sink(): Output & { text: () => string } {
  let text = '';
  return { out: (t) => (text += t), err: () => {}, text: () => text };
}
const frame = (sessions: number, countdown: string) => ({
  hosts: [
    { host: 'a', state: 'waiting' as const, text: `${sessions} sessions left`, fraction: 0.5 },
    { host: 'bb', state: 'done' as const, text: 'no session left', fraction: 1 },
  ],
  countdown,
});

describe('bar and duration', () => {
  it('fills the bar by the fraction, clamped', () => {
    expect(bar(0)).toBe(`[${'░'.repeat(24)}]`);
    expect(bar(0.5)).toBe(`[${'█'.repeat(12)}${'░'.repeat(12)}]`);
    expect(bar(7)).toBe(`[${'█'.repeat(24)}]`);
  });

  it.each([
    [0, '0s'],
    [12_400, '12s'],
    [300_000, '5m 0s'],
    [3_723_000, '1h 2m'],
  ])('%i ms reads %s', (ms, text) => {
    expect(duration(ms)).toBe(text);
  });
});

describe('lineProgress (piped)', () => {
  it('prints a host only when its text changed, not for the countdown alone', () => {
    const io = sink();
    const view = lineProgress(io, () => Date.UTC(2025, 0, 1, 12, 0, 5));
    view.show(frame(3, 'gives up in 10s'));
    view.show(frame(3, 'gives up in 9s'));
    view.show(frame(1, 'gives up in 8s'));
    expect(io.text()).toBe(
      [
        '12:00:05 a: 3 sessions left (gives up in 10s)',
        '12:00:05 bb: no session left (gives up in 10s)',
        '12:00:05 a: 1 sessions left (gives up in 8s)',
        '',
      ].join('\n'),
    );
  });

  it("writes a round's changed hosts in one piece, and nothing for a round without a change", () => {
    const writes: string[] = [];
    const view = lineProgress({ out: (t) => writes.push(t), err: () => {} }, () => Date.UTC(2025, 0, 1, 12, 0, 5));
    view.show(frame(3, 'gives up in 10s'));
    view.show(frame(3, 'gives up in 9s'));
    expect(writes).toEqual([
      '12:00:05 a: 3 sessions left (gives up in 10s)\n12:00:05 bb: no session left (gives up in 10s)\n',
    ]);
  });
});

describe('terminalProgress', () => {
  it('draws one bar per host and the countdown, then moves up over them to redraw', () => {
    const io = sink();
    const view = terminalProgress(io, plain);
    view.show(frame(3, 'gives up in 10s'));
    const first = io.text();
    expect(first).toBe(
      `\x1b[2K  a   ${bar(0.5)}  3 sessions left\n\x1b[2K  bb  ${bar(1)}  no session left\n\x1b[2K  gives up in 10s\n`,
    );
    view.show(frame(2, 'gives up in 9s'));
    expect(
      io
        .text()
        .slice(first.length)
        .startsWith(`\x1b[3F\x1b[2K  a   ${bar(0.5)}  2 sessions left\n`),
    ).toBe(true);
  });
});
