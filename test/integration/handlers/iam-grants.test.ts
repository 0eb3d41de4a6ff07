// Every AWS call the three handlers make is one their execution role allows. The roles come from the generator the
// deployment uses (infra/iam.cjs). DynamoDB calls are read off the wire, through a relay in front of DynamoDB Local;
// EC2, Auto Scaling and SSM calls from their SDK-boundary fakes. Meanwhile the real handlers run their main paths
// (launches as an SQS batch, a terminate, webhook changes, a reconcile pass that repairs a host and heartbeats a
// handed-over launch). The hand-kept list in test/unit/infra/expected-roles.ts cannot notice a new call: this does.
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../../bin/harness/haproxy.js';
import { type Instance, startInstanceAt } from '../../../bin/harness/instances.js';
import { freePort } from '../../../bin/harness/ports.js';
import { setState } from '../../../functions/lib/domain/commands.js';
import { createFleet } from '../../../functions/lib/haproxy/fleet.js';
import { DynamoDbSlotStore } from '../../../functions/lib/slots/dynamodb-store.js';
import launch from '../../fixtures/events/launch.json' with { type: 'json' };
import terminate from '../../fixtures/events/terminate.json' with { type: 'json' };
import { connectDynamoDbLocal, type DynamoDbLocal } from '../../support/dynamodb-local.js';
import { dynamodbRequests } from '../../support/dynamodb-wire.js';
import { type Call, dynamodbCalls, generated, type Json, refused, sdkCalls } from '../../support/iam.js';
import { handlerEnv, lambdaContext, lifecycleEvent, sqsBatch } from '../../support/lambda.js';
import { webhookEvent } from '../../support/webhook-request.js';
import { startWiretap, type Wiretap } from '../../support/wiretap.js';

type Fn = 'lifecycle' | 'webhook' | 'reconcile';
type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

const ec2 = mockClient(EC2Client);
const asg = mockClient(AutoScalingClient);
const ssm = mockClient(SSMClient);
const SECRET = 'whsec_dGVzdC13ZWJob29rLXNlY3JldC1zdGFuZGFyZA==';
const SECRET_PARAMETER = '/slot-sync/test/webhook-secret';
const ROLES: Record<Fn, string> = { lifecycle: 'LifecycleRole', webhook: 'WebhookRole', reconcile: 'ReconcileRole' };
const ids = { a: 'i-00000000000001a01', b: 'i-00000000000001b02', c: 'i-00000000000001c03' };
// c's launch is handed over to reconcile by the test itself (below), as an invocation that ran out of time does.
const addresses: Record<string, string> = { [ids.a]: '127.0.0.61', [ids.b]: '127.0.0.62', [ids.c]: '127.0.0.64' };
const webMember = (port: number) => ({ id: 'deploy-1', address: '127.0.0.63', port });

let ddb: DynamoDbLocal;
let relay: Wiretap;
let hosts: HaproxyHandle[];
let instances: Instance[];
let tables: { slotTable: string; idempotencyTable: string };
let port: number;
let handlers: Record<Fn, Handler>;
/** The DynamoDB requests each function sent, parsed off the wire. */
const sent: Record<Fn, Json[]> = { lifecycle: [], webhook: [], reconcile: [] };
/** The EC2, Auto Scaling and SSM calls each function made. */
const called: Record<Fn, Call[]> = { lifecycle: [], webhook: [], reconcile: [] };
const fakes = [
  ['ec2', ec2],
  ['autoscaling', asg],
  ['ssm', ssm],
] as const;

/** Runs one invocation of `fn`'s handler and files what it sent to DynamoDB under `fn` (invocations never overlap). */
async function as(fn: Fn, event: unknown): Promise<Json> {
  const before = relay.perConnection().map((t) => t.length);
  const counts = fakes.map(([, fake]) => fake.calls().length);
  const out = (await handlers[fn](event, lambdaContext(30_000, fn))) as Json;
  relay.perConnection().forEach((text, i) => {
    sent[fn].push(...dynamodbRequests(text.slice(before[i] ?? 0)));
  });
  fakes.forEach(([service, fake], i) => {
    for (const call of fake.calls().slice(counts[i])) called[fn].push(...callsOf(service, call.args[0] as Json));
  });
  return out;
}

/** The IAM view of one SDK command. */
function callsOf(service: string, command: Json): Call[] {
  return sdkCalls(service, command.constructor.name.replace(/Command$/, ''), command.input as Json);
}

/** Each role's statements, from the deployment's own generator (the stage's params stubbed as osls resolves them). */
async function statements(fn: Fn): Promise<Json[]> {
  const resources = await generated('roles', {
    configParameter: '/slot-sync/test/config',
    webhookSecretParameter: SECRET_PARAMETER,
    autoScalingGroups: ['web-asg'],
  });
  return resources[ROLES[fn]].Properties.Policies[0].PolicyDocument.Statement as Json[];
}

/** The template resource of each table, by its name here. */
const tableId = (name: string) =>
  name === tables.slotTable ? 'SlotTable' : name === tables.idempotencyTable ? 'IdempotencyTable' : name;

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
  tables = await ddb.createTables(`iam${Date.now()}`);
  relay = await startWiretap(ddb.port);
  port = await freePort();
  instances = await Promise.all(
    [...Object.entries(addresses), [webMember(port).id, webMember(port).address]].map(([id, address]) =>
      startInstanceAt(id as string, address as string, port),
    ),
  );
  hosts = await startFleet(2, {
    backends: [{ name: 'web', slotPrefix: 'web', slots: 4, check: true, checkInterMs: 100 }],
  });
  const config = {
    hosts: hosts.map((h) => h.hostConfig()),
    allowLoopback: true,
    backends: [
      {
        name: 'web',
        slotPrefix: 'web',
        port,
        autoScalingGroups: ['web-asg'],
        drainSeconds: 1,
        healthGate: { enabled: true, timeoutSeconds: 20 },
      },
    ],
    lifecycle: { onNoSlot: 'ABANDON', heartbeatSeconds: 30 },
    // The cross-check's table calls too.
    reconcile: { asgCrossCheck: true },
  };
  handlerEnv({ dynamoPort: relay.port, ...tables, config, webhookSecretParameter: SECRET_PARAMETER });
  ssm.on(GetParametersCommand).resolves({
    Parameters: [{ Name: SECRET_PARAMETER, Value: SECRET }],
    InvalidParameters: [],
  });
  ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
    const id = input.InstanceIds?.[0] ?? '';
    return { Reservations: [{ Instances: [{ InstanceId: id, PrivateIpAddress: addresses[id] }] }] };
  });
  asg.on(CompleteLifecycleActionCommand).resolves({});
  asg.on(RecordLifecycleActionHeartbeatCommand).resolves({});
  asg.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: 'web-asg',
        Instances: [
          { InstanceId: ids.b, LifecycleState: 'InService' },
          { InstanceId: ids.c, LifecycleState: 'Pending:Wait' },
        ],
      } as never,
    ],
  });
  handlers = {
    lifecycle: (await import('../../../functions/lifecycle/handler.js')).handler as unknown as Handler,
    webhook: (await import('../../../functions/webhook/handler.js')).handler as unknown as Handler,
    reconcile: (await import('../../../functions/reconcile/handler.js')).handler as unknown as Handler,
  };
}, 60_000);

afterAll(async () => {
  await stopAll(hosts ?? []);
  await Promise.all((instances ?? []).map((i) => i.close()));
  await relay?.close();
  ddb?.client.destroy();
  await ddb?.stop();
});

describe('IAM grants cover every DynamoDB call the handlers make', () => {
  it('runs each function through its main paths', async () => {
    const token = () => crypto.randomUUID();
    const launches = [ids.a, ids.b].map((id) =>
      lifecycleEvent(launch, { EC2InstanceId: id, LifecycleActionToken: token() }),
    );
    const batch = await as('lifecycle', sqsBatch(launches));
    expect(batch).toEqual({ batchItemFailures: [] });
    const gone = await as(
      'lifecycle',
      lifecycleEvent(terminate, { EC2InstanceId: ids.a, LifecycleActionToken: token() }),
    );
    expect(gone).toMatchObject({ action: 'deregister' });

    const m = webMember(port);
    for (const body of [
      { action: 'register', backend: 'web', member: m },
      { action: 'weight', backend: 'web', member: m, weight: 20 },
      { action: 'drain', backend: 'web', member: m },
      { action: 'deregister', backend: 'web', member: m },
    ]) {
      const res = await as('webhook', webhookEvent(body, SECRET));
      expect(res.statusCode, JSON.stringify(body)).toBe(200);
    }

    // A host changed behind the table's back: the scheduled pass puts b's slot back in service. And c's launch, handed
    // over to reconcile (not READY within its invocation) longer ago than the heartbeat period: the pass heartbeats its
    // action, programs the slot, and completes the action once c passes its first check.
    const store = new DynamoDbSlotStore({ tableName: tables.slotTable, client: ddb.client });
    const slot = (await store.findByMember('web', ids.b))?.slot ?? '';
    const c = await store.claim(
      'web',
      { id: ids.c, address: addresses[ids.c] as string, port },
      { weight: 1, owner: 'asg' },
    );
    const ref = { token: token(), hookName: 'launch-hook', asgName: 'web-asg', instanceId: ids.c };
    const handedOver = Date.now() - 301_000;
    await store.apply(
      'web',
      { slot: c.record.slot, member: ids.c },
      { kind: 'launch-pending', now: handedOver, lifecycle: ref, deadline: Date.now() + 600_000 },
    );
    const fleet = createFleet({
      hosts: hosts.map((h) => h.hostConfig()),
      timeouts: { connectMs: 1000, commandMs: 5000 },
    });
    expect((await fleet.broadcast([setState('web', slot, 'maint')])).every((h) => h.ok)).toBe(true);
    const report = await as('reconcile', { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} });
    expect(report).toMatchObject({ failures: [], heartbeats: 1 });
    expect(report.driftFound).toBeGreaterThan(0);
    expect(called.reconcile.map((c) => c.action)).toContain('autoscaling:RecordLifecycleActionHeartbeat');

    // @middy/ssm fetches the webhook's parameters when the handler is built (Lambda's init phase), outside any
    // invocation: those calls are the webhook's by the names they ask for.
    for (const call of ssm.calls()) {
      const { Names = [] } = (call.args[0] as GetParametersCommand).input;
      if (Names.includes(SECRET_PARAMETER)) called.webhook.push(...callsOf('ssm', call.args[0] as Json));
    }
    expect(called.webhook).toContainEqual({ action: 'ssm:GetParameters', resource: `:parameter${SECRET_PARAMETER}` });
    for (const fn of Object.keys(sent) as Fn[]) expect(sent[fn].length, fn).toBeGreaterThan(0);
  });

  it.each(['lifecycle', 'webhook', 'reconcile'] as const)('%s: each call is granted on its table', async (fn) => {
    expect(sent[fn].length, 'the paths above ran').toBeGreaterThan(0);
    expect(
      refused(
        await statements(fn),
        sent[fn].flatMap((r) => dynamodbCalls(r, tableId)),
      ),
    ).toEqual([]);
  });

  it.each(['lifecycle', 'webhook', 'reconcile'] as const)(
    '%s: each EC2, Auto Scaling and SSM call is granted',
    async (fn) => {
      expect(refused(await statements(fn), called[fn])).toEqual([]);
    },
  );
});
