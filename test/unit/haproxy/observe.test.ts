// mergeObserved on captured `show stat` + `show servers state` pairs: each column from the source that stays right.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ObservedSlot } from '../../../functions/lib/domain/types.js';
import { ParseError } from '../../../functions/lib/errors.js';
import { mergeObserved } from '../../../functions/lib/haproxy/observe.js';
import { parseServersState } from '../../../functions/lib/haproxy/parse-servers-state.js';
import { parseShowStat } from '../../../functions/lib/haproxy/parse-stat.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/haproxy/${name}`, import.meta.url), 'utf8');
const stat = parseShowStat(fixture('show-stat-be.csv'));
const state = parseServersState(fixture('show-servers-state-be.txt'));
const slot = (slots: ObservedSlot[], server: string, backend = 'be'): ObservedSlot => {
  const found = slots.find((s) => s.backend === backend && s.server === server);
  if (!found) throw new Error(`no ${backend}/${server}`);
  return found;
};

describe('mergeObserved on one backend', () => {
  const slots = mergeObserved(stat, state);

  it('returns one slot per server, in show stat order', () => {
    expect(slots.map((s) => s.server)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `websrv${n}`));
  });

  it('combines a ready, UP slot with sessions', () => {
    expect(slot(slots, 'websrv1')).toEqual({
      backend: 'be',
      server: 'websrv1',
      address: '127.0.0.1',
      port: stat[0]?.port,
      admin: 'ready',
      weight: 50,
      sessions: 2,
      status: 'UP',
      statusWord: 'UP',
      checkStatus: 'L7OK',
      hasCheck: true,
    });
  });

  it('reports drain and maint from the admin bitmask', () => {
    expect(slot(slots, 'websrv2')).toMatchObject({ admin: 'drain', statusWord: 'DRAIN' });
    expect(slot(slots, 'websrv9')).toMatchObject({ admin: 'drain', status: 'DRAIN 1/3', checkStatus: 'INI' });
    expect(slot(slots, 'websrv3')).toMatchObject({ admin: 'maint', statusWord: 'MAINT' });
  });

  it('says a MAINT slot has a health check even though show stat empties its check columns', () => {
    expect(stat.find((r) => r.server === 'websrv3')?.hasCheck).toBe(false);
    expect(slot(slots, 'websrv3')).toMatchObject({ hasCheck: true, checkStatus: '' });
  });

  it('reports a ready slot that fails its check as ready but DOWN', () => {
    expect(slot(slots, 'websrv5')).toMatchObject({ admin: 'ready', statusWord: 'DOWN', checkStatus: 'L4CON' });
  });

  it('agrees with show stat on address and port for every captured slot, IPv6 included', () => {
    for (const s of slots) {
      const row = stat.find((r) => r.server === s.server);
      expect([s.address, s.port]).toEqual([row?.address, row?.port]);
    }
    expect(slot(slots, 'websrv4').address).toBe('::1');
  });

  it('takes address, port, admin and weight from servers state when the two disagree', () => {
    const moved = state.map((r) =>
      r.server === 'websrv1' ? { ...r, address: '::1', port: 1, admin: 'maint' as const, uweight: 7 } : r,
    );
    expect(slot(mergeObserved(stat, moved), 'websrv1')).toMatchObject({
      address: '::1',
      port: 1,
      admin: 'maint',
      weight: 7,
    });
  });
});

describe('mergeObserved on full dumps', () => {
  const slots = mergeObserved(
    parseShowStat(fixture('show-stat.csv')),
    parseServersState(fixture('show-servers-state.txt')),
  );

  it('keeps server rows only, never FRONTEND or BACKEND aggregates', () => {
    expect(slots).toHaveLength(14);
    expect(slots.some((s) => s.server === 'BACKEND' || s.server === 'FRONTEND')).toBe(false);
  });

  it('matches servers by name within their backend', () => {
    expect(slot(slots, 'websrv1', 'be_nocheck')).toMatchObject({ weight: 1, hasCheck: false, statusWord: 'no check' });
    expect(slot(slots, 'websrv1', 'be')).toMatchObject({ weight: 50, hasCheck: true });
    expect(slot(slots, 'slot1', 'be_noaddr')).toMatchObject({ address: null, port: null, admin: 'maint' });
  });
});

describe('mergeObserved refusals', () => {
  it('names a server that is in show stat only', () => {
    const partial = state.filter((r) => r.server !== 'websrv4');
    expect(() => mergeObserved(stat, partial)).toThrow(ParseError);
    expect(() => mergeObserved(stat, partial)).toThrow(/be\/websrv4/);
  });

  it('names a server that is in servers state only', () => {
    const partial = stat.filter((r) => r.server !== 'websrv7');
    expect(() => mergeObserved(partial, state)).toThrow(/be\/websrv7.*not in show stat/);
  });

  it('refuses a backend that is known to only one side', () => {
    const all = parseServersState(fixture('show-servers-state.txt'));
    expect(() => mergeObserved(stat, all)).toThrow(/be_nocheck\/websrv1/);
  });

  it('refuses a server listed twice', () => {
    expect(() => mergeObserved(stat, [...state, ...state.slice(0, 1)])).toThrow(ParseError);
    expect(() => mergeObserved([...stat, ...stat.slice(0, 1)], state)).toThrow(ParseError);
  });
});
