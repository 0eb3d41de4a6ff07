// The lifecycle Lambda, invoked in-process with real-shaped EventBridge events, against 3 real HAProxy hosts and
// DynamoDB Local; only EC2 and Auto Scaling are faked, at the SDK boundary. The handlers read their environment once
// per file, so the hosts are shared; every test has a backend (and Auto Scaling group) of its own, and launches the
// instances it needs itself: no test depends on another.
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
import launch from '../../fixtures/events/launch.json' with { type: 'json' };
import launchToWarmPool from '../../fixtures/events/launch-ec2-to-warmpool.json' with { type: 'json' };
import launchFromWarmPool from '../../fixtures/events/launch-warmpool-to-asg.json' with { type: 'json' };
import terminate from '../../fixtures/events/terminate.json' with { type: 'json' };
import terminateToWarmPool from '../../fixtures/events/terminate-asg-to-warmpool.json' with { type: 'json' };
import terminateWarm from '../../fixtures/events/terminate-warmpool-to-ec2.json' with { type: 'json' };
import { connectDynamoDbLocal, type DynamoDbLocal } from '../../support/dynamodb-local.js';
import { handlerEnv, lambdaContext, lifecycleEvent } from '../../support/lambda.js';
import { waitFor } from '../../support/wait.js';

const ec2 = mockClient(EC2Client);
const asg = mockClient(AutoScalingClient);

/** The backend of test `n`: `gated` ones health-check their servers and hold new slots in drain until a check passes. */
const BACKENDS = [
  { n: 1, gated: true },
  { n: 2, gated: true },
  { n: 3, gated: true },
  { n: 4, gated: true },
  { n: 5, gated: true },
  { n: 6, gated: true },
  { n: 7, gated: true },
  { n: 8, gated: false, slots: 1 },
  { n: 9, gated: false, slots: 1 },
  { n: 10, gated: true },
  { n: 11, gated: true },
] as const;
const backendOf = (n: number) => `lc${n}`;
const asgOf = (n: number) => `asg-lc${n}`;
/** An instance id of test `t` (17 hex digits after `i-`), and where it listens. */
const idOf = (t: number, k: number) => `i-${t.toString(16).padStart(2, '0')}${k.toString(16).padStart(15, '0')}`;
const addressOf = (t: number, k: number) => `127.0.${20 + t}.${k}`;

let ddb: DynamoDbLocal;
let hosts: HaproxyHandle[];
let store: DynamoDbSlotStore;
let fleet: ReturnType<typeof createFleet>;
let port: number;
type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
let lifecycle: Handler;
let reconcileHandler: Handler;
const addresses = new Map<string, string>();
const started: Instance[] = [];

const token = () => crypto.randomUUID();
const completions = (instanceId: string) =>
  asg
    .commandCalls(CompleteLifecycleActionCommand)
    .filter((c) => c.args[0].input.InstanceId === instanceId)
    .map((c) => c.args[0].input);

/** Instance `k` of test `t`, serving its id at its own address; EC2 knows its address from now on. */
async function instance(t: number, k: number): Promise<string> {
  const id = idOf(t, k);
  started.push(await startInstanceAt(id, addressOf(t, k), port));
  addresses.set(id, addressOf(t, k));
  return id;
}

function event(fixture: Record<string, unknown>, t: number, id: string, lifecycleToken = token()) {
  return lifecycleEvent(fixture, {
    EC2InstanceId: id,
    AutoScalingGroupName: asgOf(t),
    LifecycleActionToken: lifecycleToken,
  });
}

async function slotOf(t: number, member: string) {
  return store.findByMember(backendOf(t), member);
}

/** What each host reports for the slot: address:port and admin state. */
async function onHosts(t: number, slot: string) {
  const backend = backendOf(t);
  const observed = await fleet.observe([backend]);
  return observed.map((o) => {
    if (!o.ok) return { host: o.host, error: o.error.code };
    const s = o.backends.get(backend)?.find((x) => x.server === slot);
    return { host: o.host, endpoint: `${s?.address}:${s?.port}`, admin: s?.admin, sessions: s?.sessions };
  });
}

/** Bodies of `n` requests through every host's frontend of test `t`'s backend. */
async function served(t: number, n = 4): Promise<Set<string>> {
  const bodies = new Set<string>();
  for (const h of hosts) for (let i = 0; i < n; i++) bodies.add((await httpGet(h.frontendPort(backendOf(t)))).body);
  return bodies;
}

/** A launch through the handler that ends with CONTINUE. */
async function launched(t: number, id: string) {
  expect(await lifecycle(event(launch, t, id), lambdaContext(30_000))).toMatchObject({ completion: 'CONTINUE' });
}

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
  const tables = await ddb.createTables(`lc${Date.now()}`);
  port = await freePort();
  hosts = await startFleet(3, {
    backends: BACKENDS.map((b) => ({
      name: backendOf(b.n),
      slotPrefix: `lc${b.n}s`,
      slots: 'slots' in b ? b.slots : 4,
      ...(b.gated ? { check: true, checkInterMs: 200 } : {}),
    })),
  });
  const config = {
    hosts: hosts.map((h) => h.hostConfig()),
    backends: BACKENDS.map((b) => ({
      name: backendOf(b.n),
      slotPrefix: `lc${b.n}s`,
      port,
      autoScalingGroups: [asgOf(b.n)],
      drainSeconds: 30,
      ...(b.gated ? { healthGate: { enabled: true, timeoutSeconds: 20 } } : {}),
    })),
    lifecycle: { onNoSlot: 'ABANDON', heartbeatSeconds: 30 },
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
  reconcileHandler = (await import('../../../functions/reconcile/handler.js')).handler as unknown as Handler;
}, 60_000);

afterEach(async () => {
  await Promise.all(started.splice(0).map((i) => i.close()));
});

afterAll(async () => {
  await stopAll(hosts);
  ec2.restore();
  asg.restore();
  ddb?.client.destroy();
  await ddb?.stop();
});

describe('lifecycle handler', () => {
  it('programs a launched instance on every host behind its first passing check, then completes CONTINUE', async () => {
    const id = await instance(1, 1);
    const launchA = event(launch, 1, id);
    const result = (await lifecycle(launchA, lambdaContext(30_000))) as { completion: string };
    expect(result.completion).toBe('CONTINUE');
    const slot = await slotOf(1, id);
    expect(slot).toMatchObject({ state: 'active', address: addressOf(1, 1), port });
    expect(await onHosts(1, slot?.slot ?? '')).toEqual(
      hosts.map((h) => ({ host: h.name, endpoint: `${addressOf(1, 1)}:${port}`, admin: 'ready', sessions: 0 })),
    );
    expect(await served(1)).toEqual(new Set([id]));
    expect(completions(id)).toEqual([
      expect.objectContaining({
        LifecycleActionResult: 'CONTINUE',
        LifecycleActionToken: (launchA.detail as { LifecycleActionToken: string }).LifecycleActionToken,
      }),
    ]);
  });

  it('does nothing twice for a duplicate delivery of the same lifecycle action', async () => {
    const id = await instance(2, 1);
    const first = event(launch, 2, id);
    expect(await lifecycle(first, lambdaContext(30_000))).toMatchObject({ completion: 'CONTINUE' });
    const duplicate = { ...first, id: crypto.randomUUID() };
    await lifecycle(duplicate, lambdaContext(30_000));
    expect(completions(id)).toHaveLength(1);
    const owners = (await store.list(backendOf(2))).filter((s) => s.member === id);
    expect(owners).toHaveLength(1);
  });

  it('registers nothing for a launch into the warm pool (EC2→WarmPool) and completes CONTINUE', async () => {
    const id = await instance(3, 1);
    expect(await lifecycle(event(launchToWarmPool, 3, id), lambdaContext())).toMatchObject({
      action: 'skip',
      completion: 'CONTINUE',
    });
    expect(await slotOf(3, id)).toBeUndefined();
    expect(completions(id)).toEqual([expect.objectContaining({ LifecycleActionResult: 'CONTINUE' })]);
  });

  it('registers an instance leaving the warm pool (WarmPool→AutoScalingGroup)', async () => {
    const serving = await instance(4, 1);
    await launched(4, serving);
    const id = await instance(4, 2);
    expect(await lifecycle(event(launchFromWarmPool, 4, id), lambdaContext(30_000))).toMatchObject({
      action: 'register',
      completion: 'CONTINUE',
    });
    expect(await slotOf(4, id)).toMatchObject({ state: 'active', address: addressOf(4, 2) });
    await waitFor(async () => (await served(4)).size === 2, { timeoutMs: 5_000, what: 'both instances served' });
    expect(await served(4, 6)).toEqual(new Set([serving, id]));
  });

  it('drains, frees and completes an instance returning to the warm pool (AutoScalingGroup→WarmPool)', async () => {
    const staying = await instance(5, 1);
    const id = await instance(5, 2);
    await launched(5, staying);
    await launched(5, id);
    const slot = (await slotOf(5, id))?.slot ?? '';
    expect(await lifecycle(event(terminateToWarmPool, 5, id), lambdaContext(30_000))).toMatchObject({
      action: 'deregister',
      completion: 'CONTINUE',
    });
    expect((await store.list(backendOf(5))).find((s) => s.slot === slot)).toMatchObject({ state: 'free' });
    expect((await onHosts(5, slot)).map((h) => h.admin)).toEqual(['maint', 'maint', 'maint']);
    expect(await served(5, 6)).toEqual(new Set([staying]));
    expect(completions(id).at(-1)).toMatchObject({ LifecycleActionResult: 'CONTINUE' });
  });

  it('only completes the action for a warm instance being removed (WarmPool→EC2)', async () => {
    const staying = await instance(6, 1);
    await launched(6, staying);
    const before = await store.list(backendOf(6));
    const warm = idOf(6, 2);
    expect(await lifecycle(event(terminateWarm, 6, warm), lambdaContext())).toMatchObject({
      action: 'skip',
      completion: 'CONTINUE',
    });
    expect(await store.list(backendOf(6))).toEqual(before);
    expect(completions(warm)).toEqual([expect.objectContaining({ LifecycleActionResult: 'CONTINUE' })]);
  });

  it('keeps a slot with a request in flight draining past the invocation, and reconcile completes it exactly once', async () => {
    const id = await instance(7, 1);
    await launched(7, id);
    const slot = (await slotOf(7, id))?.slot ?? '';
    const inFlight = httpGet(hosts[0]?.frontendPort(backendOf(7)) ?? 0, '/sleep/4000', 10_000);
    await waitFor(async () => (await onHosts(7, slot))[0]?.sessions === 1, {
      timeoutMs: 3_000,
      what: 'request in flight',
    });
    const terminateToken = token();
    // 4 s left: the handler may wait about 1 s (3 s are kept for its reply), far less than the request needs.
    expect(await lifecycle(event(terminate, 7, id, terminateToken), lambdaContext(4_000))).toMatchObject({
      action: 'deregister',
      completion: 'pending',
    });
    expect(await slotOf(7, id)).toMatchObject({ state: 'draining', lifecycle: { token: terminateToken } });
    const during = await onHosts(7, slot);
    expect(during.map((h) => h.admin)).toEqual(['drain', 'drain', 'drain']);
    expect(during[0]?.sessions).toBe(1);
    expect(completions(id).filter((c) => c.LifecycleActionToken === terminateToken)).toHaveLength(0);

    expect(await inFlight).toEqual({ status: 200, body: id });
    await waitFor(async () => (await onHosts(7, slot)).every((h) => h.sessions === 0), {
      timeoutMs: 5_000,
      what: 'sessions end',
    });
    await reconcileHandler({}, lambdaContext());
    await reconcileHandler({}, lambdaContext());
    expect(await slotOf(7, id)).toBeUndefined();
    expect((await onHosts(7, slot)).map((h) => h.admin)).toEqual(['maint', 'maint', 'maint']);
    expect(completions(id).filter((c) => c.LifecycleActionToken === terminateToken)).toEqual([
      expect.objectContaining({ LifecycleActionResult: 'CONTINUE' }),
    ]);
  });

  it('completes with ABANDON, as configured, when the backend has no free slot', async () => {
    const first = await instance(8, 1);
    const second = await instance(8, 2);
    await launched(8, first);
    expect(await lifecycle(event(launch, 8, second), lambdaContext(30_000))).toMatchObject({
      noSlot: [backendOf(8)],
      completion: 'ABANDON',
    });
    expect(completions(second)).toEqual([expect.objectContaining({ LifecycleActionResult: 'ABANDON' })]);
    expect(await slotOf(8, second)).toBeUndefined();
  });

  it('waits within the invocation for a request in flight, then frees the slot and completes CONTINUE', async () => {
    // The only member of a one-slot backend: every request through its frontend reaches it.
    const id = await instance(9, 1);
    await launched(9, id);
    const slot = (await slotOf(9, id))?.slot ?? '';
    let finishedAt = 0;
    const inFlight = httpGet(hosts[0]?.frontendPort(backendOf(9)) ?? 0, '/sleep/2500', 10_000).then((r) => {
      finishedAt = Date.now();
      return r;
    });
    await waitFor(async () => (await onHosts(9, slot))[0]?.sessions === 1, {
      timeoutMs: 3_000,
      what: 'request in flight',
    });
    const terminateToken = token();
    const result = await lifecycle(event(terminate, 9, id, terminateToken), lambdaContext(30_000));
    const returnedAt = Date.now();
    expect(result).toMatchObject({
      action: 'deregister',
      completion: 'CONTINUE',
      slots: [{ backend: backendOf(9), status: 'released' }],
    });
    expect(await inFlight).toEqual({ status: 200, body: id });
    expect(finishedAt).toBeLessThanOrEqual(returnedAt);
    expect(await slotOf(9, id)).toBeUndefined();
    expect((await onHosts(9, slot)).map((h) => h.admin)).toEqual(['maint', 'maint', 'maint']);
    expect(completions(id).filter((c) => c.LifecycleActionToken === terminateToken)).toEqual([
      expect.objectContaining({ LifecycleActionResult: 'CONTINUE' }),
    ]);
  });

  it('acknowledges, without retrying, when AWS says the lifecycle action is gone', async () => {
    const id = await instance(10, 1);
    asg
      .on(CompleteLifecycleActionCommand, { InstanceId: id })
      .rejects(
        Object.assign(new Error('No active Lifecycle Action found with instance ID'), { name: 'ValidationError' }),
      );
    await expect(lifecycle(event(launch, 10, id), lambdaContext(30_000))).resolves.toMatchObject({
      completion: 'gone',
    });
    expect(completions(id)).toHaveLength(1);
  });

  it('acknowledges a malformed event and changes nothing', async () => {
    await launched(11, await instance(11, 1));
    const before = await store.list(backendOf(11));
    const malformed = event(launch, 11, `i-; set server ${backendOf(11)}/lc11s1 state ready`);
    await expect(lifecycle(malformed, lambdaContext())).resolves.toEqual({ ignored: 'VALIDATION_FAILED' });
    expect(await store.list(backendOf(11))).toEqual(before);
  });
});
