// parseShowInfo and parseGetWeight on replies captured from HAProxy 2.6.12.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../../functions/lib/errors.js';
import { parseGetWeight, parseShowInfo } from '../../../functions/lib/haproxy/parse-info.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/haproxy/${name}`, import.meta.url), 'utf8');
const replies = JSON.parse(fixture('replies.json')) as Array<{ command: string; reply: string }>;
const captured = (command: string): string => {
  const hit = replies.find((r) => r.command === command);
  if (!hit) throw new Error(`no captured reply for ${command}`);
  return hit.reply;
};

describe('parseShowInfo', () => {
  const info = parseShowInfo(fixture('show-info.txt'));

  it('maps every Key: value line of a captured show info', () => {
    expect(info.Version).toBe('2.6.12-1+deb12u4');
    expect(info.Name).toBe('HAProxy');
    expect(info.Pid).toMatch(/^\d+$/);
    expect(Object.keys(info)).toHaveLength(
      fixture('show-info.txt')
        .split('\n')
        .filter((l) => l.trim() !== '').length,
    );
  });

  it('keeps keys and values that contain spaces whole', () => {
    expect(info.Uptime).toMatch(/^\d+d \d+h\d\dm\d\ds$/);
    expect(info['Unstoppable Jobs']).toBe('0');
  });

  it.each([
    ['Permission denied', 'Permission denied\n'],
    ['an unknown command dump', captured('foo')],
    ['an empty reply', ''],
    ['key/value lines without Pid', 'Name: HAProxy\nVersion: 2.6.12\n'],
  ])('throws ParseError on %s', (_name, text) => {
    expect(() => parseShowInfo(text)).toThrow(ParseError);
  });
});

describe('parseGetWeight', () => {
  it('reads current and initial weight from a captured reply', () => {
    expect(parseGetWeight(fixture('get-weight.txt'))).toEqual({ current: 50, initial: 1 });
  });

  it('reads a zero weight', () => {
    expect(parseGetWeight(captured('get weight be/websrv8'))).toEqual({ current: 0, initial: 1 });
  });

  it.each([
    ['No such server.', captured('get weight be/nosuch')],
    ['No such backend.', captured('get weight nosuch/websrv1')],
    ["Require 'backend/server'.", captured('get weight be')],
    ['a bare number', '50\n'],
    ['a missing initial weight', '50 (initial )\n'],
    ['a negative weight', '-1 (initial 1)\n'],
    ['an empty reply', ''],
  ])('throws ParseError on %s', (_name, text) => {
    expect(() => parseGetWeight(text)).toThrow(ParseError);
  });
});
