// Growth where HAProxy cannot add servers: a static-rr backend keeps growth off with the reason; a map-based hash
// backend is left to HAProxy's answer, and its refusal rolls the claim back with HAProxy's text. Real HAProxy and
// DynamoDB Local, through the register service.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startHaproxy, stopAll } from '../../bin/harness/haproxy.js';
import { renderConfig } from '../../bin/harness/haproxy-config.js';
import { type BackendConfig, type ConfigDocument, parseConfig } from '../../functions/lib/config.js';
import { NoFreeSlotError } from '../../functions/lib/errors.js';
import type { ServiceDeps } from '../../functions/lib/services/deps.js';
import { reconcile } from '../../functions/lib/services/reconcile.js';
import { registerMember } from '../../functions/lib/services/register.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import { createDeps } from '../../functions/shared/compose.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';

const SPECS = [
  { name: 'srr', slotPrefix: 'srr', slots: 2 },
  { name: 'src', slotPrefix: 'src', slots: 2 },
];
const BALANCE: Record<string, string> = { srr: 'balance static-rr', src: 'balance source' };
let ddb: DynamoDbLocal;
let host: HaproxyHandle;
let config: ConfigDocument;
let deps: ServiceDeps;
let store: DynamoDbSlotStore;

const memberOf = (n: number, port: number) => ({
  id: `i-0c${String(n).padStart(15, '0')}`,
  address: `127.0.42.${n}`,
  port,
});
function backend(name: string): BackendConfig {
  const found = config.backends.find((b) => b.name === name);
  if (!found) throw new Error(`no backend ${name}`);
  return found;
}

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
  const { slotTable } = await ddb.createTables(`grow-refused${Date.now()}`);
  const options = {
    name: 'refuse-hap1',
    backends: SPECS,
    // The harness renders roundrobin everywhere; these two backends balance in ways growth must deal with.
    configText: (layout: Parameters<typeof renderConfig>[1]) =>
      renderConfig({ name: 'refuse-hap1', backends: SPECS }, layout)
        .split('\n')
        .reduce<{ lines: string[]; backend?: string }>(
          (acc, line) => {
            const be = /^backend (\S+)$/.exec(line)?.[1];
            const out = line.trim() === 'balance roundrobin' && acc.backend ? `    ${BALANCE[acc.backend]}` : line;
            return { lines: [...acc.lines, out], backend: be ?? acc.backend };
          },
          { lines: [] },
        )
        .lines.join('\n'),
  };
  host = await startHaproxy(options);
  store = new DynamoDbSlotStore({ tableName: slotTable, client: ddb.client });
  config = parseConfig({
    hosts: [host.hostConfig()],
    // The members are on loopback (the only addresses tests may dial); production refuses it by default.
    allowLoopback: true,
    backends: SPECS.map((s) => ({ name: s.name, slotPrefix: s.slotPrefix, port: 8080, maxSlots: 4 })),
    timeouts: { connectMs: 500, commandMs: 3_000, planTtlMs: 1_000, clockSkewMs: 0, pollMs: 20 },
  });
  deps = { ...createDeps({ config, env: { SLOT_TABLE: slotTable }, clients: { dynamodb: ddb.client } }), store };
}, 60_000);

afterAll(async () => {
  await stopAll([host]);
  await ddb?.stop();
});

describe('growth where the balance algorithm forbids it', () => {
  it('reports a static-rr backend with the reason in reconcile and seeds no dynamic slot', async () => {
    const report = await reconcile({ backends: [backend('srr')], until: Date.now() + 5_000 }, config, deps);
    expect(report.growth).toEqual([
      {
        backend: 'srr',
        enabled: false,
        slots: 0,
        reason:
          'srr cannot take servers at run time on refuse-hap1 (balance static-rr): use roundrobin, leastconn, first or random',
      },
    ]);
    expect((await store.list('srr')).map((r) => [r.slot, r.dynamic ?? false])).toEqual([
      ['srr1', false],
      ['srr2', false],
    ]);
  });

  it('answers the member after the template with no free slot, saying growth is off and why', async () => {
    const until = Date.now() + 5_000;
    for (const n of [1, 2]) {
      const r = await registerMember(
        { backend: backend('srr'), member: memberOf(n, 8080), owner: 'asg', until },
        config,
        deps,
      );
      expect(r.quorumMet).toBe(true);
    }
    const third = registerMember(
      { backend: backend('srr'), member: memberOf(3, 8080), owner: 'asg', until },
      config,
      deps,
    );
    await expect(third).rejects.toBeInstanceOf(NoFreeSlotError);
    await expect(third).rejects.toThrow(
      /no free slot in backend srr: growth is off: srr cannot take servers at run time on refuse-hap1 \(balance static-rr\)/,
    );
  });

  it('rolls back a dynamic claim HAProxy refuses on a map-based hash backend, with HAProxy’s own text', async () => {
    const until = Date.now() + 5_000;
    for (const n of [1, 2])
      await registerMember({ backend: backend('src'), member: memberOf(n, 8080), owner: 'asg', until }, config, deps);
    const r = await registerMember(
      { backend: backend('src'), member: memberOf(3, 8080), owner: 'asg', until },
      config,
      deps,
    );
    expect(r.rolledBack).toBe(true);
    expect(r.quorumMet).toBe(false);
    expect(r.hosts[0]?.error?.message).toMatch(/Backend must use a dynamic load balancing to support dynamic servers/);
    const records = await store.list('src');
    expect(records.filter((x) => x.dynamic).map((x) => x.state)).toEqual(['free', 'free']);
    expect(await store.findByMember('src', memberOf(3, 8080).id)).toBeUndefined();
  });
});
