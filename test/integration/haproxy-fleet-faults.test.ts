// Fleet fan-out with faults: a killed HAProxy and a black-hole host never hold the live hosts past the deadline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../bin/harness/haproxy.js';
import type { HostConfig } from '../../functions/lib/config.js';
import { getWeight, setWeight } from '../../functions/lib/domain/commands.js';
import { createFleet } from '../../functions/lib/haproxy/fleet.js';
import { type BlackHole, startBlackHole } from '../support/black-hole.js';

const TIMEOUTS = { connectMs: 300, commandMs: 1_500 };
let hosts: HaproxyHandle[] = [];
let hole: BlackHole;

beforeAll(async () => {
  [hosts, hole] = await Promise.all([
    startFleet(4, { backends: [{ name: 'be', slotPrefix: 'web', slots: 2 }] }, 'faults-hap'),
    startBlackHole(),
  ]);
  // The fourth host dies hard: its port refuses connections from now on.
  await (hosts[3] as HaproxyHandle).kill('SIGKILL');
});

afterAll(async () => {
  await stopAll(hosts);
  await hole?.close();
});

describe('fleet with a dead host and a black-hole host', () => {
  it('applies the batch on the live hosts and reports the dead and the silent host, within the deadline', async () => {
    const live = hosts.slice(0, 3);
    const dead = hosts[3] as HaproxyHandle;
    const silent: HostConfig = { name: 'black-hole', host: '127.0.0.1', port: hole.port };
    const fleet = createFleet({
      hosts: [...live.map((h) => h.hostConfig()), dead.hostConfig(), silent],
      timeouts: TIMEOUTS,
    });

    const started = Date.now();
    const results = await fleet.broadcast([setWeight('be', 'web1', 17), getWeight('be', 'web1')]);
    const elapsed = Date.now() - started;

    expect(results.map((r) => [r.host, r.ok, r.error?.code])).toEqual([
      ...live.map((h) => [h.name, true, undefined]),
      [dead.name, false, 'HOST_UNREACHABLE'],
      ['black-hole', false, 'HOST_TIMEOUT'],
    ]);
    for (const result of results.slice(0, 3)) expect(result.replies[1]?.reply).toBe('17 (initial 1)');
    expect(results[3]?.error?.message).toMatch(/ECONNREFUSED/);
    expect(results[4]?.error?.message).toBe('black-hole: deadline passed with 0 of 2 replies received');
    expect(hole.connections()).toBeGreaterThanOrEqual(1);
    // A guard against hanging (correctness bound, not a performance goal).
    expect(elapsed).toBeLessThan(TIMEOUTS.commandMs * 2);
  });

  it('observe() reports each faulty host on its own and still returns the live hosts slots', async () => {
    const silent: HostConfig = { name: 'black-hole', host: '127.0.0.1', port: hole.port };
    const fleet = createFleet({ hosts: [...hosts.map((h) => h.hostConfig()), silent], timeouts: TIMEOUTS });
    const observations = await fleet.observe(['be']);
    expect(observations.map((o) => [o.host, o.ok, o.ok ? undefined : o.error.code])).toEqual([
      ...hosts.slice(0, 3).map((h) => [h.name, true, undefined]),
      [(hosts[3] as HaproxyHandle).name, false, 'HOST_UNREACHABLE'],
      ['black-hole', false, 'HOST_TIMEOUT'],
    ]);
    for (const o of observations.slice(0, 3))
      expect(o.ok && o.backends.get('be')?.map((s) => s.server)).toEqual(['web1', 'web2']);
  });

  it('answers an empty batch without connecting, so a dead host does not fail it', async () => {
    const dead = hosts[3] as HaproxyHandle;
    const silent: HostConfig = { name: 'black-hole', host: '127.0.0.1', port: hole.port };
    const fleet = createFleet({ hosts: [dead.hostConfig(), silent], timeouts: TIMEOUTS });
    const before = hole.connections();
    const results = await fleet.run([
      { host: dead.name, commands: [] },
      { host: 'black-hole', commands: [] },
      { host: 'not-configured', commands: [getWeight('be', 'web1')] },
    ]);
    expect(results).toEqual([
      { host: dead.name, ok: true, replies: [] },
      { host: 'black-hole', ok: true, replies: [] },
      {
        host: 'not-configured',
        ok: false,
        replies: [],
        error: { code: 'CONFIG_ERROR', message: 'unknown host not-configured' },
      },
    ]);
    expect(hole.connections()).toBe(before);
  });
});
