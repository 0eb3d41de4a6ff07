// rememberLastSeen: a host that answered an earlier look of the invocation keeps what it showed into a look it failed.
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
const lastSeen = (o: HostObservation | undefined) => (o && !o.ok ? o.lastSeen?.get('web') : undefined);

describe('rememberLastSeen', () => {
  it('gives a host that failed this look the rows it showed in the one before', () => {
    const before = [up('hap1', row('web1', 'ready')), up('hap2', row('web1', 'maint'))];
    const now = rememberLastSeen([down('hap1'), up('hap2', row('web1', 'maint'))], before);
    expect(lastSeen(now[0])).toEqual([row('web1', 'ready')]);
    expect(now[0]).toMatchObject({ ok: false, error: { code: 'PROTOCOL_ERROR' } });
    expect(now[1]?.ok).toBe(true);
  });

  it('keeps carrying them through several failed looks, and drops them once the host answers', () => {
    const first = [up('hap1', row('web1', 'ready'))];
    const second = rememberLastSeen([down('hap1')], first);
    const third = rememberLastSeen([down('hap1')], second);
    expect(lastSeen(third[0])).toEqual([row('web1', 'ready')]);
    const back = rememberLastSeen([up('hap1', row('web1', 'maint'))], third);
    expect(back[0]).toEqual(up('hap1', row('web1', 'maint')));
  });

  it('leaves a host never seen in the invocation as it is (down from the start)', () => {
    expect(rememberLastSeen([down('hap1')], undefined)).toEqual([down('hap1')]);
    expect(rememberLastSeen([down('hap1')], [down('hap1')])).toEqual([down('hap1')]);
    expect(rememberLastSeen([down('hap3')], [up('hap1', row('web1', 'ready'))])).toEqual([down('hap3')]);
  });
});
