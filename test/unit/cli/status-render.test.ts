// Status text: unambiguous host cells, colour only when asked for, columns aligned with or without escape codes.
import { describe, expect, it } from 'vitest';
import { styledTable } from '../../../bin/cli/format.js';
import { fitWidth } from '../../../bin/cli/screen.js';
import type { HostCell } from '../../../bin/cli/status-model.js';
import { hostCell } from '../../../bin/cli/status-render.js';
import { coloured, plain } from '../../../bin/cli/style.js';
import { frameFor } from '../../../bin/cli/watch.js';

const present = (over: Partial<Extract<HostCell, { present: true }>>): HostCell => ({
  host: 'h',
  reachable: true,
  present: true,
  status: 'UP',
  sessions: 0,
  check: 'L7OK',
  admin: 'ready',
  address: '127.0.0.1',
  port: 80,
  weight: 1,
  drift: [],
  awaitingHealth: false,
  ...over,
});
const text = (c: ReturnType<typeof hostCell>) => (typeof c === 'string' ? c : c.text);

describe('hostCell', () => {
  it.each<[string, HostCell, string]>([
    ['HAProxy status with a space stays one part', present({ status: 'UP 1/3', sessions: 4 }), 'UP 1/3 · 4 · L7OK'],
    ['no check', present({ status: 'no check', check: '' }), 'no check · 0 · -'],
    [
      'a drain whose check fails says drain too',
      present({ status: 'DOWN', admin: 'drain', check: 'L4CON' }),
      'DOWN (drain) · 0 · L4CON',
    ],
    ['DRAIN already says it', present({ status: 'DRAIN', admin: 'drain' }), 'DRAIN · 0 · L7OK'],
    ['drift is marked', present({ status: 'MAINT', admin: 'maint', check: '', drift: ['admin'] }), 'MAINT · 0 · - *'],
    ['a slot the host lacks', { host: 'h', reachable: true, present: false, drift: ['missing-slot'] }, 'missing *'],
    ['a host that did not answer', { host: 'h', reachable: false }, 'unreachable'],
  ])('%s: %s', (_, cell, expected) => {
    expect(text(hostCell(cell))).toBe(expected);
  });

  it('styles drift before anything else, then a slot waiting for its check', () => {
    expect(hostCell(present({ drift: ['weight'] }))).toMatchObject({ style: 'drift' });
    expect(hostCell(present({ status: 'DOWN', admin: 'drain', awaitingHealth: true }))).toMatchObject({
      style: 'warning',
    });
    expect(hostCell(present({}))).toMatchObject({ style: 'ok' });
  });
});

describe('styledTable', () => {
  const rows = [
    [{ text: 'UP', style: 'ok' as const }, 'x'],
    ['MAINT', 'y'],
  ];

  it('aligns columns the same with and without colour', () => {
    // ESC [ … m, built from its code so the pattern holds no literal control character.
    const strip = (s: string) => s.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
    expect(styledTable(['A', 'B'], rows, coloured).map(strip)).toEqual(styledTable(['A', 'B'], rows, plain));
    expect(styledTable(['A', 'B'], rows, plain)).toEqual(['A      B', 'UP     x', 'MAINT  y']);
  });

  it('writes no escape code with plain, and colours only the text (not the padding) with colour', () => {
    expect(styledTable(['A', 'B'], rows, plain).join('')).not.toContain('\x1b');
    expect(styledTable(['A', 'B'], rows, coloured)[1]).toBe('\x1b[32mUP\x1b[39m     x');
  });
});

describe('fitWidth and frameFor (watch on a terminal)', () => {
  it('cuts by visible characters, keeping escapes whole and closing them', () => {
    expect(fitWidth('\x1b[32mabcdef\x1b[39m', 3)).toBe('\x1b[32mabc\x1b[0m');
    expect(fitWidth('abc', 5)).toBe('abc');
  });

  it('keeps the summary line when the screen is too short, saying how much was cut', () => {
    const lines = ['h', 'r1', 'r2', 'r3', 'r4', 'OK · summary'];
    expect(frameFor(lines, 4)).toEqual([
      'h',
      'r1',
      '… 3 more lines (a taller terminal or --backend shows them)',
      'OK · summary',
    ]);
    expect(frameFor(lines, 10)).toEqual(lines);
  });
});
