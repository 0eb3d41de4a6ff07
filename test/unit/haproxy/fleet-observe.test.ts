// The fleet's observe: a deferred server filter, a bound on whole-fleet reads in flight at once, and known servers read
// by id.

import { describe, expect, it } from 'vitest';
import type { Command } from '../../../functions/lib/domain/commands.js';
import type { HostClient } from '../../../functions/lib/haproxy/client.js';
import { renderCommand } from '../../../functions/lib/haproxy/commands.js';
import { fleetOf } from '../../../functions/lib/haproxy/fleet.js';
import { capturedReply } from '../../support/version-fixtures.js';

const REPLIES: Record<string, string> = {
  'show-info': capturedReply('2.6.12', 'replies-extended.txt', 'show info'),
  'show-stat': capturedReply('2.6.12', 'replies.txt', 'show stat be 4 -1'),
  'show-servers-state': capturedReply('2.6.12', 'replies.txt', 'show servers state be'),
};

/** A host answering with 2.6.12's captured replies; `gate` holds each exchange until the test lets it go. */
function host(name: string, track: { open: number; max: number }, gate?: Promise<void>): HostClient {
  const exchange = async (commands: readonly Command[]) => {
    track.open++;
    track.max = Math.max(track.max, track.open);
    await gate;
    await new Promise((resolve) => setImmediate(resolve));
    track.open--;
    return commands.map((c) => REPLIES[c.kind] ?? '');
  };
  return { name, exchange, run: async () => ({ host: name, ok: true, replies: [] }) };
}

/** A fleet of `n` hosts whose exchanges all wait until `release()`, counting how many are open at once. */
function heldFleet(n: number) {
  const track = { open: 0, max: 0 };
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { track, release, fleet: fleetOf(Array.from({ length: n }, (_, i) => host(`hap-${i}`, track, gate))) };
}

const servers = (o: { ok: boolean; backends?: ReadonlyMap<string, readonly { server: string }[]> }) =>
  o.ok ? (o.backends?.get('be') ?? []).map((r) => r.server) : undefined;

describe('fleet observe', () => {
  it('reads while the filter is pending and reports the rows it settles on; undefined means every row', async () => {
    const track = { open: 0, max: 0 };
    const fleet = fleetOf([host('hap-a', track)]);
    const [all] = await fleet.observe(['be']);
    const names = servers(all as never) as string[];
    expect(names.length).toBeGreaterThan(1);
    let settle: (s: ReadonlySet<string> | undefined) => void = () => {};
    const filter = new Promise<ReadonlySet<string> | undefined>((resolve) => {
      settle = resolve;
    });
    const pending = fleet.observe(['be'], { servers: filter });
    // The exchange went out before the filter settled.
    await new Promise((resolve) => setImmediate(resolve));
    expect(track.max).toBe(1);
    settle(new Set([names[1] as string]));
    expect((await pending).map(servers as never)).toEqual([[names[1]]]);
    expect((await fleet.observe(['be'], { servers: Promise.resolve(undefined) })).map(servers as never)).toEqual([
      names,
    ]);
  });

  it('asks only the hosts it is given, and answers for those alone, in fleet order', async () => {
    const track = { open: 0, max: 0 };
    const asked: string[] = [];
    const fleet = fleetOf(
      ['hap-a', 'hap-b', 'hap-c'].map((name) => {
        const h = host(name, track);
        const exchange = (commands: readonly Command[]) => {
          asked.push(name);
          return h.exchange(commands);
        };
        return { ...h, exchange };
      }),
    );
    const out = await fleet.observe(['be'], { hosts: new Set(['hap-c', 'hap-a']) });
    expect(out.map((o) => o.host)).toEqual(['hap-a', 'hap-c']);
    expect(out.every((o) => o.ok)).toBe(true);
    expect(asked.sort()).toEqual(['hap-a', 'hap-c']);
  });

  it('has at most 4 hosts reading whole backends at once, and every host answers', async () => {
    const { track, fleet, release } = heldFleet(40);
    const pending = fleet.observe(['be']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(track.open).toBe(4);
    release();
    const out = await pending;
    expect(out.filter((o) => o.ok)).toHaveLength(40);
    expect(track.max).toBe(4);
  });

  it('does not hold back a read for a few slots (a launch read-back): every host is asked at once', async () => {
    const { track, fleet, release } = heldFleet(40);
    const pending = fleet.observe(['be'], { servers: new Set(['web1']) });
    await new Promise((resolve) => setImmediate(resolve));
    expect(track.open).toBe(40);
    release();
    expect((await pending).filter((o) => o.ok)).toHaveLength(40);
  });

  it('holds back a read for many slots (a reconcile round) like a whole-fleet one', async () => {
    const track = { open: 0, max: 0 };
    const fleet = fleetOf(Array.from({ length: 40 }, (_, i) => host(`hap-${i}`, track)));
    const many = new Set(Array.from({ length: 17 }, (_, i) => `web${i + 1}`));
    expect((await fleet.observe(['be'], { servers: many })).filter((o) => o.ok)).toHaveLength(40);
    expect(track.max).toBe(4);
  });
});

/** `show stat be 4 <sid>` as HAProxy answers it: the header and the row whose `sid` column is that id, if any. */
function rowOfId(whole: string, sid: number, renumber: (sid: number) => number): string {
  const lines = whole.split('\n');
  const header = lines[0] as string;
  const at = header.slice(2).split(',').indexOf('sid');
  const row = lines.slice(1).filter((l) => l !== '' && renumber(Number(l.split(',')[at])) === sid);
  return [header, ...row, ''].join('\n');
}

/** A host answering with 2.6.12's replies, `show stat` by id too; `renumber` moves the ids its rows carry. */
function byIdHost(sent: string[][], renumber: { by: (sid: number) => number } = { by: (sid) => sid }): HostClient {
  const exchange = async (commands: readonly Command[]) => {
    sent.push(commands.map(renderCommand));
    return commands.map((c) =>
      c.kind === 'show-stat' && c.sid !== undefined
        ? rowOfId(REPLIES['show-stat'] as string, c.sid, renumber.by)
        : (REPLIES[c.kind] ?? ''),
    );
  };
  return { name: 'hap-a', exchange, run: async () => ({ host: 'hap-a', ok: true, replies: [] }) };
}

const rows = (o: { ok: boolean; backends?: ReadonlyMap<string, readonly unknown[]> }) =>
  o.ok ? o.backends?.get('be') : undefined;

describe('fleet observe by server id', () => {
  it('reads a few servers it read before by id, one row each, and finds what a whole read finds', async () => {
    const sent: string[][] = [];
    const fleet = fleetOf([byIdHost(sent)]);
    const names = servers((await fleet.observe(['be']))[0] as never) as string[];
    const few = new Set([names[1] as string, names[3] as string]);
    const [first] = await fleet.observe(['be'], { servers: Promise.resolve(few) });
    const [again] = await fleet.observe(['be'], { servers: few });
    expect(sent[1]).toEqual(['show info', 'show stat be 4 -1', 'show servers state be']);
    expect(sent[2]).toEqual(['show info', 'show servers state be', 'show stat be 4 2', 'show stat be 4 4']);
    expect(rows(again as never)).toEqual(rows(first as never));
    expect(servers(again as never)).toEqual([names[1], names[3]]);
  });

  it('reads the whole backend again when an id now names another server, and answers with the right rows', async () => {
    const sent: string[][] = [];
    const renumber = { by: (sid: number) => sid };
    const fleet = fleetOf([byIdHost(sent, renumber)]);
    const names = servers((await fleet.observe(['be']))[0] as never) as string[];
    const one = new Set([names[1] as string]);
    const [before] = await fleet.observe(['be'], { servers: Promise.resolve(one) });
    // As after deleting servers and adding them back: every server's id is one more than it was.
    renumber.by = (sid) => sid + 1;
    const [after] = await fleet.observe(['be'], { servers: one });
    expect(sent.slice(2)).toEqual([
      ['show info', 'show servers state be', 'show stat be 4 2'],
      ['show info', 'show stat be 4 -1', 'show servers state be'],
    ]);
    expect(rows(after as never)).toEqual(rows(before as never));
  });

  it('reads the whole backend when two servers asked for share a remembered id (one of them gone)', async () => {
    const sent: string[][] = [];
    const normal = byIdHost(sent);
    const names = servers((await fleetOf([byIdHost([])]).observe(['be']))[0] as never) as string[];
    const [gone, kept] = [names[0] as string, names[1] as string];
    let deleted = false;
    // After the delete: `gone` is no longer in servers state, and every id read by `show stat` is kept's row.
    const host: HostClient = {
      ...normal,
      exchange: async (commands: readonly Command[]) => {
        const replies = await normal.exchange(commands);
        if (!deleted) return replies;
        return replies.map((reply, i) => {
          const c = commands[i];
          if (c?.kind === 'show-servers-state')
            return reply
              .split('\n')
              .filter((line) => line.split(' ')[3] !== gone)
              .join('\n');
          if (c?.kind === 'show-stat' && c.sid === undefined)
            return reply
              .split('\n')
              .filter((line) => line.split(',')[1] !== gone)
              .join('\n');
          return c?.kind === 'show-stat' && c.sid !== undefined
            ? rowOfId(REPLIES['show-stat'] as string, 2, (s) => s)
            : reply;
        });
      },
    };
    const fleet = fleetOf([host]);
    const two = new Set([gone, kept]);
    await fleet.observe(['be'], { servers: Promise.resolve(two) });
    deleted = true;
    const [read] = await fleet.observe(['be'], { servers: two });
    expect(sent.slice(-2)).toEqual([
      ['show info', 'show servers state be', 'show stat be 4 1', 'show stat be 4 2'],
      ['show info', 'show stat be 4 -1', 'show servers state be'],
    ]);
    expect(read?.ok).toBe(true);
    expect(servers(read as never)).toEqual([kept]);
  });

  it('keeps no ids from a whole read, nor reads two backends by id', async () => {
    const sent: string[][] = [];
    const fleet = fleetOf([byIdHost(sent)]);
    const names = servers((await fleet.observe(['be']))[0] as never) as string[];
    await fleet.observe(['be'], { servers: new Set([names[0] as string]) });
    await fleet.observe(['be', 'be2'], { servers: new Set([names[0] as string]) });
    expect(sent.map((commands) => commands.filter((c) => c.startsWith('show stat')))).toEqual([
      ['show stat be 4 -1'],
      ['show stat be 4 -1'],
      ['show stat be 4 -1', 'show stat be2 4 -1'],
    ]);
  });
});
