// The lifecycle Lambda, invoked in-process with real-shaped EventBridge events, against 3 real HAProxy hosts and
// DynamoDB Local; only EC2 and Auto Scaling are faked, at the SDK boundary.
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

const ids = {
  a: 'i-0000000000000a001',
  b: 'i-0000000000000b002',
  c: 'i-0000000000000c003',
  d: 'i-0000000000000d004',
  e: 'i-0000000000000e005',
  f: 'i-0000000000000f006',
};
const addresses: Record<string, string> = {
  [ids.a]: '127.0.0.21',
  [ids.b]: '127.0.0.22',
  [ids.d]: '127.0.0.24',
  [ids.e]: '127.0.0.25',
  [ids.f]: '127.0.0.26',
};

// Instances EC2 reports at addresses the address policy refuses (no server listens there: nothing may be sent).
const refusedAddresses: Record<string, string> = {
  'i-0000000000000aa07': '::ffff:169.254.169.254',
  'i-0000000000000aa08': '224.0.0.1',
};

let ddb: DynamoDbLocal;
let hosts: HaproxyHandle[];
let instances: Instance[];
let store: DynamoDbSlotStore;
let fleet: ReturnType<typeof createFleet>;
let port: number;
type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
let lifecycle: Handler;
let reconcileHandler: Handler;

const token = () => crypto.randomUUID();
const completions = (instanceId: string) =>
  asg
    .commandCalls(CompleteLifecycleActionCommand)
    .filter((c) => c.args[0].input.InstanceId === instanceId)
    .map((c) => c.args[0].input);

async function slotOf(backend: string, member: string) {
  return store.findByMember(backend, member);
}

/** What each host reports for the slot: address:port and admin state. */
async function onHosts(backend: string, slot: string) {
  const observed = await fleet.observe([backend]);
  return observed.map((o) => {
    if (!o.ok) return { host: o.host, error: o.error.code };
    const s = o.backends.get(backend)?.find((x) => x.server === slot);
    return { host: o.host, endpoint: `${s?.address}:${s?.port}`, admin: s?.admin, sessions: s?.sessions };
  });
}

/** Bodies of `n` requests through every host's frontend. */
async function served(n = 4): Promise<Set<string>> {
  const bodies = new Set<string>();
  for (const h of hosts) for (let i = 0; i < n; i++) bodies.add((await httpGet(h.frontendPort('web'))).body);
  return bodies;
}

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
  const tables = await ddb.createTables(`lc${Date.now()}`);
  port = await freePort();
  instances = await Promise.all(Object.entries(addresses).map(([id, address]) => startInstanceAt(id, address, port)));
  hosts = await startFleet(3, {
    backends: [
      { name: 'web', slotPrefix: 'web', slots: 4, check: true, checkInterMs: 200 },
      { name: 'tiny', slotPrefix: 'tiny', slots: 1 },
    ],
  });
  const config = {
    hosts: hosts.map((h) => h.hostConfig()),
    // Every member is a loopback address (127.0.0.x), which the address policy refuses unless told.
    allowLoopback: true,
    backends: [
      {
        name: 'web',
        slotPrefix: 'web',
        port,
        autoScalingGroups: ['web-asg'],
        drainSeconds: 30,
        healthGate: { enabled: true, timeoutSeconds: 20 },
      },
      { name: 'tiny', slotPrefix: 'tiny', port, autoScalingGroups: ['tiny-asg'], drainSeconds: 30 },
    ],
    lifecycle: { onNoSlot: 'ABANDON', heartbeatSeconds: 30 },
  };
  handlerEnv({ dynamoPort: ddb.port, slotTable: tables.slotTable, idempotencyTable: tables.idempotencyTable, config });
  store = new DynamoDbSlotStore({ tableName: tables.slotTable, client: ddb.client });
  fleet = createFleet({ hosts: config.hosts, timeouts: { connectMs: 1000, commandMs: 5000 } });
  ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
    const id = input.InstanceIds?.[0] ?? '';
    const address = addresses[id] ?? refusedAddresses[id];
    return { Reservations: [{ Instances: [{ InstanceId: id, PrivateIpAddress: address }] }] };
  });
  asg.on(CompleteLifecycleActionCommand).resolves({});
  asg.on(RecordLifecycleActionHeartbeatCommand).resolves({});
  lifecycle = (await import('../../../functions/lifecycle/handler.js')).handler as unknown as Handler;
  reconcileHandler = (await import('../../../functions/reconcile/handler.js')).handler as unknown as Handler;
}, 60_000);

afterAll(async () => {
  await stopAll(hosts);
  await Promise.all((instances ?? []).map((i) => i.close()));
  ddb?.client.destroy();
  await ddb?.stop();
});

describe('lifecycle handler', () => {
  const launchA = lifecycleEvent(launch, { EC2InstanceId: ids.a, LifecycleActionToken: token() });

  it('programs a launched instance on every host behind its first passing check, then completes CONTINUE', async () => {
    const result = (await lifecycle(launchA, lambdaContext(30_000))) as { completion: string };
    expect(result.completion).toBe('CONTINUE');
    const slot = await slotOf('web', ids.a);
    expect(slot).toMatchObject({ state: 'active', address: '127.0.0.21', port });
    expect(await onHosts('web', slot?.slot ?? '')).toEqual(
      hosts.map((h) => ({ host: h.name, endpoint: `127.0.0.21:${port}`, admin: 'ready', sessions: 0 })),
    );
    expect(await served()).toEqual(new Set([ids.a]));
    expect(completions(ids.a)).toEqual([
      expect.objectContaining({
        LifecycleActionResult: 'CONTINUE',
        LifecycleActionToken:
          launchA.detail && (launchA.detail as { LifecycleActionToken: string }).LifecycleActionToken,
      }),
    ]);
  });

  it.each(Object.entries(refusedAddresses))(
    'claims nothing and sends nothing for %s at %s (address policy), and completes ABANDON (onNoSlot)',
    async (id, address) => {
      const table = await store.list('web');
      const programmed = async () =>
        (await fleet.observe(['web'])).map((o) =>
          o.ok ? o.backends.get('web')?.map((x) => `${x.server} ${x.address}:${x.port} ${x.admin}`) : o.error.code,
        );
      const before = await programmed();
      const event = lifecycleEvent(launch, { EC2InstanceId: id, LifecycleActionToken: token() });
      const result = await lifecycle(event, lambdaContext(30_000));
      const rule = address === '224.0.0.1' ? 'multicast' : 'metadata';
      expect(result).toMatchObject({
        action: 'register',
        completion: 'ABANDON',
        refused: [expect.stringContaining(`address ${address} refused by rule ${rule}`)],
      });
      expect(await store.list('web')).toEqual(table);
      expect(await programmed()).toEqual(before);
      expect(completions(id)).toEqual([expect.objectContaining({ LifecycleActionResult: 'ABANDON' })]);
    },
  );

  it('does nothing twice for a duplicate delivery of the same lifecycle action', async () => {
    const table = await store.list('web');
    const duplicate = { ...launchA, id: crypto.randomUUID() };
    // No idempotency record answers it: the launch runs, finds the member in its slot and its token settled.
    expect(await lifecycle(duplicate, lambdaContext(30_000))).toMatchObject({
      action: 'register',
      completion: 'duplicate',
    });
    expect(completions(ids.a)).toHaveLength(1);
    expect(await store.list('web')).toEqual(table);
    const owners = (await store.list('web')).filter((s) => s.member === ids.a);
    expect(owners).toHaveLength(1);
  });

  it('asks EC2 only for a launch that registers; a failed lookup is the launch’s error, thrown for a redelivery', async () => {
    const describes = () => ec2.commandCalls(DescribeInstancesCommand).length;
    const before = describes();
    const warm = lifecycleEvent(launchToWarmPool, {
      EC2InstanceId: 'i-0badec2000000002',
      LifecycleActionToken: token(),
    });
    expect(await lifecycle(warm, lambdaContext())).toMatchObject({ action: 'skip' });
    expect(describes()).toBe(before);

    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const id = 'i-0badec2000000001';
    ec2.on(DescribeInstancesCommand, { InstanceIds: [id] }).rejects(new Error('RequestLimitExceeded'));
    try {
      const table = await store.list('web');
      // The same delivery twice at once: a launch keeps no idempotency record, so each asks EC2 itself.
      const event = lifecycleEvent(launch, { EC2InstanceId: id, LifecycleActionToken: token() });
      const outcomes = await Promise.allSettled([
        lifecycle(event, lambdaContext(30_000)),
        lifecycle({ ...event, id: crypto.randomUUID() }, lambdaContext(30_000)),
      ]);
      // Throttled: a retry can fix it, so both are thrown for a redelivery; nothing was claimed.
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
      expect(await store.list('web')).toEqual(table);
      expect(ec2.commandCalls(DescribeInstancesCommand, { InstanceIds: [id] }).length).toBe(2);
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('registers nothing for a launch into the warm pool (EC2→WarmPool) and completes CONTINUE', async () => {
    const event = lifecycleEvent(launchToWarmPool, { EC2InstanceId: ids.b, LifecycleActionToken: token() });
    expect(await lifecycle(event, lambdaContext())).toMatchObject({ action: 'skip', completion: 'CONTINUE' });
    expect(await slotOf('web', ids.b)).toBeUndefined();
    expect(completions(ids.b)).toEqual([expect.objectContaining({ LifecycleActionResult: 'CONTINUE' })]);
  });

  const fromWarmPool = lifecycleEvent(launchFromWarmPool, { EC2InstanceId: ids.b, LifecycleActionToken: token() });

  it('registers an instance leaving the warm pool (WarmPool→AutoScalingGroup)', async () => {
    expect(await lifecycle(fromWarmPool, lambdaContext(30_000))).toMatchObject({
      action: 'register',
      completion: 'CONTINUE',
    });
    expect(await slotOf('web', ids.b)).toMatchObject({ state: 'active', address: '127.0.0.22' });
    await waitFor(async () => (await served()).size === 2, { timeoutMs: 5_000, what: 'both instances served' });
    expect(await served(6)).toEqual(new Set([ids.a, ids.b]));
  });

  it('drains, frees and completes an instance returning to the warm pool (AutoScalingGroup→WarmPool)', async () => {
    const slot = (await slotOf('web', ids.b))?.slot ?? '';
    const event = lifecycleEvent(terminateToWarmPool, { EC2InstanceId: ids.b, LifecycleActionToken: token() });
    expect(await lifecycle(event, lambdaContext(30_000))).toMatchObject({
      action: 'deregister',
      completion: 'CONTINUE',
    });
    expect((await store.list('web')).find((s) => s.slot === slot)).toMatchObject({ state: 'free' });
    expect((await onHosts('web', slot)).map((h) => h.admin)).toEqual(['maint', 'maint', 'maint']);
    expect(await served(6)).toEqual(new Set([ids.a]));
    expect(completions(ids.b).at(-1)).toMatchObject({ LifecycleActionResult: 'CONTINUE' });
  });

  it('claims nothing for a launch delivered again after its instance went back to the warm pool', async () => {
    // The instance holds no slot and is not retired (it may come back): only the launch's settled token refuses it.
    const table = await store.list('web');
    const sent = completions(ids.b).length;
    expect(await lifecycle({ ...fromWarmPool, id: crypto.randomUUID() }, lambdaContext(30_000))).toMatchObject({
      action: 'register',
      completion: 'duplicate',
      slots: [],
    });
    expect(await slotOf('web', ids.b)).toBeUndefined();
    expect(await store.list('web')).toEqual(table);
    expect(await served(6)).toEqual(new Set([ids.a]));
    expect(completions(ids.b)).toHaveLength(sent);
  });

  it('only completes the action for a warm instance being removed (WarmPool→EC2)', async () => {
    const before = await store.list('web');
    const event = lifecycleEvent(terminateWarm, { EC2InstanceId: ids.c, LifecycleActionToken: token() });
    expect(await lifecycle(event, lambdaContext())).toMatchObject({ action: 'skip', completion: 'CONTINUE' });
    expect(await store.list('web')).toEqual(before);
  });

  it('keeps a slot with a request in flight draining past the invocation, and reconcile completes it exactly once', async () => {
    const slot = (await slotOf('web', ids.a))?.slot ?? '';
    const inFlight = httpGet(hosts[0]?.frontendPort('web') ?? 0, '/sleep/4000', 10_000);
    await waitFor(async () => (await onHosts('web', slot))[0]?.sessions === 1, {
      timeoutMs: 3_000,
      what: 'request in flight',
    });
    const terminateToken = token();
    const event = lifecycleEvent(terminate, { EC2InstanceId: ids.a, LifecycleActionToken: terminateToken });
    // 4 s left: the handler may wait about 1 s (3 s are kept for its reply), far less than the request needs.
    expect(await lifecycle(event, lambdaContext(4_000))).toMatchObject({ action: 'deregister', completion: 'pending' });
    expect(await slotOf('web', ids.a)).toMatchObject({ state: 'draining', lifecycle: { token: terminateToken } });
    const during = await onHosts('web', slot);
    expect(during.map((h) => h.admin)).toEqual(['drain', 'drain', 'drain']);
    expect(during[0]?.sessions).toBe(1);
    expect(completions(ids.a).filter((c) => c.LifecycleActionToken === terminateToken)).toHaveLength(0);

    expect(await inFlight).toEqual({ status: 200, body: ids.a });
    await waitFor(async () => (await onHosts('web', slot)).every((h) => h.sessions === 0), {
      timeoutMs: 5_000,
      what: 'sessions end',
    });
    await reconcileHandler({}, lambdaContext());
    await reconcileHandler({}, lambdaContext());
    expect(await slotOf('web', ids.a)).toBeUndefined();
    expect((await onHosts('web', slot)).map((h) => h.admin)).toEqual(['maint', 'maint', 'maint']);
    expect(completions(ids.a).filter((c) => c.LifecycleActionToken === terminateToken)).toEqual([
      expect.objectContaining({ LifecycleActionResult: 'CONTINUE' }),
    ]);
  });

  const abandoned = lifecycleEvent(launch, {
    EC2InstanceId: ids.e,
    AutoScalingGroupName: 'tiny-asg',
    LifecycleActionToken: token(),
  });

  it('completes with ABANDON, as configured, when the backend has no free slot', async () => {
    const first = lifecycleEvent(launch, {
      EC2InstanceId: ids.d,
      AutoScalingGroupName: 'tiny-asg',
      LifecycleActionToken: token(),
    });
    expect(await lifecycle(first, lambdaContext(30_000))).toMatchObject({ completion: 'CONTINUE' });
    const second = abandoned;
    expect(await lifecycle(second, lambdaContext(30_000))).toMatchObject({ noSlot: ['tiny'], completion: 'ABANDON' });
    expect(completions(ids.e)).toEqual([expect.objectContaining({ LifecycleActionResult: 'ABANDON' })]);
    expect(await slotOf('tiny', ids.e)).toBeUndefined();
  });

  it('waits within the invocation for a request in flight, then frees the slot and completes CONTINUE', async () => {
    // ids.d is the only member of `tiny` (previous test), so a request through tiny's frontend reaches it.
    const slot = (await slotOf('tiny', ids.d))?.slot ?? '';
    let finishedAt = 0;
    const inFlight = httpGet(hosts[0]?.frontendPort('tiny') ?? 0, '/sleep/2500', 10_000).then((r) => {
      finishedAt = Date.now();
      return r;
    });
    await waitFor(async () => (await onHosts('tiny', slot))[0]?.sessions === 1, {
      timeoutMs: 3_000,
      what: 'request in flight',
    });
    const terminateToken = token();
    const event = lifecycleEvent(terminate, {
      EC2InstanceId: ids.d,
      AutoScalingGroupName: 'tiny-asg',
      LifecycleActionToken: terminateToken,
    });
    const result = await lifecycle(event, lambdaContext(30_000));
    const returnedAt = Date.now();
    expect(result).toMatchObject({
      action: 'deregister',
      completion: 'CONTINUE',
      slots: [{ backend: 'tiny', status: 'released' }],
    });
    expect(await inFlight).toEqual({ status: 200, body: ids.d });
    expect(finishedAt).toBeLessThanOrEqual(returnedAt);
    expect(await slotOf('tiny', ids.d)).toBeUndefined();
    expect((await onHosts('tiny', slot)).map((h) => h.admin)).toEqual(['maint', 'maint', 'maint']);
    expect(completions(ids.d).filter((c) => c.LifecycleActionToken === terminateToken)).toEqual([
      expect.objectContaining({ LifecycleActionResult: 'CONTINUE' }),
    ]);
  });

  it('claims nothing for an abandoned launch delivered again once a slot is free', async () => {
    // The previous test freed tiny's only slot; the ABANDONed instance was never retired (it held no slot).
    expect((await store.list('tiny')).map((s) => s.state)).toEqual(['free']);
    expect(await lifecycle({ ...abandoned, id: crypto.randomUUID() }, lambdaContext(30_000))).toMatchObject({
      completion: 'duplicate',
      slots: [],
    });
    expect((await store.list('tiny')).map((s) => s.state)).toEqual(['free']);
    expect(completions(ids.e)).toEqual([expect.objectContaining({ LifecycleActionResult: 'ABANDON' })]);
  });

  it('acknowledges, without retrying, when AWS says the lifecycle action is gone', async () => {
    asg
      .on(CompleteLifecycleActionCommand, { InstanceId: ids.f })
      .rejects(
        Object.assign(new Error('No active Lifecycle Action found with instance ID'), { name: 'ValidationError' }),
      );
    const event = lifecycleEvent(launch, { EC2InstanceId: ids.f, LifecycleActionToken: token() });
    await expect(lifecycle(event, lambdaContext(30_000))).resolves.toMatchObject({ completion: 'gone' });
    expect(completions(ids.f)).toHaveLength(1);
  });

  it('acknowledges a malformed event and changes nothing', async () => {
    const before = await store.list('web');
    const event = lifecycleEvent(launch, { EC2InstanceId: 'i-; set server web/web1 state ready' });
    await expect(lifecycle(event, lambdaContext())).resolves.toEqual({ ignored: 'VALIDATION_FAILED' });
    expect(await store.list('web')).toEqual(before);
  });
});
