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
const down = (host: string): HostObservation => ({
  host,
  ok: false,
  error: { code: 'PROTOCOL_ERROR', message: `${host}: peer closed the connection after 0 of 5 replies` },
});
const seen = (o: HostObservation | undefined) =>
  o && !o.ok ? { rows: o.lastSeen?.get('web'), at: o.lastSeenAt } : undefined;

describe('rememberLastSeen', () => {
  it('gives a host that failed this look the rows it showed in the one before, and when', () => {
    const before = [up('hap1', row('web1', 'ready')), up('hap2', row('web1', 'maint'))];
    const now = rememberLastSeen([down('hap1'), up('hap2', row('web1', 'maint'))], { observed: before, at: 1_000 });
    expect(seen(now[0])).toEqual({ rows: [row('web1', 'ready')], at: 1_000 });
    expect(now[0]).toMatchObject({ ok: false, error: { code: 'PROTOCOL_ERROR' } });
    expect(now[1]?.ok).toBe(true);
  });

  it('keeps carrying them, with their time, through several failed looks, and drops them once the host answers', () => {
    const second = rememberLastSeen([down('hap1')], { observed: [up('hap1', row('web1', 'ready'))], at: 1_000 });
    const third = rememberLastSeen([down('hap1')], { observed: second, at: 2_000 });
    expect(seen(third[0])).toEqual({ rows: [row('web1', 'ready')], at: 1_000 });
    const back = rememberLastSeen([up('hap1', row('web1', 'maint'))], { observed: third, at: 3_000 });
    expect(back[0]).toEqual(up('hap1', row('web1', 'maint')));
  });

  it('leaves a host never seen in the invocation as it is (down from the start)', () => {
    expect(rememberLastSeen([down('hap1')], undefined)).toEqual([down('hap1')]);
    expect(rememberLastSeen([down('hap1')], { observed: [down('hap1')], at: 1_000 })).toEqual([down('hap1')]);
    const other = { observed: [up('hap1', row('web1', 'ready'))], at: 1_000 };
    expect(rememberLastSeen([down('hap3')], other)).toEqual([down('hap3')]);
  });
});
