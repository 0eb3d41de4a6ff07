// rememberLastSeen: a host that answered an earlier look of the invocation keeps what it showed, and when, into a look
// it failed.
import { describe, expect, it } from 'vitest';
import { rememberLastSeen } from '../../../functions/lib/domain/observation.js';
import type { HostObservation, ObservedSlot } from '../../../functions/lib/domain/types.js';

const row = (server: string, admin: ObservedSlot['admin']): ObservedSlot => ({
  backend: 'web',
  server,
  address: '127.0.0.11',
  port: 8080,
  admin,
  weight: 1,
  sessions: 0,
  status: admin.toUpperCase(),
  statusWord: admin.toUpperCase(),
  checkStatus: '',
  hasCheck: false,
});
const up = (host: string, ...rows: ObservedSlot[]): HostObservation => ({
  host,
  ok: true,
  backends: new Map([['web', rows]]),
});
const cut = (host: string): HostObservation => ({
  host,
  ok: false,
  error: { code: 'PROTOCOL_ERROR', message: `${host}: peer closed the connection after 0 of 5 replies` },
});
const silent = (host: string): HostObservation => ({
  host,
  ok: false,
  error: { code: 'HOST_UNREACHABLE', message: `${host}: cannot connect (2 attempts): connection refused` },
});
const seen = (o: HostObservation | undefined) =>
  o && !o.ok ? { rows: o.lastSeen?.get('web'), at: o.lastSeenAt } : undefined;

describe('rememberLastSeen', () => {
  it('gives a host that failed this look the rows it showed in the one before', () => {
    const before = [up('hap1', row('web1', 'ready')), up('hap2', row('web1', 'maint'))];
    const now = rememberLastSeen(
      [silent('hap1'), up('hap2', row('web1', 'maint'))],
      { observed: before, at: 1_000 },
      1_500,
    );
    expect(seen(now[0])).toEqual({ rows: [row('web1', 'ready')], at: 1_000 });
    expect(now[0]).toMatchObject({ ok: false, error: { code: 'HOST_UNREACHABLE' } });
    expect(now[1]?.ok).toBe(true);
  });

  it('ages lastSeenAt only while the host is silent; one that cut the connection was heard from just now', () => {
    const first = { observed: [up('hap1', row('web1', 'ready'))], at: 1_000 };
    const unreachable = rememberLastSeen([silent('hap1')], first, 2_000);
    const stillSilent = rememberLastSeen([silent('hap1')], { observed: unreachable, at: 2_000 }, 3_000);
    expect(seen(stillSilent[0])).toEqual({ rows: [row('web1', 'ready')], at: 1_000 });
    const cutNow = rememberLastSeen([cut('hap1')], { observed: stillSilent, at: 3_000 }, 4_000);
    expect(seen(cutNow[0])).toEqual({ rows: [row('web1', 'ready')], at: 4_000 });
  });

  it('drops what it carried once the host answers', () => {
    const second = rememberLastSeen([cut('hap1')], { observed: [up('hap1', row('web1', 'ready'))], at: 1_000 }, 2_000);
    const back = rememberLastSeen([up('hap1', row('web1', 'maint'))], { observed: second, at: 2_000 }, 3_000);
    expect(back[0]).toEqual(up('hap1', row('web1', 'maint')));
  });

  it('leaves a host never seen in the invocation as it is (down from the start)', () => {
    expect(rememberLastSeen([silent('hap1')], undefined, 1_000)).toEqual([silent('hap1')]);
    expect(rememberLastSeen([cut('hap1')], { observed: [cut('hap1')], at: 1_000 }, 2_000)).toEqual([cut('hap1')]);
    const other = { observed: [up('hap1', row('web1', 'ready'))], at: 1_000 };
    expect(rememberLastSeen([silent('hap3')], other, 2_000)).toEqual([silent('hap3')]);
  });
});
