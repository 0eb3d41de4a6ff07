// The Runtime API client against real HAProxy 2.6 processes: programming, unix socket, typed errors, observe.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../bin/harness/haproxy.js';
import { httpGet, type Instance, startInstances } from '../../bin/harness/instances.js';
import { getWeight, setAddr, setState, setWeight } from '../../functions/lib/domain/commands.js';
import { createEndpointClient, createHostClient } from '../../functions/lib/haproxy/client.js';
import { renderCommand } from '../../functions/lib/haproxy/commands.js';
import { createFleet } from '../../functions/lib/haproxy/fleet.js';
import type { HaproxyFleet } from '../../functions/lib/ports.js';

const TIMEOUTS = { connectMs: 500, commandMs: 3_000 };
let hosts: HaproxyHandle[] = [];
let instances: Instance[] = [];
let fleet: HaproxyFleet;

beforeAll(async () => {
  [hosts, instances] = await Promise.all([
    startFleet(3, {
      backends: [
        { name: 'be', slotPrefix: 'web', slots: 5 },
        // Slots parked on a name that never resolves (no DNS lookup with `init-addr none`): HAProxy refuses any
        // runtime address for them, although the address itself passes our validation.
        { name: 'named', slotPrefix: 'n', slots: 2, placeholder: 'slot.invalid:9', serverOptions: 'init-addr none' },
      ],
    }),
    startInstances(2),
  ]);
  fleet = createFleet({ hosts: hosts.map((h) => h.hostConfig()), timeouts: TIMEOUTS });
});

afterAll(async () => {
  await stopAll(hosts);
  await Promise.all(instances.map((i) => i.close()));
});

describe('HAProxy client against real hosts', () => {
  it('programs one slot on 3 hosts and HTTP through each host frontend reaches that instance', async () => {
    const [target] = instances as [Instance];
    const results = await fleet.broadcast([
      setAddr('be', 'web1', target.address, target.port),
      setWeight('be', 'web1', 10),
      setState('be', 'web1', 'ready'),
    ]);
    expect(results.map((r) => [r.host, r.ok])).toEqual(hosts.map((h) => [h.name, true]));
    for (const result of results) expect(result.replies.map((r) => r.ok)).toEqual([true, true, true]);
    for (const host of hosts) {
      for (let i = 0; i < 3; i++) {
        expect(await httpGet(host.frontendPort('be'), '/hello')).toEqual({ status: 200, body: target.id });
      }
    }
  });

  it('observe() reports the programmed slot on every host and the untouched slots in maint', async () => {
    const second = instances[1] as Instance;
    const results = await fleet.broadcast([
      setAddr('be', 'web2', second.address, second.port),
      setWeight('be', 'web2', 33),
      setState('be', 'web2', 'drain'),
    ]);
    expect(results.every((r) => r.ok)).toBe(true);
    const observations = await fleet.observe(['be']);
    expect(observations.map((o) => [o.host, o.ok])).toEqual(hosts.map((h) => [h.name, true]));
    for (const observation of observations) {
      if (!observation.ok) throw new Error(observation.error.message);
      const slots = observation.backends.get('be') ?? [];
      expect(slots.map((s) => s.server)).toEqual(['web1', 'web2', 'web3', 'web4', 'web5']);
      expect(slots[1]).toMatchObject({
        backend: 'be',
        server: 'web2',
        address: second.address,
        port: second.port,
        admin: 'drain',
        weight: 33,
        sessions: 0,
        statusWord: 'DRAIN',
        hasCheck: false,
      });
      expect(slots[4]).toMatchObject({ address: '127.0.0.1', port: 9, admin: 'maint', statusWord: 'MAINT' });
    }
  });

  it('reaches the same process over its unix CLI socket', async () => {
    const host = hosts[0] as HaproxyHandle;
    const unix = createEndpointClient(host.name, { kind: 'unix', path: host.socketPath }, TIMEOUTS);
    const result = await unix.run([setWeight('be', 'web3', 42), getWeight('be', 'web3')]);
    expect(result).toMatchObject({ host: host.name, ok: true });
    expect(result.replies[1]?.reply).toBe('42 (initial 1)');
    const overTcp = await createHostClient(host.hostConfig(), TIMEOUTS).run([getWeight('be', 'web3')]);
    expect(overTcp.replies[0]?.reply).toBe('42 (initial 1)');
  });

  it.each([
    ['an unknown backend', setState('nosuch', 'web1', 'ready'), 'No such backend.'],
    ['an unknown server', setState('be', 'web99', 'ready'), 'No such server.'],
    [
      'an address HAProxy refuses for the slot',
      setAddr('named', 'n1', '127.0.0.1', 8080),
      'Update for the current server address family is only supported through configuration file',
    ],
  ])('reports %s as COMMAND_FAILED naming host and command', async (_case, command, text) => {
    const host = hosts[1] as HaproxyHandle;
    const [result] = await fleet.run([
      { host: host.name, commands: [getWeight('be', 'web1'), command, getWeight('be', 'web1')] },
    ]);
    expect(result?.ok).toBe(false);
    expect(result?.error?.code).toBe('COMMAND_FAILED');
    expect(result?.error?.message).toContain(`${host.name}: '${renderCommand(command)}' failed: ${text}`);
    // The failure is paired with its own command; the commands around it still ran and succeeded.
    expect(result?.replies.map((r) => [r.command, r.ok])).toEqual([
      ['get weight be/web1', true],
      [renderCommand(command), false],
      ['get weight be/web1', true],
    ]);
  });

  it('keeps one host failure out of the other hosts results', async () => {
    const [a, b, c] = hosts as [HaproxyHandle, HaproxyHandle, HaproxyHandle];
    const results = await fleet.run([
      { host: a.name, commands: [setWeight('be', 'web4', 5)] },
      { host: b.name, commands: [setWeight('be', 'nosuch', 5)] },
      { host: c.name, commands: [] },
    ]);
    expect(results.map((r) => [r.host, r.ok, r.error?.code])).toEqual([
      [a.name, true, undefined],
      [b.name, false, 'COMMAND_FAILED'],
      [c.name, true, undefined],
    ]);
    expect(results[2]?.replies).toEqual([]);
  });

  it('reports an unknown backend in observe() as a failed host, not as an empty backend', async () => {
    const observations = await fleet.observe(['nosuch']);
    for (const observation of observations) {
      expect(observation.ok).toBe(false);
      if (!observation.ok) expect(observation.error).toMatchObject({ code: 'COMMAND_FAILED' });
      if (!observation.ok)
        expect(observation.error.message).toContain("'show stat nosuch 4 -1' failed: No such proxy.");
    }
  });
});
