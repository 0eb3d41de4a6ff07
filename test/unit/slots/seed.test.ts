// slotNamesFromHosts: which slot names the store may be seeded with, read off every host's `show stat` rows.
import { describe, expect, it } from 'vitest';
import type { HostObservation, ObservedSlot } from '../../../functions/lib/domain/types.js';
import { slotNamesFromHosts } from '../../../functions/lib/slots/seed.js';

function row(backend: string, server: string): ObservedSlot {
  return {
    backend,
    server,
    address: null,
    port: null,
    admin: 'maint',
    weight: 1,
    sessions: 0,
    status: 'MAINT',
    statusWord: 'MAINT',
    checkStatus: '',
    hasCheck: false,
  };
}

function host(name: string, backends: Record<string, string[]>): HostObservation {
  return {
    host: name,
    ok: true,
    backends: new Map(Object.entries(backends).map(([be, servers]) => [be, servers.map((s) => row(be, s))])),
  };
}

const down = (name: string): HostObservation => ({
  host: name,
  ok: false,
  error: { code: 'HOST_UNREACHABLE', message: 'refused' },
});

describe('slotNamesFromHosts', () => {
  it('takes the prefix followed by digits only, in natural order', () => {
    const obs = [host('h1', { be: ['web10', 'web2', 'webx', 'web1a', 'web1', 'api1', 'BACKEND', 'xweb3', 'web'] })];
    expect(slotNamesFromHosts(obs, 'be', 'web')).toEqual({
      names: ['web1', 'web2', 'web10'],
      disagreements: [],
      hostsSeen: ['h1'],
    });
  });

  it('treats regex characters in the prefix literally', () => {
    const obs = [host('h1', { be: ['w.b1', 'wxb2'] })];
    expect(slotNamesFromHosts(obs, 'be', 'w.b').names).toEqual(['w.b1']);
  });

  it('only reads the named backend', () => {
    const obs = [host('h1', { be: ['web1'], other: ['web2'] })];
    expect(slotNamesFromHosts(obs, 'be', 'web').names).toEqual(['web1']);
  });

  it('seeds only the slots every host has and reports each host that differs', () => {
    const obs = [
      host('h1', { be: ['web1', 'web2', 'web3'] }),
      host('h2', { be: ['web1', 'web2'] }),
      host('h3', { be: ['web1', 'web2', 'web4'] }),
    ];
    expect(slotNamesFromHosts(obs, 'be', 'web')).toEqual({
      names: ['web1', 'web2'],
      disagreements: [
        { host: 'h1', missing: ['web4'], extra: ['web3'] },
        { host: 'h2', missing: ['web3', 'web4'], extra: [] },
        { host: 'h3', missing: ['web3'], extra: ['web4'] },
      ],
      hostsSeen: ['h1', 'h2', 'h3'],
    });
  });

  it('reports a host that lacks the backend entirely, leaving nothing to seed', () => {
    const obs = [host('h1', { be: ['web1'] }), host('h2', {})];
    expect(slotNamesFromHosts(obs, 'be', 'web')).toEqual({
      names: [],
      disagreements: [
        { host: 'h1', missing: [], extra: ['web1'] },
        { host: 'h2', missing: ['web1'], extra: [] },
      ],
      hostsSeen: ['h1', 'h2'],
    });
  });

  it('ignores hosts that did not answer and lists them nowhere', () => {
    const obs = [down('h0'), host('h1', { be: ['web1', 'web2'] }), host('h2', { be: ['web2', 'web1'] })];
    expect(slotNamesFromHosts(obs, 'be', 'web')).toEqual({
      names: ['web1', 'web2'],
      disagreements: [],
      hostsSeen: ['h1', 'h2'],
    });
  });

  it('returns nothing when no host answered', () => {
    expect(slotNamesFromHosts([down('h1')], 'be', 'web')).toEqual({ names: [], disagreements: [], hostsSeen: [] });
  });
});
