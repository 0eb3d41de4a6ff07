// Fault: the host runs the commands but its reply never arrives (a relay forwards the batch and drops the answer of
// any connection that carries a `set server`). The claim must be kept: rolling it back would leave the address
// serving in a slot the table calls free, and the redelivered launch would put it in a second slot.
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../bin/harness/haproxy.js';
import { freePort } from '../../bin/harness/ports.js';
import { parseConfig } from '../../functions/lib/config.js';
import { createFleet } from '../../functions/lib/haproxy/fleet.js';
import { registerMember } from '../../functions/lib/services/register.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import { createDeps } from '../../functions/shared/compose.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';

let ddb: DynamoDbLocal;
let hosts: HaproxyHandle[];
let relay: Server;
const sockets = new Set<Socket>();

/** Forwards everything to the host; drops the host's answer on a connection once a `set server` went through it. */
async function muteAfterWrites(target: number): Promise<number> {
  const port = await freePort();
  relay = createServer((client) => {
    const upstream = tcpConnect({ host: '127.0.0.1', port: target });
    sockets.add(client).add(upstream);
    let wrote = false;
    client.on('data', (chunk) => {
      if (chunk.toString().includes('set server')) wrote = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!wrote) client.write(chunk);
    });
    for (const s of [client, upstream]) s.on('error', () => {}).on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => relay.listen(port, '127.0.0.1', resolve));
  return port;
}

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
  hosts = await startFleet(1, { backends: [{ name: 'web', slotPrefix: 'web', slots: 4 }] }, 'mute-hap');
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => relay?.close(resolve));
  await stopAll(hosts);
  await ddb?.stop();
});

describe('a reply lost after the write', () => {
  it('keeps the claim (the host did apply it) instead of rolling it back, and confirms it with a look of its own', async () => {
    const tables = await ddb.createTables(`mute${Date.now()}`);
    const host = hosts[0] as HaproxyHandle;
    const config = parseConfig({
      hosts: [{ ...host.hostConfig(), port: await muteAfterWrites(host.statsPort) }],
      // Every member is a loopback address, which the address policy refuses unless told.
      allowLoopback: true,
      backends: [{ name: 'web', slotPrefix: 'web', port: 8080 }],
      timeouts: { connectMs: 500, commandMs: 600 },
    });
    const store = new DynamoDbSlotStore({ tableName: tables.slotTable, client: ddb.client });
    await store.seed('web', ['web1', 'web2', 'web3', 'web4']);
    const deps = { ...createDeps({ config, env: { SLOT_TABLE: tables.slotTable } as never }), store };
    const member = { id: 'm-1', address: '127.0.0.77', port: 8080 };
    const result = await registerMember(
      {
        backend: config.backends[0] as (typeof config.backends)[0],
        member,
        owner: 'webhook',
        until: Date.now() + 3_000,
      },
      config,
      deps,
    );
    expect(result.rolledBack).toBe(false);
    // The batch's reply (and the read-back it carried) timed out; the host had answered the round's look, so the loop
    // looked again on its own connection, which carries no `set server`, and saw the member served.
    expect(result.hosts[0]?.results.some((r) => r.error?.code === 'HOST_TIMEOUT')).toBe(true);
    expect(result.quorumMet).toBe(true);
    // The table keeps the intent, and the host shows what it was told although it never said so.
    expect(await store.findByMember('web', 'm-1')).toMatchObject({ slot: result.slot, state: 'active' });
    const direct = createFleet({ hosts: [host.hostConfig()], timeouts: { connectMs: 500, commandMs: 2_000 } });
    const [seen] = await direct.observe(['web']);
    const row = seen?.ok ? seen.backends.get('web')?.find((r) => r.server === result.slot) : undefined;
    expect(row).toMatchObject({ address: '127.0.0.77', port: 8080 });
  });
});
