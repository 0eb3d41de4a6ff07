// Growth past the server-template, through the real lifecycle and reconcile handlers, on two hosts started from the
// host kit (master-worker, state file) and DynamoDB Local; EC2 and Auto Scaling are faked at the SDK boundary. One
// backend of 4 template slots with maxSlots 12: launches fill the template, then servers are added at run time on
// every host; a host-kit reload drops them and one reconcile adds them back; terminates delete them everywhere.
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startHaproxy, stopAll } from '../../../bin/harness/haproxy.js';
import { parentOf } from '../../../bin/harness/haproxy-util.js';
import { httpGet, type Instance, startInstanceAt } from '../../../bin/harness/instances.js';
import { freePort } from '../../../bin/harness/ports.js';
import { showInfo } from '../../../functions/lib/domain/commands.js';
import type { ObservedSlot, SlotRecord } from '../../../functions/lib/domain/types.js';
import { createFleet } from '../../../functions/lib/haproxy/fleet.js';
import { DynamoDbSlotStore } from '../../../functions/lib/slots/dynamodb-store.js';
import launch from '../../fixtures/events/launch.json' with { type: 'json' };
import terminate from '../../fixtures/events/terminate.json' with { type: 'json' };
import { connectDynamoDbLocal, type DynamoDbLocal } from '../../support/dynamodb-local.js';
import { KIT_BACKEND, kitHaproxyOptions, reloadArgs, runReloadHelper, showProc } from '../../support/host-kit.js';
import { handlerEnv, lambdaContext, lifecycleEvent } from '../../support/lambda.js';
import { waitFor } from '../../support/wait.js';

const ec2 = mockClient(EC2Client);
const asg = mockClient(AutoScalingClient);
const BE = KIT_BACKEND.name;
const ASG = 'asg-grow';
const MAX_SLOTS = 12;

type Invoke = (event: unknown, context: Context) => Promise<unknown>;
type Summary = { completion: string; noSlot: string[]; slots: { slot?: string; status: string }[] };
let ddb: DynamoDbLocal;
let hosts: HaproxyHandle[] = [];
let store: DynamoDbSlotStore;
let lifecycle: Invoke;
let reconcile: Invoke;
let port: number;
const addresses = new Map<string, string>();
const instances: Instance[] = [];

const idOf = (n: number) => `i-0a${n.toString(16).padStart(15, '0')}`;

async function member(n: number): Promise<string> {
  const id = idOf(n);
  const address = `127.0.41.${n}`;
  instances.push(await startInstanceAt(id, address, port));
  addresses.set(id, address);
  return id;
}

/** One launch or terminate of `instanceId` through the lifecycle handler, with a token of its own. */
async function lifecycleOf(kind: 'launch' | 'terminate', instanceId: string): Promise<Summary> {
  const e = lifecycleEvent(kind === 'launch' ? launch : terminate, {
    EC2InstanceId: instanceId,
    LifecycleActionToken: crypto.randomUUID(),
    AutoScalingGroupName: ASG,
  });
  return (await lifecycle(e, lambdaContext(40_000))) as Summary;
}

/** Every server of the backend on one host, by name. */
async function serversOn(h: number): Promise<Map<string, ObservedSlot>> {
  const [o] = await createFleet({ hosts: [(hosts[h] as HaproxyHandle).hostConfig()], timeouts: TIMEOUTS }).observe([
    BE,
  ]);
  if (!o?.ok) throw new Error(`observe failed: ${JSON.stringify(o)}`);
  return new Map((o.backends.get(BE) ?? []).map((s) => [s.server, s]));
}

/** Each active slot is READY at its member on host `h`. */
async function servingOn(h: number, records: readonly SlotRecord[]): Promise<string[]> {
  const servers = await serversOn(h);
  return records
    .filter((r) => r.state === 'active')
    .filter((r) => {
      const s = servers.get(r.slot);
      return s?.admin === 'ready' && s.address === r.address && s.port === r.port && s.statusWord === 'UP';
    })
    .map((r) => r.slot);
}

/** Requests through host `h`'s frontend until every one of `ids` has answered (round robin reaches each in turn). */
async function reachesAll(h: number, ids: readonly string[]): Promise<void> {
  const seen = new Set<string>();
  await waitFor(
    async () => {
      const { status, body } = await httpGet((hosts[h] as HaproxyHandle).frontendPort(BE));
      if (status === 200) seen.add(body);
      return ids.every((id) => seen.has(id));
    },
    { timeoutMs: 10_000, intervalMs: 1, what: `traffic through host ${h + 1} to all of ${ids.length} members` },
  );
}

const TIMEOUTS = { connectMs: 500, commandMs: 3_000 };

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
  const tables = await ddb.createTables(`growth${Date.now()}`);
  port = await freePort();
  hosts = await Promise.all([
    startHaproxy(kitHaproxyOptions('grow-hap1')),
    startHaproxy(kitHaproxyOptions('grow-hap2')),
  ]);
  for (const h of hosts) await waitFor(async () => (await showProc(h)).workers.length === 1, { what: 'master CLI' });
  const config = {
    hosts: hosts.map((h) => h.hostConfig()),
    // The members are on loopback (the only addresses tests may dial); production refuses it by default.
    allowLoopback: true,
    backends: [
      {
        name: BE,
        slotPrefix: KIT_BACKEND.slotPrefix,
        port,
        autoScalingGroups: [ASG],
        drainSeconds: 30,
        healthGate: { enabled: true, timeoutSeconds: 20 },
        maxSlots: MAX_SLOTS,
        // Checks every 200 ms, up after one pass: a dynamic server proves itself fast (template slots: the kit's 2 s).
        dynamicServerOptions: { check: true, inter: 200, rise: 1, fall: 2 },
      },
    ],
    timeouts: { connectMs: 500, commandMs: 3_000, planTtlMs: 300, clockSkewMs: 100, pollMs: 50, drainPollMs: 100 },
    lifecycle: { heartbeatSeconds: 10, hookTimeoutSeconds: 120, launchTimeoutSeconds: 35 },
  };
  handlerEnv({ dynamoPort: ddb.port, slotTable: tables.slotTable, idempotencyTable: tables.idempotencyTable, config });
  store = new DynamoDbSlotStore({ tableName: tables.slotTable, client: ddb.client });
  ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
    const id = input.InstanceIds?.[0] ?? '';
    return { Reservations: [{ Instances: [{ InstanceId: id, PrivateIpAddress: addresses.get(id) }] }] };
  });
  asg.on(RecordLifecycleActionHeartbeatCommand).resolves({});
  asg.on(CompleteLifecycleActionCommand).resolves({});
  lifecycle = (await import('../../../functions/lifecycle/handler.js')).handler as unknown as Invoke;
  reconcile = (await import('../../../functions/reconcile/handler.js')).handler as unknown as Invoke;
}, 90_000);

afterAll(async () => {
  await stopAll(hosts);
  await Promise.all(instances.map((i) => i.close()));
  ec2.restore();
  asg.restore();
  await ddb?.stop();
});

describe('a backend that grows past its server-template without a reload', () => {
  const launched: string[] = [];

  it('serves 10 launches on every host: 4 template slots, then 6 servers added at run time, and no reload', async () => {
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => member(i + 1)));
    const summaries = await Promise.all(ids.map((id) => lifecycleOf('launch', id)));
    launched.push(...ids);
    expect(summaries.map((s) => s.completion)).toEqual(Array(10).fill('CONTINUE'));
    const records = await store.list(BE);
    const active = records.filter((r) => r.state === 'active');
    expect(active).toHaveLength(10);
    expect(active.filter((r) => !r.dynamic).map((r) => r.slot)).toEqual(['web1', 'web2', 'web3', 'web4']);
    expect(active.filter((r) => r.dynamic)).toHaveLength(6);
    expect(records).toHaveLength(MAX_SLOTS);
    for (const h of [0, 1]) {
      expect((await servingOn(h, records)).sort()).toEqual(active.map((r) => r.slot).sort());
      await reachesAll(h, ids);
      expect((await showProc(hosts[h] as HaproxyHandle)).reloads).toBe(0);
    }
  }, 120_000);

  it('adds the 6 dynamic servers back in one reconcile after a host-kit reload dropped them', async () => {
    const host = hosts[0] as HaproxyHandle;
    const [info] = await createFleet({ hosts: [host.hostConfig()], timeouts: TIMEOUTS }).broadcast([showInfo()]);
    const oldWorker = Number(/^Pid: (\d+)$/m.exec(info?.replies[0]?.reply ?? '')?.[1]);
    const reload = await runReloadHelper(reloadArgs(host));
    expect(reload.code, reload.stderr).toBe(0);
    await waitFor(() => parentOf(oldWorker) === undefined, { timeoutMs: 15_000, what: 'the old worker to exit' });
    const records = await store.list(BE);
    const dynamic = records.filter((r) => r.dynamic && r.state === 'active').map((r) => r.slot);
    const after = await serversOn(0);
    // The state file brings the template slots back; dynamic servers are never restored by HAProxy.
    expect([...after.keys()].sort()).toEqual(['web1', 'web2', 'web3', 'web4']);
    expect(dynamic).toHaveLength(6);

    const report = (await reconcile({}, lambdaContext(40_000))) as { failures: unknown[] };
    expect(report.failures).toEqual([]);
    expect((await servingOn(0, records)).sort()).toEqual(
      records
        .filter((r) => r.state === 'active')
        .map((r) => r.slot)
        .sort(),
    );
    await reachesAll(0, launched);
  }, 90_000);

  it('fills maxSlots with 2 more launches and answers the 13th member with no free slot', async () => {
    const more = await Promise.all([member(11), member(12)]);
    const summaries = await Promise.all(more.map((id) => lifecycleOf('launch', id)));
    expect(summaries.map((s) => s.completion)).toEqual(['CONTINUE', 'CONTINUE']);
    launched.push(...more);
    const thirteenth = await member(13);
    const refused = await lifecycleOf('launch', thirteenth);
    expect(refused).toMatchObject({ completion: 'ABANDON', noSlot: [BE] });
    expect(await store.findByMember(BE, thirteenth)).toBeUndefined();
    const records = await store.list(BE);
    expect(records.filter((r) => r.state === 'active')).toHaveLength(MAX_SLOTS);
    for (const h of [0, 1]) expect(await servingOn(h, records)).toHaveLength(MAX_SLOTS);
  }, 90_000);

  it('deletes the dynamic servers of 4 terminated members on every host, keeping every template slot', async () => {
    const records = await store.list(BE);
    const leaving = records.filter((r) => r.dynamic && r.state === 'active').slice(0, 4);
    const summaries = await Promise.all(leaving.map((r) => lifecycleOf('terminate', r.member ?? '')));
    expect(summaries.map((s) => s.completion)).toEqual(Array(4).fill('CONTINUE'));
    const gone = leaving.map((r) => r.slot);
    for (const h of [0, 1]) {
      const servers = await serversOn(h);
      expect(gone.filter((s) => servers.has(s))).toEqual([]);
      expect(['web1', 'web2', 'web3', 'web4'].every((s) => servers.has(s))).toBe(true);
      expect(servers.size).toBe(MAX_SLOTS - 4);
    }
    const after = await store.list(BE);
    expect(after.filter((r) => gone.includes(r.slot)).map((r) => r.state)).toEqual(Array(4).fill('free'));
    const staying = launched.filter((id) => !leaving.some((r) => r.member === id));
    for (const h of [0, 1]) await reachesAll(h, staying);
  }, 90_000);
});
