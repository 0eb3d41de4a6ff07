// Every way an instance leaves (issue 14): EC2 Spot warnings, rebalance recommendations and state changes through the
// real lifecycle handler (SQS batches and direct events), against 3 real HAProxy hosts and DynamoDB Local; only EC2
// and Auto Scaling are faked, at the SDK boundary. Every test has backends and instances of its own.
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../../bin/harness/haproxy.js';
import { httpGet, type Instance, startInstanceAt } from '../../../bin/harness/instances.js';
import { freePort } from '../../../bin/harness/ports.js';
import { createFleet } from '../../../functions/lib/haproxy/fleet.js';
import { DynamoDbSlotStore } from '../../../functions/lib/slots/dynamodb-store.js';
import stateChange from '../../fixtures/events/instance-state-change.json' with { type: 'json' };
import launch from '../../fixtures/events/launch.json' with { type: 'json' };
import rebalance from '../../fixtures/events/rebalance-recommendation.json' with { type: 'json' };
import spot from '../../fixtures/events/spot-interruption.json' with { type: 'json' };
import terminate from '../../fixtures/events/terminate.json' with { type: 'json' };
import { connectDynamoDbLocal, type DynamoDbLocal } from '../../support/dynamodb-local.js';
import { handlerEnv, instanceEvent, lambdaContext, lifecycleEvent, sqsBatch } from '../../support/lambda.js';
import { waitFor } from '../../support/wait.js';

const ec2 = mockClient(EC2Client);
const asg = mockClient(AutoScalingClient);

// Backends: one per test, plus a pair that share an ASG for the rebalance settings.
const BACKENDS = ['spot1', 'spot2', 'gone', 'keep', 'leave', 'junk', 'sqs'] as const;
const ASG_OF: Record<string, string> = {
  spot1: 'asg-spot1',
  spot2: 'asg-spot2',
  gone: 'asg-gone',
  keep: 'asg-both',
  leave: 'asg-both',
  junk: 'asg-junk',
  sqs: 'asg-sqs',
};

let ddb: DynamoDbLocal;
let hosts: HaproxyHandle[];
let store: DynamoDbSlotStore;
let fleet: ReturnType<typeof createFleet>;
let port: number;
type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
let lifecycle: Handler;
const addresses = new Map<string, string>();
const started: Instance[] = [];

const idOf = (n: number) => `i-0e${n.toString(16).padStart(15, '0')}`;

async function instance(n: number): Promise<string> {
  const id = idOf(n);
  const address = `127.0.40.${n}`;
  started.push(await startInstanceAt(id, address, port));
  addresses.set(id, address);
  return id;
}

const completions = (instanceId: string, token?: string) =>
  asg
    .commandCalls(CompleteLifecycleActionCommand)
    .filter((c) => c.args[0].input.InstanceId === instanceId)
    .filter((c) => token === undefined || c.args[0].input.LifecycleActionToken === token)
    .map((c) => c.args[0].input.LifecycleActionResult);

function lifecycleOf(kind: 'launch' | 'terminate', instanceId: string, group: string, token = crypto.randomUUID()) {
  return lifecycleEvent(kind === 'launch' ? launch : terminate, {
    EC2InstanceId: instanceId,
    LifecycleActionToken: token,
    AutoScalingGroupName: group,
  });
}

async function launched(n: number, group: string): Promise<string> {
  const id = await instance(n);
  const summary = (await lifecycle(lifecycleOf('launch', id, group), lambdaContext(30_000))) as { completion: string };
  expect(summary.completion).toBe('CONTINUE');
  return id;
}

/** What each host reports for the slot. */
async function onHosts(backend: string, slot: string) {
  return (await fleet.observe([backend])).map((o) => {
    if (!o.ok) return { host: o.host, down: true };
    const s = o.backends.get(backend)?.find((x) => x.server === slot);
    return { host: o.host, endpoint: `${s?.address}:${s?.port}`, admin: s?.admin, sessions: s?.sessions };
  });
}

type Batch = { batchItemFailures: { itemIdentifier: string }[] };
async function viaSqs(events: readonly unknown[], remainingMs = 30_000): Promise<Batch> {
  return (await lifecycle(sqsBatch(events), lambdaContext(remainingMs))) as Batch;
}

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
  const tables = await ddb.createTables(`inst${Date.now()}`);
  port = await freePort();
  hosts = await startFleet(
    3,
    { backends: BACKENDS.map((name) => ({ name, slotPrefix: `${name}s`, slots: 4, check: true, checkInterMs: 100 })) },
    'inst-hap',
  );
  const config = {
    hosts: hosts.map((h) => h.hostConfig()),
    // Every member is a loopback address, which the address policy refuses unless told.
    allowLoopback: true,
    backends: BACKENDS.map((name) => ({
      name,
      slotPrefix: `${name}s`,
      port,
      autoScalingGroups: [ASG_OF[name]],
      drainSeconds: 60,
      ...(name === 'leave' ? { onRebalance: 'drain' } : {}),
    })),
    timeouts: { connectMs: 500, commandMs: 3_000, planTtlMs: 300, clockSkewMs: 100, pollMs: 50, drainPollMs: 100 },
    lifecycle: { heartbeatSeconds: 10, hookTimeoutSeconds: 120, spotMarginSeconds: 5, stateChangeDrainSeconds: 30 },
  };
  handlerEnv({ dynamoPort: ddb.port, slotTable: tables.slotTable, idempotencyTable: tables.idempotencyTable, config });
  store = new DynamoDbSlotStore({ tableName: tables.slotTable, client: ddb.client });
  fleet = createFleet({ hosts: config.hosts, timeouts: { connectMs: 1000, commandMs: 5000 } });
  ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
    const id = input.InstanceIds?.[0] ?? '';
    return { Reservations: [{ Instances: [{ InstanceId: id, PrivateIpAddress: addresses.get(id) }] }] };
  });
  asg.on(CompleteLifecycleActionCommand).resolves({});
  asg.on(RecordLifecycleActionHeartbeatCommand).resolves({});
  lifecycle = (await import('../../../functions/lifecycle/handler.js')).handler as unknown as Handler;
}, 90_000);

afterEach(async () => {
  await Promise.all(started.splice(0).map((i) => i.close()));
});

afterAll(async () => {
  await stopAll(hosts);
  ec2.restore();
  asg.restore();
  await ddb?.stop();
});

describe('every way an instance leaves', () => {
  it('a Spot warning drains the instance at once: the request in flight ends, no new request reaches it, MAINT before the action time', async () => {
    const leaving = await launched(1, 'asg-spot1');
    const slot = (await store.findByMember('spot1', leaving))?.slot ?? '';
    // The only member while the slow request starts, so the request is surely on the leaving instance.
    const inFlight = httpGet(hosts[0]?.frontendPort('spot1') ?? 0, '/sleep/1500', 10_000);
    await waitFor(async () => (await onHosts('spot1', slot))[0]?.sessions === 1, { what: 'the request in flight' });
    const staying = await launched(2, 'asg-spot1');
    // Sent 100 s ago: the action is 20 s away, the drain may last 20 − 5 (margin) = 15 s, not the backend's 60 s.
    const sentAt = new Date(Date.now() - 100_000);
    const actionAt = Date.parse(sentAt.toISOString().replace(/\.\d{3}Z$/, 'Z')) + 120_000;
    const answer = viaSqs([instanceEvent(spot, { 'instance-id': leaving, 'instance-action': 'terminate' }, sentAt)]);
    await waitFor(async () => (await store.findByMember('spot1', leaving))?.state === 'draining', { what: 'draining' });
    const drained = await store.findByMember('spot1', leaving);
    expect(drained).toMatchObject({ drainReason: 'spot-interruption' });
    expect(drained?.drainDeadline).toBeLessThanOrEqual(actionAt - 5_000);
    // The table says draining before the hosts are told (intent first): wait until no host gives the slot new requests.
    await waitFor(async () => (await onHosts('spot1', slot)).every((c) => c.admin === 'drain' || c.admin === 'maint'), {
      what: 'drain on every host',
    });
    // New requests while the old one drains reach only the instance that stays.
    for (const h of hosts)
      for (let i = 0; i < 3; i++) expect((await httpGet(h.frontendPort('spot1'))).body).toBe(staying);
    expect(await inFlight).toEqual({ status: 200, body: leaving });
    expect((await answer).batchItemFailures).toEqual([]);
    expect(Date.now()).toBeLessThan(actionAt);
    expect((await onHosts('spot1', slot)).map((c) => c.admin)).toEqual(['maint', 'maint', 'maint']);
    expect(await store.findByMember('spot1', leaving)).toBeUndefined();
    expect(await store.isRetired('spot1', leaving)).toBe(true);
  });

  it('a warning followed by the ASG terminate hook is one drain and one completion', async () => {
    const id = await launched(3, 'asg-spot2');
    const slot = (await store.findByMember('spot2', id))?.slot ?? '';
    const inFlight = httpGet(hosts[1]?.frontendPort('spot2') ?? 0, '/sleep/1500', 10_000);
    await waitFor(async () => (await onHosts('spot2', slot))[1]?.sessions === 1, { what: 'the request in flight' });
    const warned = viaSqs([instanceEvent(spot, { 'instance-id': id })]);
    const first = await waitFor(async () => {
      const r = await store.findByMember('spot2', id);
      return r?.state === 'draining' ? r : undefined;
    });
    const token = crypto.randomUUID();
    const hooked = lifecycle(lifecycleOf('terminate', id, 'asg-spot2', token), lambdaContext(30_000));
    await waitFor(async () => (await store.findByMember('spot2', id))?.lifecycle?.token === token, {
      what: 'the hook joining the drain',
    });
    // Joined, not restarted: the drain keeps its start and reason and gains the hook's token.
    expect(await store.findByMember('spot2', id)).toMatchObject({
      state: 'draining',
      drainStartedAt: first.drainStartedAt,
      drainReason: 'spot-interruption',
    });
    const [batch, summary] = await Promise.all([warned, hooked]);
    expect((batch as Batch).batchItemFailures).toEqual([]);
    expect((await inFlight).status).toBe(200);
    expect(summary).toMatchObject({ action: 'deregister', slots: [{ backend: 'spot2', slot, status: 'released' }] });
    // The hook's token, completed once (by whichever invocation freed the slot); the launch's own is the other call.
    expect(completions(id, token)).toEqual(['CONTINUE']);
    expect(completions(id)).toEqual(['CONTINUE', 'CONTINUE']);
    expect(await store.findByMember('spot2', id)).toBeUndefined();
  });

  it('a `terminated` notice for an instance that still serves sets MAINT everywhere within one invocation; a later warning does nothing', async () => {
    const id = await launched(4, 'asg-gone');
    const slot = (await store.findByMember('gone', id))?.slot ?? '';
    // A request that would keep a drain going for 8 s: an instance that is gone has no sessions to wait for.
    const inFlight = httpGet(hosts[2]?.frontendPort('gone') ?? 0, '/sleep/8000', 15_000).catch((e: Error) => e);
    await waitFor(async () => (await onHosts('gone', slot))[2]?.sessions === 1, { what: 'the request in flight' });
    const began = Date.now();
    const summary = await lifecycle(
      instanceEvent(stateChange, { 'instance-id': id, state: 'terminated' }),
      lambdaContext(),
    );
    expect(summary).toMatchObject({ effect: 'leaving', slots: [{ backend: 'gone', slot, status: 'released' }] });
    expect(Date.now() - began).toBeLessThan(8_000);
    expect((await onHosts('gone', slot)).map((c) => c.admin)).toEqual(['maint', 'maint', 'maint']);
    expect(await store.get('gone', slot)).toMatchObject({ state: 'free' });
    // Reordered delivery: the Spot warning that preceded it arrives last and changes nothing.
    const before = await store.list('gone');
    const late = await lifecycle(instanceEvent(spot, { 'instance-id': id }), lambdaContext());
    expect(late).toMatchObject({ effect: 'ignored', slots: [] });
    expect(await store.list('gone')).toEqual(before);
    // The instance is gone: its open connection goes with it.
    await Promise.all(started.splice(0).map((i) => i.close()));
    await inFlight;
  });

  it('a rebalance recommendation drains where the backend says `drain` and leaves `ignore` backends serving', async () => {
    const id = await launched(5, 'asg-both');
    const kept = (await store.findByMember('keep', id))?.slot ?? '';
    const left = (await store.findByMember('leave', id))?.slot ?? '';
    const batch = await viaSqs([instanceEvent(rebalance, { 'instance-id': id })]);
    expect(batch.batchItemFailures).toEqual([]);
    expect(await store.findByMember('leave', id)).toBeUndefined();
    expect((await onHosts('leave', left)).map((c) => c.admin)).toEqual(['maint', 'maint', 'maint']);
    expect(await store.findByMember('keep', id)).toMatchObject({ slot: kept, state: 'active' });
    expect((await onHosts('keep', kept)).map((c) => c.admin)).toEqual(['ready', 'ready', 'ready']);
    for (const h of hosts) expect((await httpGet(h.frontendPort('keep'))).body).toBe(id);
  });

  it('malformed and foreign events are acknowledged with a typed outcome and change nothing', async () => {
    const id = await launched(6, 'asg-junk');
    const tableBefore = await store.list('junk');
    const slot = (await store.findByMember('junk', id))?.slot ?? '';
    const hostsBefore = await onHosts('junk', slot);
    const nobody = idOf(0xfff);
    const batch = await viaSqs([
      'not json',
      instanceEvent(spot, { 'instance-id': 'i-NOTANID' }),
      instanceEvent(spot, { 'instance-id': id, 'instance-action': 'explode' }),
      { ...instanceEvent(rebalance, { 'instance-id': id }), source: 'aws.s3' },
      instanceEvent(stateChange, { 'instance-id': id, state: 'running' }),
      instanceEvent(spot, { 'instance-id': nobody }),
    ]);
    expect(batch.batchItemFailures).toEqual([]);
    const direct = await lifecycle(
      { ...instanceEvent(spot, { 'instance-id': id }), source: 'aws.health' },
      lambdaContext(),
    );
    expect(direct).toEqual({ ignored: 'VALIDATION_FAILED' });
    const malformed = await lifecycle(instanceEvent(stateChange, { 'instance-id': id, state: 42 }), lambdaContext());
    expect(malformed).toEqual({ ignored: 'VALIDATION_FAILED' });
    expect(await store.list('junk')).toEqual(tableBefore);
    expect(await onHosts('junk', slot)).toEqual(hostsBefore);
    expect(completions(id)).toEqual(['CONTINUE']);
  });

  it('an SQS batch reports only the record a retry can fix; the others take effect', async () => {
    const good = await instance(7);
    const unknown = idOf(8); // EC2 knows no address for it yet: NOT_FOUND, worth a redelivery
    const events = [lifecycleOf('launch', unknown, 'asg-sqs'), lifecycleOf('launch', good, 'asg-sqs')];
    const batch = sqsBatch(events);
    const answer = (await lifecycle(batch, lambdaContext(30_000))) as Batch;
    expect(answer.batchItemFailures).toEqual([{ itemIdentifier: batch.Records[0]?.messageId }]);
    expect(completions(good)).toEqual(['CONTINUE']);
    expect(completions(unknown)).toEqual([]);
    expect(await store.findByMember('sqs', good)).toMatchObject({ state: 'active' });
    // The redelivery, once EC2 knows the instance, succeeds on the same path.
    started.push(await startInstanceAt(unknown, '127.0.40.8', port));
    addresses.set(unknown, '127.0.40.8');
    const again = (await lifecycle({ Records: [batch.Records[0]] }, lambdaContext(30_000))) as Batch;
    expect(again.batchItemFailures).toEqual([]);
    expect(completions(unknown)).toEqual(['CONTINUE']);
  });
});
