// The ten ways operations used to go wrong where they met (issue "one slot lifecycle"), each through the real
// handlers against 3 real HAProxy hosts (behind wiretaps) and DynamoDB Local; EC2, Auto Scaling and SSM are faked at
// the SDK boundary. Every test has a backend of its own (c1…c10), so no test depends on another. Case 8 (the
// webhook's time budget) needs a slow host and lives in webhook-budget.test.ts.
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { localClient } from '../../../bin/harness/dynamodb-local.js';
import { type HaproxyHandle, startFleet, stopAll } from '../../../bin/harness/haproxy.js';
import { httpGet, type Instance, startInstanceAt } from '../../../bin/harness/instances.js';
import { freePort } from '../../../bin/harness/ports.js';
import type { LifecycleRef } from '../../../functions/lib/domain/types.js';
import { createFleet } from '../../../functions/lib/haproxy/fleet.js';
import { checkPassing } from '../../../functions/lib/plan/health.js';
import { DynamoDbSlotStore } from '../../../functions/lib/slots/dynamodb-store.js';
import type { SlotSyncContext } from '../../../functions/shared/config-middleware.js';
import launch from '../../fixtures/events/launch.json' with { type: 'json' };
import terminate from '../../fixtures/events/terminate.json' with { type: 'json' };
import { connectDynamoDbLocal, type DynamoDbLocal } from '../../support/dynamodb-local.js';
import { handlerEnv, lambdaContext, lifecycleEvent } from '../../support/lambda.js';
import { waitFor } from '../../support/wait.js';
import { webhookEvent } from '../../support/webhook-request.js';
import { startWiretap, type Wiretap } from '../../support/wiretap.js';

const ec2 = mockClient(EC2Client);
const asg = mockClient(AutoScalingClient);
const ssm = mockClient(SSMClient);
const SECRET = 'cases-webhook-secret';
const SECRET_PARAMETER = '/slot-sync/cases/webhook-secret';
const GATED = new Set([5, 10]);
const backendOf = (n: number) => `c${n}`;

type Invoke = (event: unknown, context: Context) => Promise<unknown>;
let ddb: DynamoDbLocal;
let hosts: HaproxyHandle[];
let taps: Wiretap[];
let store: DynamoDbSlotStore;
let fleet: ReturnType<typeof createFleet>;
let port: number;
let lifecycle: Invoke;
let reconcile: Invoke;
let webhook: Invoke & { before: (fn: (request: { context: Context }) => void) => unknown };
let slotTable: string;
/** Replaces the webhook's ports for its next invocations (set by a test, cleared after it). */
let seam: ((context: SlotSyncContext) => void) | undefined;
const addresses = new Map<string, string>();
const started: Instance[] = [];
/** What CompleteLifecycleAction received, with what every host showed for the instance's slot at that moment. */
const completions: {
  token: string;
  instanceId: string;
  result: string;
  servingEverywhere: boolean;
  cells: unknown[];
}[] = [];

/** An instance id of case `c` (17 hex digits after `i-`). */
const idOf = (c: number, n: number) => `i-${c.toString(16).padStart(2, '0')}${n.toString(16).padStart(15, '0')}`;
const addressOf = (c: number, n: number) => `127.0.${10 + c}.${n}`;

async function instance(id: string, address: string, label = id): Promise<Instance> {
  const i = await startInstanceAt(label, address, port);
  started.push(i);
  addresses.set(id, address);
  return i;
}

function ref(instanceId: string, c: number, token = crypto.randomUUID()): LifecycleRef {
  return { token, hookName: 'hook', asgName: `asg-c${c}`, instanceId };
}

function event(kind: 'launch' | 'terminate', r: LifecycleRef) {
  return lifecycleEvent(kind === 'launch' ? launch : terminate, {
    EC2InstanceId: r.instanceId,
    LifecycleActionToken: r.token,
    AutoScalingGroupName: r.asgName,
  });
}

async function hook(body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = (await webhook(webhookEvent(body, SECRET), lambdaContext(25_000))) as {
    statusCode: number;
    body: string;
  };
  return { status: res.statusCode, body: JSON.parse(res.body) };
}

/** Per host: address:port, admin state, sessions and whether its check passes, for one slot. */
async function onHosts(backend: string, slot: string) {
  return (await fleet.observe([backend])).map((o) => {
    if (!o.ok) return { host: o.host, down: true as const };
    const s = o.backends.get(backend)?.find((x) => x.server === slot);
    return {
      host: o.host,
      endpoint: `${s?.address}:${s?.port}`,
      admin: s?.admin,
      sessions: s?.sessions,
      passing: s ? checkPassing(s) : false,
      status: s?.status,
    };
  });
}

/** A launch through the lifecycle handler that must end with CONTINUE; the slot it got. */
async function launched(c: number, id: string): Promise<string> {
  const summary = (await lifecycle(event('launch', ref(id, c)), lambdaContext(30_000))) as { completion: string };
  expect(summary.completion).toBe('CONTINUE');
  return (await store.findByMember(backendOf(c), id))?.slot ?? '';
}

/** A request through host `h`'s frontend of backend `c` that the instance answers after `ms`. */
function slowRequest(c: number, ms: number, h = 0) {
  const done = httpGet((hosts[h] as HaproxyHandle).frontendPort(backendOf(c)), `/sleep/${ms}`, ms + 10_000).then(
    (r) => ({ ...r, at: Date.now() }),
  );
  return done;
}

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
  const tables = await ddb.createTables(`cases${Date.now()}`);
  slotTable = tables.slotTable;
  port = await freePort();
  const specs = Array.from({ length: 10 }, (_, i) => ({
    name: backendOf(i + 1),
    slotPrefix: `c${i + 1}s`,
    slots: i + 1 === 10 ? 24 : 8,
    check: true,
    checkInterMs: 100,
    serverOptions: 'fall 10',
  }));
  // Checks every 100 ms so gates pass quickly, but a check may take 2 s and ten must fail before DOWN: the
  // instances answer on this process's event loop, which 20 concurrent launches (and a loaded CI machine) keep busy.
  hosts = await startFleet(3, { backends: specs, extraDefaults: ['timeout check 2s'] }, 'cases-hap');
  taps = await Promise.all(hosts.map((h) => startWiretap(h.statsPort)));
  const config = {
    hosts: hosts.map((h, i) => ({ ...h.hostConfig(), port: taps[i]?.port ?? 0 })),
    // Every member is a loopback address (127.0.0.x), which the address policy refuses unless told.
    allowLoopback: true,
    backends: specs.map((s, i) => ({
      name: s.name,
      slotPrefix: s.slotPrefix,
      port,
      autoScalingGroups: [`asg-c${i + 1}`],
      drainSeconds: 30,
      ...(GATED.has(i + 1) ? { healthGate: { enabled: true, timeoutSeconds: 20 } } : {}),
    })),
    timeouts: { connectMs: 500, commandMs: 3_000, planTtlMs: 300, clockSkewMs: 100, pollMs: 50, drainPollMs: 100 },
    lifecycle: { heartbeatSeconds: 10, hookTimeoutSeconds: 120, launchTimeoutSeconds: 30 },
  };
  handlerEnv({
    dynamoPort: ddb.port,
    slotTable,
    idempotencyTable: tables.idempotencyTable,
    config,
    webhookSecretParameter: SECRET_PARAMETER,
  });
  store = new DynamoDbSlotStore({ tableName: slotTable, client: ddb.client });
  fleet = createFleet({ hosts: hosts.map((h) => h.hostConfig()), timeouts: { connectMs: 1_000, commandMs: 5_000 } });
  ssm.on(GetParametersCommand).resolves({ Parameters: [{ Name: SECRET_PARAMETER, Value: SECRET }] });
  ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
    const id = input.InstanceIds?.[0] ?? '';
    return { Reservations: [{ Instances: [{ InstanceId: id, PrivateIpAddress: addresses.get(id) }] }] };
  });
  asg.on(RecordLifecycleActionHeartbeatCommand).resolves({});
  asg.on(CompleteLifecycleActionCommand).callsFake(async (input) => {
    // What the hosts show at the moment AWS hears the answer: CONTINUE for a launch must find it in rotation
    // everywhere (admin ready at its own address, and UP: its checks passed). A check that fails *after* the gate
    // passed ("UP 2/3": still serving, one failure seen) counts as serving; the instances answer checks on this
    // process's event loop, which 20 concurrent launches keep busy, so a late check is the test's load, not the gate.
    const backend = config.backends.find((b) => b.autoScalingGroups.includes(input.AutoScalingGroupName))?.name ?? '';
    const slot = (await store.findByMember(backend, input.InstanceId))?.slot;
    const cells = slot ? await onHosts(backend, slot) : [];
    const at = `${addresses.get(input.InstanceId ?? '')}:${port}`;
    const servingEverywhere =
      cells.length > 0 &&
      cells.every((c) => !('down' in c) && c.admin === 'ready' && c.endpoint === at && /^UP\b/.test(c.status ?? ''));
    completions.push({
      token: input.LifecycleActionToken,
      instanceId: input.InstanceId,
      result: input.LifecycleActionResult,
      servingEverywhere,
      cells,
    });
    return {};
  });
  lifecycle = (await import('../../../functions/lifecycle/handler.js')).handler as unknown as Invoke;
  reconcile = (await import('../../../functions/reconcile/handler.js')).handler as unknown as Invoke;
  webhook = (await import('../../../functions/webhook/handler.js')).handler as unknown as typeof webhook;
  // A middy `before` added after the handler's own: it sees (and may replace) the ports configMiddlewares built.
  webhook.before((request) => seam?.(request.context as SlotSyncContext));
}, 90_000);

afterEach(async () => {
  seam = undefined;
  await Promise.all(started.splice(0).map((i) => i.close()));
});

afterAll(async () => {
  await Promise.all((taps ?? []).map((t) => t.close()));
  await stopAll(hosts);
  ec2.restore();
  asg.restore();
  ssm.restore();
  await ddb?.stop();
});

describe('where operations meet', () => {
  it('case 1: re-registering a member at a new address moves its slot, after its open session ended', async () => {
    const old = await instance('m-1', addressOf(1, 1), 'm-1-old');
    const first = await hook({ action: 'register', backend: 'c1', member: { id: 'm-1', address: old.address, port } });
    expect(first.status).toBe(200);
    const slot = (await store.findByMember('c1', 'm-1'))?.slot ?? '';
    const open = slowRequest(1, 1_200);
    await waitFor(async () => (await onHosts('c1', slot))[0]?.sessions === 1, { what: 'the session on host 0' });
    const fresh = await instance('m-1b', addressOf(1, 2), 'm-1-new');
    const moved = await hook({
      action: 'register',
      backend: 'c1',
      member: { id: 'm-1', address: fresh.address, port },
    });
    expect(moved.status).toBe(200);
    expect(moved.body.results).toEqual([expect.objectContaining({ status: 'moved', slot })]);
    const finished = await open;
    expect([finished.status, finished.body]).toEqual([200, 'm-1-old']);
    expect(await store.findByMember('c1', 'm-1')).toMatchObject({ address: fresh.address, port, state: 'active' });
    for (const cell of await onHosts('c1', slot))
      expect(cell).toMatchObject({ endpoint: `${fresh.address}:${port}`, admin: 'ready' });
    // Host 0 had the session: its slot was re-addressed only once the session had ended.
    const addr = (taps[0] as Wiretap)
      .timed()
      .filter((l) => l.line === `set server c1/${slot} addr ${fresh.address} port ${port}`);
    expect(addr.length).toBeGreaterThan(0);
    for (const l of addr) expect(l.at).toBeGreaterThanOrEqual(finished.at - 50);
    expect((await httpGet((hosts[1] as HaproxyHandle).frontendPort('c1'))).body).toBe('m-1-new');
  });

  it('case 2: an operator hold on a member whose terminate drains is refused, and the drain completes its action', async () => {
    const id = idOf(2, 1);
    const inst = await instance(id, addressOf(2, 1));
    await launched(2, id);
    const open = slowRequest(2, 1_500);
    await waitFor(
      async () => (await onHosts('c2', (await store.findByMember('c2', id))?.slot ?? ''))[0]?.sessions === 1,
    );
    const r = ref(id, 2);
    const leaving = lifecycle(event('terminate', r), lambdaContext(30_000));
    await waitFor(async () => (await store.findByMember('c2', id))?.state === 'draining', { what: 'the drain' });
    const held = await hook({ action: 'drain', backend: 'c2', member: { id, address: inst.address, port } });
    expect(held.status).toBe(409);
    expect(held.body.error).toMatchObject({ code: 'MEMBER_LEAVING' });
    expect(await leaving).toMatchObject({ completion: 'CONTINUE' });
    expect((await open).status).toBe(200);
    expect(completions.filter((c) => c.token === r.token).map((c) => c.result)).toEqual(['CONTINUE']);
    expect(await store.findByMember('c2', id)).toBeUndefined();
  });

  it('case 3: `ready` for a terminating member is refused, and no host serves it again', async () => {
    const id = idOf(3, 1);
    const inst = await instance(id, addressOf(3, 1));
    const slot = await launched(3, id);
    const open = slowRequest(3, 1_500);
    await waitFor(async () => (await onHosts('c3', slot))[0]?.sessions === 1);
    const leaving = lifecycle(event('terminate', ref(id, 3)), lambdaContext(30_000));
    await waitFor(async () => (await onHosts('c3', slot)).every((c) => c.admin === 'drain'), {
      what: 'drain everywhere',
    });
    const ready = await hook({ action: 'ready', backend: 'c3', member: { id, address: inst.address, port } });
    expect(ready.status).toBe(409);
    expect(ready.body.error).toMatchObject({ code: 'MEMBER_LEAVING' });
    // New requests find no server: the only member drains, and stays out of traffic until its slot is freed.
    for (const h of hosts) expect((await httpGet(h.frontendPort('c3'))).status).toBe(503);
    for (const cell of await onHosts('c3', slot)) expect(cell.admin).not.toBe('ready');
    await leaving;
    expect((await open).status).toBe(200);
  });

  it('case 4: reconcile heartbeats the lifecycle action of a drain handed over to it, once per period', async () => {
    const id = idOf(4, 1);
    await instance(id, addressOf(4, 1));
    const slot = await launched(4, id);
    const open = slowRequest(4, 2_500);
    await waitFor(async () => (await onHosts('c4', slot))[0]?.sessions === 1);
    const r = ref(id, 4);
    // A terminate whose invocation ran out 20 s ago: intent in the table, sessions still open.
    const now = Date.now();
    await store.apply(
      'c4',
      { member: id },
      { kind: 'terminate', now: now - 20_000, deadline: now + 60_000, lifecycle: r },
    );
    const beats = () =>
      asg
        .commandCalls(RecordLifecycleActionHeartbeatCommand)
        .filter((c) => c.args[0].input.LifecycleActionToken === r.token);
    await reconcile({}, lambdaContext(10_000));
    expect(beats()).toHaveLength(1);
    expect((await store.findByMember('c4', id))?.heartbeatAt).toBeGreaterThanOrEqual(now);
    await reconcile({}, lambdaContext(10_000));
    expect(beats()).toHaveLength(1);
    expect((await open).status).toBe(200);
  });

  it('case 5: one reconcile brings a restarted host back to serving its health-gated slot', async () => {
    const id = idOf(5, 1);
    await instance(id, addressOf(5, 1));
    const slot = await launched(5, id);
    await (hosts[1] as HaproxyHandle).restart();
    expect((await onHosts('c5', slot))[1]).toMatchObject({ admin: 'maint' });
    const summary = (await reconcile({}, lambdaContext(30_000))) as { promoted: number };
    expect(summary.promoted).toBeGreaterThanOrEqual(1);
    expect((await onHosts('c5', slot))[1]).toMatchObject({
      endpoint: `${addressOf(5, 1)}:${port}`,
      admin: 'ready',
      passing: true,
    });
    expect((await httpGet((hosts[1] as HaproxyHandle).frontendPort('c5'))).body).toBe(id);
  });

  it('case 6: a desired member set leaves the Auto Scaling members of its backend alone', async () => {
    const id = idOf(6, 1);
    await instance(id, addressOf(6, 1));
    await launched(6, id);
    await instance('m-6a', addressOf(6, 2));
    const res = await hook({ backend: 'c6', members: [{ id: 'm-6a', address: addressOf(6, 2), port }] });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      expect.objectContaining({ action: 'register', member: 'm-6a', status: 'applied' }),
    ]);
    expect(await store.findByMember('c6', id)).toMatchObject({ state: 'active', owner: 'asg' });
    expect(await store.findByMember('c6', 'm-6a')).toMatchObject({ state: 'active', owner: 'webhook' });
  });

  it('case 7: a hold never lands on the member that took the slot between the lookup and the write', async () => {
    await instance('m-7a', addressOf(7, 1));
    await instance('m-7b', addressOf(7, 2));
    const a = { id: 'm-7a', address: addressOf(7, 1), port };
    expect((await hook({ action: 'register', backend: 'c7', member: a })).status).toBe(200);
    const slot = (await store.findByMember('c7', 'm-7a'))?.slot ?? '';
    const others = new Set((await store.list('c7')).map((s) => s.slot).filter((s) => s !== slot));
    // The webhook's store: its first write to the slot is preceded by a release and a reclaim by m-7b.
    const racing = localClient(ddb.endpoint);
    let raced = false;
    racing.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: { sk?: string } };
        if (!raced && context.commandName === 'UpdateItemCommand' && input.Key?.sk === `slot#${slot}`) {
          raced = true;
          await store.apply('c7', { member: 'm-7a' }, { kind: 'release' });
          await store.claim(
            'c7',
            { id: 'm-7b', address: addressOf(7, 2), port },
            { weight: 1, owner: 'webhook', avoid: others },
          );
        }
        return next(args);
      },
      { step: 'initialize', name: 'raceTheHold' },
    );
    seam = (context) => {
      context.deps = { ...context.deps, store: new DynamoDbSlotStore({ tableName: slotTable, client: racing }) };
    };
    const held = await hook({ action: 'maint', backend: 'c7', member: a });
    expect(raced).toBe(true);
    expect(held.status).toBe(404);
    expect(await store.findByMember('c7', 'm-7b')).toMatchObject({ slot, state: 'active' });
    expect(await store.findByMember('c7', 'm-7a')).toBeUndefined();
    racing.destroy();
  });

  it('case 9: two concurrent launches into a fresh, unseeded backend of 8 slots both get a slot', async () => {
    // Fresh: whatever an earlier reconcile seeded for c9 is removed, so this test starts from an unseeded backend.
    for (const s of await store.list('c9'))
      await ddb.client.send(new DeleteCommand({ TableName: slotTable, Key: { pk: 'c9', sk: `slot#${s.slot}` } }));
    expect(await store.list('c9')).toEqual([]);
    const ids = [idOf(9, 1), idOf(9, 2)];
    await Promise.all(ids.map((id, i) => instance(id, addressOf(9, i + 1))));
    const refs = ids.map((id) => ref(id, 9));
    const summaries = (await Promise.all(refs.map((r) => lifecycle(event('launch', r), lambdaContext(30_000))))) as {
      completion: string;
    }[];
    expect(summaries.map((s) => s.completion)).toEqual(['CONTINUE', 'CONTINUE']);
    const slots = await Promise.all(ids.map(async (id) => (await store.findByMember('c9', id))?.slot));
    expect(new Set(slots).size).toBe(2);
    expect(await store.list('c9')).toHaveLength(8);
  });

  it('case 10: under 20 concurrent launches every CONTINUE comes only once the slot is READY everywhere', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => idOf(10, i + 1));
    await Promise.all(ids.map((id, i) => instance(id, addressOf(10, i + 1))));
    const refs = ids.map((id) => ref(id, 10));
    const summaries = (await Promise.all(refs.map((r) => lifecycle(event('launch', r), lambdaContext(30_000))))) as {
      completion: string;
    }[];
    expect(summaries.map((s) => s.completion)).toEqual(Array(20).fill('CONTINUE'));
    const mine = completions.filter((c) => refs.some((r) => r.token === c.token));
    expect(mine).toHaveLength(20);
    expect(mine.filter((c) => !c.servingEverywhere)).toEqual([]);
  });
});
