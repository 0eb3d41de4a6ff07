// Reads that spare the host a whole `show stat`, on a real HAProxy: known servers read by id (one row each), a whole
// read again when an id has come to name another server (ids of deleted servers are reused), and a launch's read of a
// large backend asking for its claimed slots' rows once the claim names them.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type HaproxyHandle, oneShot, startHaproxy, stopAll } from '../../bin/harness/haproxy.js';
import type { Command } from '../../functions/lib/domain/commands.js';
import type { HostObservation } from '../../functions/lib/domain/types.js';
import { createHostClient } from '../../functions/lib/haproxy/client.js';
import { renderCommand } from '../../functions/lib/haproxy/commands.js';
import { fleetOf } from '../../functions/lib/haproxy/fleet.js';
import { LARGE_BACKEND } from '../../functions/lib/haproxy/observe-host.js';

const TIMEOUTS = { connectMs: 1_000, commandMs: 5_000 };
let hap: HaproxyHandle;

beforeAll(async () => {
  hap = await startHaproxy({
    name: 'byid-hap',
    backends: [
      { name: 'be', slotPrefix: 's', slots: 4 },
      { name: 'big', slotPrefix: 'b', slots: LARGE_BACKEND + 16 },
    ],
  });
});

afterAll(async () => {
  await stopAll([hap]);
});

/** A fleet over the one host whose exchanges are recorded as the text sent. */
function recordingFleet() {
  const sent: string[][] = [];
  const client = createHostClient(hap.hostConfig(), TIMEOUTS);
  const exchange = (commands: readonly Command[]) => {
    sent.push(commands.map(renderCommand));
    return client.exchange(commands);
  };
  return { sent, fleet: fleetOf([{ ...client, exchange }]) };
}

const rowsOf = (o: HostObservation | undefined, be = 'be') => (o?.ok ? o.backends.get(be) : undefined);

/** A filter that settles when the test says (a claim in flight). */
function pending() {
  let settle: (servers: ReadonlySet<string> | undefined) => void = () => {};
  const servers = new Promise<ReadonlySet<string> | undefined>((resolve) => {
    settle = resolve;
  });
  return { servers, settle };
}

async function cli(command: string): Promise<string> {
  return (await oneShot(hap.statsPort, command)).trim();
}

describe('observe by server id on a real HAProxy', () => {
  it('reads a server it read before as its one row, and finds what the whole read found', async () => {
    const { sent, fleet } = recordingFleet();
    const [whole] = await fleet.observe(['be'], { servers: Promise.resolve(new Set(['s3'])) });
    const [byId] = await fleet.observe(['be'], { servers: new Set(['s3']) });
    expect(sent).toEqual([
      ['show info', 'show stat be 4 -1', 'show servers state be'],
      ['show info', 'show servers state be', 'show stat be 4 3'],
    ]);
    expect(rowsOf(byId)).toEqual(rowsOf(whole));
    expect(rowsOf(byId)?.map((r) => r.server)).toEqual(['s3']);
  });

  it('reads the whole backend when the id now names another server, and reports the server asked for', async () => {
    const { sent, fleet } = recordingFleet();
    await fleet.observe(['be'], { servers: Promise.resolve(new Set(['s2'])) });
    // s1 (id 1) and s2 (id 2) go; added back s2 first, HAProxy hands it id 1 and s1 id 2.
    for (const s of ['s1', 's2']) {
      expect(await cli(`set server be/${s} state maint`)).toBe('');
      expect(await cli(`del server be/${s}`)).toBe('Server deleted.');
    }
    expect(await cli('add server be/s2 127.0.0.22:8022')).toBe('New server registered.');
    expect(await cli('add server be/s1 127.0.0.11:8011')).toBe('New server registered.');
    expect(await cli('show stat be 4 2')).toContain('\nbe,s1,');
    const [after] = await fleet.observe(['be'], { servers: new Set(['s2']) });
    expect(sent.slice(1)).toEqual([
      ['show info', 'show servers state be', 'show stat be 4 2'],
      ['show info', 'show stat be 4 -1', 'show servers state be'],
    ]);
    expect(rowsOf(after)?.map((r) => [r.server, r.address, r.port])).toEqual([['s2', '127.0.0.22', 8022]]);
    // The ids it read then are kept: the next read of s2 is by its new id.
    await fleet.observe(['be'], { servers: new Set(['s2']) });
    expect(sent.at(-1)).toEqual(['show info', 'show servers state be', 'show stat be 4 1']);
  });

  it("reads a large backend's servers state beside a claim, and the claimed slot's row by id once it settles", async () => {
    const { sent, fleet } = recordingFleet();
    // The first read learns the backend's size: whole, as before.
    await fleet.observe(['big'], { servers: Promise.resolve(new Set(['b3'])) });
    const claim = pending();
    const reading = fleet.observe(['big'], { servers: claim.servers });
    // The servers state goes out while the claim is still in flight.
    await vi.waitFor(() => expect(sent.slice(1)).toEqual([['show info', 'show servers state big']]), {
      timeout: 2_000,
      interval: 5,
    });
    claim.settle(new Set([`b${LARGE_BACKEND + 6}`]));
    const [read] = await reading;
    expect(sent.slice(2)).toEqual([[`show stat big 4 ${LARGE_BACKEND + 6}`]]);
    const [whole] = await fleet.observe(['big']);
    expect(rowsOf(read, 'big')).toEqual(rowsOf(whole, 'big')?.filter((r) => r.server === `b${LARGE_BACKEND + 6}`));
    expect(rowsOf(read, 'big')).toHaveLength(1);
  });

  it('reads every row of a large backend after the claim when the claim wants them all (seeding)', async () => {
    const { sent, fleet } = recordingFleet();
    await fleet.observe(['big'], { servers: Promise.resolve(new Set(['b3'])) });
    const [read] = await fleet.observe(['big'], { servers: Promise.resolve(undefined) });
    expect(sent.slice(1)).toEqual([
      ['show info', 'show servers state big'],
      ['show info', 'show stat big 4 -1', 'show servers state big'],
    ]);
    expect(rowsOf(read, 'big')).toHaveLength(LARGE_BACKEND + 16);
  });

  it('keeps reading a small backend whole beside the claim', async () => {
    const { sent, fleet } = recordingFleet();
    for (let i = 0; i < 2; i++) await fleet.observe(['be'], { servers: Promise.resolve(new Set(['s3'])) });
    expect(sent).toEqual([
      ['show info', 'show stat be 4 -1', 'show servers state be'],
      ['show info', 'show stat be 4 -1', 'show servers state be'],
    ]);
  });
});
