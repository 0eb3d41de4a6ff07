// SQS batches through the real lifecycle handler (issue 10 §2) against 3 real HAProxy hosts behind wiretaps and
// DynamoDB Local: a batch's records share one connection per host at a time, duplicates inside a batch complete once,
// and terminates in one batch drain together, each token completed exactly once.
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../../bin/harness/haproxy.js';
import { httpGet, type Instance, startInstanceAt } from '../../../bin/harness/instances.js';
import { freePort } from '../../../bin/harness/ports.js';
import { createFleet } from '../../../functions/lib/haproxy/fleet.js';
import { DynamoDbSlotStore } from '../../../functions/lib/slots/dynamodb-store.js';
import launch from '../../fixtures/events/launch.json' with { type: 'json' };
import terminate from '../../fixtures/events/terminate.json' with { type: 'json' };
import { connectDynamoDbLocal, type DynamoDbLocal } from '../../support/dynamodb-local.js';
import { handlerEnv, lambdaContext, lifecycleEvent, sqsBatch } from '../../support/lambda.js';
import { waitFor } from '../../support/wait.js';
import { startWiretap, type Wiretap } from '../../support/wiretap.js';

const ec2 = mockClient(EC2Client);
const asg = mockClient(AutoScalingClient);
const N = 8;
const ids = Array.from({ length: N }, (_, i) => `i-0ba${(i + 1).toString(16).padStart(14, '0')}`);
const addresses = new Map(ids.map((id, i) => [id, `127.0.50.${i + 1}`]));

let ddb: DynamoDbLocal;
let hosts: HaproxyHandle[];
let taps: Wiretap[];
let instances: Instance[];
// The port every instance serves on.
let appPort: number;
let store: DynamoDbSlotStore;
let fleet: ReturnType<typeof createFleet>;
type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
let lifecycle: Handler;

const completionsOf = (token: string) =>
  asg
    .commandCalls(CompleteLifecycleActionCommand)
    .filter((c) => c.args[0].input.LifecycleActionToken === token)
    .map((c) => c.args[0].input.LifecycleActionResult);

function event(kind: 'launch' | 'terminate', instanceId: string, token: string, asgName = 'batch-asg') {
  return lifecycleEvent(kind === 'launch' ? launch : terminate, {
    EC2InstanceId: instanceId,
    LifecycleActionToken: token,
    AutoScalingGroupName: asgName,
  });
}

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
  const tables = await ddb.createTables(`batch${Date.now()}`);
  const port = await freePort();
  appPort = port;
  instances = await Promise.all(ids.map((id) => startInstanceAt(id, addresses.get(id) as string, port)));
  hosts = await startFleet(
    3,
    { backends: [{ name: 'batch', slotPrefix: 'b', slots: 16, check: true, checkInterMs: 100 }] },
    'batch-hap',
  );
  taps = await Promise.all(hosts.map((h) => startWiretap(h.statsPort)));
  const config = {
    hosts: hosts.map((h, i) => ({ ...h.hostConfig(), port: taps[i]?.port ?? 0 })),
    // Every member is a loopback address, which the address policy refuses unless told.
    allowLoopback: true,
    backends: [
      {
        name: 'batch',
        slotPrefix: 'b',
        port,
        autoScalingGroups: ['batch-asg'],
        drainSeconds: 20,
        healthGate: { enabled: true, timeoutSeconds: 20 },
      },
      // In the config and the table, not on the hosts: every host refuses to show it.
      { name: 'ghost', slotPrefix: 'g', port, autoScalingGroups: ['ghost-asg'], drainSeconds: 1 },
    ],
    timeouts: { connectMs: 500, commandMs: 3_000, planTtlMs: 300, clockSkewMs: 100, pollMs: 50, drainPollMs: 100 },
    lifecycle: { heartbeatSeconds: 10, hookTimeoutSeconds: 120 },
  };
  handlerEnv({ dynamoPort: ddb.port, slotTable: tables.slotTable, idempotencyTable: tables.idempotencyTable, config });
  store = new DynamoDbSlotStore({ tableName: tables.slotTable, client: ddb.client });
  fleet = createFleet({ hosts: hosts.map((h) => h.hostConfig()), timeouts: { connectMs: 1000, commandMs: 5000 } });
  ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
    const id = input.InstanceIds?.[0] ?? '';
    return { Reservations: [{ Instances: [{ InstanceId: id, PrivateIpAddress: addresses.get(id) }] }] };
  });
  asg.on(CompleteLifecycleActionCommand).resolves({});
  asg.on(RecordLifecycleActionHeartbeatCommand).resolves({});
  lifecycle = (await import('../../../functions/lifecycle/handler.js')).handler as unknown as Handler;
}, 90_000);

afterAll(async () => {
  await Promise.all((taps ?? []).map((t) => t.close()));
  await Promise.all((instances ?? []).map((i) => i.close()));
  await stopAll(hosts);
  ec2.restore();
  asg.restore();
  await ddb?.stop();
});

describe('an SQS batch of lifecycle events', () => {
  it('launches every instance of the batch over one connection per host at a time; a duplicate in the batch completes once', async () => {
    const tokens = ids.map(() => crypto.randomUUID());
    const bodies = ids.map((id, i) => event('launch', id, tokens[i] as string));
    // The same delivery twice in one batch (SQS at-least-once): one completion.
    const batch = sqsBatch([...bodies, bodies[0]]);
    const before = taps.map((t) => t.connections().total);
    const answer = (await lifecycle(batch, lambdaContext(60_000))) as { batchItemFailures: unknown[] };
    expect(answer.batchItemFailures).toEqual([]);
    for (const token of tokens) expect(completionsOf(token)).toEqual(['CONTINUE']);
    const slots = await Promise.all(ids.map(async (id) => (await store.findByMember('batch', id))?.slot));
    expect(new Set(slots).size).toBe(N);
    for (const tap of taps) expect(tap.connections().maxOpen).toBe(1);
    // The records' commands went out together: one connection carried the addresses of several records' slots.
    taps.forEach((tap, i) => {
      const widest = Math.max(
        ...tap
          .perConnection()
          .slice(before[i])
          .map((text) => new Set([...text.matchAll(/set server batch\/(b\d+) addr/g)].map((m) => m[1])).size),
      );
      expect(widest).toBe(N);
    });
    for (const h of hosts) {
      const seen = new Set<string>();
      for (let k = 0; k < 3 * N; k++) seen.add((await httpGet(h.frontendPort('batch'))).body);
      expect(seen).toEqual(new Set(ids));
    }
  });

  it('drains the terminates of one batch together, each token completed exactly once', async () => {
    const leaving = ids.slice(0, 4);
    // A request in flight on one of them keeps its drain going for a while; the others end at once.
    const slot = (await store.findByMember('batch', leaving[0] as string))?.slot ?? '';
    const host = hosts[0] as HaproxyHandle;
    const inFlight: Promise<{ status: number; body: string }>[] = [];
    for (let k = 0; k < 2 * N; k++) inFlight.push(httpGet(host.frontendPort('batch'), '/sleep/1200', 10_000));
    await waitFor(async () => {
      const [o] = await fleet.observe(['batch']);
      return o?.ok && (o.backends.get('batch')?.find((r) => r.server === slot)?.sessions ?? 0) > 0;
    });
    const tokens = leaving.map(() => crypto.randomUUID());
    const slots = await Promise.all(leaving.map(async (id) => (await store.findByMember('batch', id))?.slot ?? ''));
    const sentBefore = (taps[0] as Wiretap).sent().length;
    const answer = (await lifecycle(
      sqsBatch(leaving.map((id, i) => event('terminate', id, tokens[i] as string))),
      lambdaContext(60_000),
    )) as { batchItemFailures: unknown[] };
    expect(answer.batchItemFailures).toEqual([]);
    // Together: every slot of the batch was put in drain before the slow one (sessions in flight) could go to maint.
    const lines = (taps[0] as Wiretap).sent().slice(sentBefore);
    const drainAt = slots.map((s) => lines.findIndex((l) => l.includes(`batch/${s} state drain`)));
    const slowMaintAt = lines.findIndex((l) => l.includes(`batch/${slot} state maint`));
    expect(drainAt.every((i) => i >= 0)).toBe(true);
    expect(slowMaintAt).toBeGreaterThan(Math.max(...drainAt));
    for (const token of tokens) expect(completionsOf(token)).toEqual(['CONTINUE']);
    for (const id of leaving) expect(await store.findByMember('batch', id)).toBeUndefined();
    for (const r of await Promise.all(inFlight)) expect(r.status).toBe(200);
    for (const tap of taps) expect(tap.connections().maxOpen).toBe(1);
    // A redelivery of the whole batch changes nothing and completes nothing again.
    const again = (await lifecycle(
      sqsBatch(leaving.map((id, i) => event('terminate', id, tokens[i] as string))),
      lambdaContext(60_000),
    )) as { batchItemFailures: unknown[] };
    expect(again.batchItemFailures).toEqual([]);
    for (const token of tokens) expect(completionsOf(token)).toEqual(['CONTINUE']);
  });

  it('answers a record whose registration failed inside the gathering alone; the others of it serve', async () => {
    const late = ['i-0bb00000000000001', 'i-0bb00000000000002'];
    const ghost = 'i-0bb00000000000003';
    for (const [i, id] of late.entries()) addresses.set(id, `127.0.50.${20 + i}`);
    addresses.set(ghost, '127.0.50.30');
    instances.push(...(await Promise.all(late.map((id) => startInstanceAt(id, addresses.get(id) as string, appPort)))));
    await store.seed('ghost', ['g1']);
    const tokens = [...late, ghost].map(() => crypto.randomUUID());
    const sentBefore = taps.map((t) => t.perConnection().length);
    const batch = sqsBatch([
      event('launch', late[0] as string, tokens[0] as string),
      event('launch', ghost, tokens[2] as string, 'ghost-asg'),
      event('launch', late[1] as string, tokens[1] as string),
    ]);
    const answer = (await lifecycle(batch, lambdaContext(60_000))) as {
      batchItemFailures: { itemIdentifier: string }[];
    };
    // No host shows the ghost backend: that launch comes again (its claim released), the two others are done.
    expect(answer.batchItemFailures).toEqual([{ itemIdentifier: batch.Records[1]?.messageId }]);
    expect(completionsOf(tokens[0] as string)).toEqual(['CONTINUE']);
    expect(completionsOf(tokens[1] as string)).toEqual(['CONTINUE']);
    expect(completionsOf(tokens[2] as string)).toEqual([]);
    expect(await store.get('ghost', 'g1')).toMatchObject({ state: 'free' });
    const slots = await Promise.all(late.map(async (id) => (await store.findByMember('batch', id))?.slot));
    // The ghost's failure did not split the gathering: both slots were addressed in one batch on every host.
    taps.forEach((tap, i) => {
      const together = tap
        .perConnection()
        .slice(sentBefore[i])
        .some((text) => slots.every((s) => text.includes(`set server batch/${s} addr`)));
      expect(together).toBe(true);
    });
  });
});
