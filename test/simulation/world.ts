// Simulation world: 3 real HAProxy hosts behind inspecting relays, DynamoDB Local, the real handlers in-process,
// member servers on loopback, a background load, and AWS faked at the SDK boundary. One world, reset per sequence.
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { localClient } from '../../bin/harness/dynamodb-local.js';
import { type HaproxyHandle, startFleet, stopAll } from '../../bin/harness/haproxy.js';
import { httpGet } from '../../bin/harness/instances.js';
import { freePort } from '../../bin/harness/ports.js';
import { type ConfigDocument, parseConfig } from '../../functions/lib/config.js';
import { createFleet } from '../../functions/lib/haproxy/fleet.js';
import type { HaproxyFleet } from '../../functions/lib/ports.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import type { SlotSyncContext } from '../../functions/shared/config-middleware.js';
import { injectDynamoDbFaults } from '../faults/support/dynamodb-faults.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { handlerEnv } from '../support/lambda.js';
import { seededRandom } from '../support/random.js';
import { type InFlight, killableDeps } from './faults.js';
import { type SimInstance, startSimInstance } from './instances.js';
import { type InspectingRelay, startInspectingRelay } from './relay.js';

// A Standard Webhooks secret: every call gets its own webhook-id, so equal bodies in one second are distinct requests.
export const SECRET = `whsec_${Buffer.from('simulation-secret').toString('base64')}`;
const SECRET_PARAMETER = '/slot-sync/sim/webhook-secret';
export const ASG = 'sim-asg';
/** Instances i-1…i-8 (Auto Scaling, both backends) and deploy-tool members m-1…m-6 (backend app, two addresses). */
export const INSTANCES = Array.from({ length: 8 }, (_, i) => `i-${(i + 1).toString(16).padStart(17, '0')}`);
export const MEMBERS = Array.from({ length: 6 }, (_, i) => `m-${i + 1}`);
/** Slots of backend app: 8 (fewer than the instances and members that may want one) unless SIM_APP_SLOTS says. */
const APP_SLOTS = Number(process.env.SIM_APP_SLOTS ?? 8);
if (!Number.isInteger(APP_SLOTS) || APP_SLOTS < 1 || APP_SLOTS > 512)
  throw new Error(`SIM_APP_SLOTS must be an integer from 1 to 512, got ${process.env.SIM_APP_SLOTS}`);

/** What one invocation is told to suffer, and the container it runs in. */
export interface Faults {
  /** Epoch ms at which the invocation's ports stop answering (a Lambda timeout at a random point). */
  readonly killAt?: number;
  /** The store's DynamoDB calls throttle and conflict (the SDK and the store retry). */
  readonly throttle?: boolean;
  /** The HAProxy connections of the container this invocation runs in (see Containers). */
  readonly fleet?: HaproxyFleet;
}

/**
 * Lambda runs one invocation per container at a time: invocations at once are in different containers, each with its
 * own HAProxy lanes (haproxy/lane.ts), and a container is warm again once its invocation is over. The handlers build
 * their fleet once per process, so without this every concurrent invocation of a step would share one lane per host
 * and queue its exchanges behind another's, a wait no deployment has, which can carry an invocation past its deadline.
 * A container whose invocation ran into its deadline is not reused (Lambda replaces a timed-out sandbox).
 */
export interface Containers {
  lease(): { readonly fleet: HaproxyFleet; release(reusable: boolean): void };
}

function containers(make: () => HaproxyFleet): Containers {
  const idle: HaproxyFleet[] = [];
  return {
    lease() {
      const fleet = idle.pop() ?? make();
      return { fleet, release: (reusable) => void (reusable && idle.push(fleet)) };
    },
  };
}

export type Invoke = (event: unknown, context: Context) => Promise<unknown>;
type Seamed = Invoke & { before: (fn: (request: { context: Context }) => void) => unknown };

/** Everything one sequence runs against. */
export interface World {
  readonly config: ConfigDocument;
  readonly hosts: readonly HaproxyHandle[];
  readonly relays: readonly InspectingRelay[];
  readonly store: DynamoDbSlotStore;
  /** A fleet straight to the hosts (no relay), for the checks. */
  readonly fleet: ReturnType<typeof createFleet>;
  readonly port: number;
  readonly addresses: ReadonlyMap<string, readonly string[]>;
  readonly servers: ReadonlyMap<string, SimInstance>;
  readonly handlers: { readonly lifecycle: Seamed; readonly webhook: Seamed; readonly reconcile: Seamed };
  readonly asg: { resetHistory(): void };
  readonly slotTable: string;
  readonly ddb: DynamoDbLocal;
  /** Calls of cut-off invocations still under way. */
  readonly inflight: InFlight;
  /** The Lambda containers the handlers' invocations run in (their HAProxy connections). */
  readonly containers: Containers;
  /** Invocations that answered 504 DEADLINE_EXCEEDED (their work outlasted them), counted for the summary line. */
  readonly deadlines: { count: number };
  /** Called with every CompleteLifecycleAction as AWS receives it (the checks judge it there). */
  onComplete?: (input: { token: string; instanceId: string; result: string }) => Promise<void>;
  load: boolean;
  /** Tokens AWS has accepted a completion for. */
  readonly completed: Set<string>;
  stop(): Promise<void>;
}

const SIM_KEY = Symbol('sim');
/** Attaches faults to a Lambda context; the handlers' seam reads them. */
export function withFaults(context: Context, faults: Faults): Context {
  return Object.assign(context, { [SIM_KEY]: faults });
}

export async function startWorld(): Promise<World> {
  const ddb = await connectDynamoDbLocal();
  const tables = await ddb.createTables(`sim${process.pid}x${Date.now()}`);
  const port = await freePort();
  const addresses = new Map<string, string[]>([
    ...INSTANCES.map((id, i): [string, string[]] => [id, [`127.0.20.${i + 1}`]]),
    ...MEMBERS.map((id, i): [string, string[]] => [id, [`127.0.21.${i + 1}`, `127.0.22.${i + 1}`]]),
  ]);
  const servers = new Map<string, SimInstance>();
  for (const [id, list] of addresses)
    for (const a of list) servers.set(a, await startSimInstance(a, port, `${id}@${a}`));
  const hosts = await startFleet(
    3,
    {
      backends: [
        // rise 1: a new instance passes on its first check; fall 3 and a 1 s check timeout: a busy 2-core machine
        // does not flap a healthy one DOWN (its health is the instance's business, not the lifecycle's).
        { name: 'web', slotPrefix: 'web', slots: 6, check: true, checkInterMs: 100, serverOptions: 'rise 1 fall 3' },
        // SIM_APP_SLOTS=96 leaves 64 or more free even with all 14 instances and members in: app's claims then take
        // the striped pick of a long free list (slots/free-slots.ts).
        { name: 'app', slotPrefix: 'app', slots: APP_SLOTS },
      ],
      extraDefaults: ['timeout check 1s'],
    },
    'sim-hap',
  );
  const relays = await Promise.all(hosts.map((h) => startInspectingRelay(h.statsPort)));
  const document = {
    hosts: hosts.map((h, i) => ({ ...h.hostConfig(), port: relays[i]?.port ?? 0 })),
    // Every member is a loopback address (127.0.0.x), which the address policy refuses unless told.
    allowLoopback: true,
    backends: [
      {
        name: 'web',
        slotPrefix: 'web',
        port,
        autoScalingGroups: [ASG],
        drainSeconds: 1,
        healthGate: { enabled: true, timeoutSeconds: 3 },
        onRebalance: 'drain',
      },
      { name: 'app', slotPrefix: 'app', port, autoScalingGroups: [ASG], drainSeconds: 1, onRebalance: 'drain' },
    ],
    timeouts: { connectMs: 100, commandMs: 1_000, planTtlMs: 100, clockSkewMs: 50, pollMs: 25, drainPollMs: 50 },
    lifecycle: {
      onNoSlot: 'ABANDON',
      heartbeatSeconds: 10,
      hookTimeoutSeconds: 120,
      launchTimeoutSeconds: 5,
      stateChangeDrainSeconds: 1,
      spotMarginSeconds: 10,
    },
    quorum: 'all',
  };
  const config = parseConfig(document);
  handlerEnv({
    dynamoPort: ddb.port,
    slotTable: tables.slotTable,
    idempotencyTable: tables.idempotencyTable,
    config: document,
    webhookSecretParameter: SECRET_PARAMETER,
  });
  process.env.POWERTOOLS_LOG_LEVEL = process.env.SIM_LOG_LEVEL ?? 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const ec2 = mockClient(EC2Client);
  const asg = mockClient(AutoScalingClient);
  const ssm = mockClient(SSMClient);
  ssm.on(GetParametersCommand).resolves({ Parameters: [{ Name: SECRET_PARAMETER, Value: SECRET }] });
  ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
    const id = input.InstanceIds?.[0] ?? '';
    return { Reservations: [{ Instances: [{ InstanceId: id, PrivateIpAddress: addresses.get(id)?.[0] }] }] };
  });
  asg.on(RecordLifecycleActionHeartbeatCommand).resolves({});
  const store = new DynamoDbSlotStore({ tableName: tables.slotTable, client: ddb.client });
  const faulty = localClient(ddb.endpoint);
  injectDynamoDbFaults(faulty, {
    throttle: 0.15,
    transactionConflict: 0.2,
    writeConflict: 0.2,
    random: seededRandom(9),
  });
  const throttled = new DynamoDbSlotStore({ tableName: tables.slotTable, client: faulty });
  const inflight: InFlight = { count: 0 };
  const imports = await Promise.all([
    import('../../functions/lifecycle/handler.js'),
    import('../../functions/webhook/handler.js'),
    import('../../functions/reconcile/handler.js'),
  ]);
  const [lifecycle, webhook, reconcile] = imports.map((m) => m.handler as unknown as Seamed) as [
    Seamed,
    Seamed,
    Seamed,
  ];
  // The seam: a middy `before` after the handler's own, replacing the ports it built for this invocation.
  for (const h of [lifecycle, webhook, reconcile]) {
    h.before((request) => {
      const context = request.context as SlotSyncContext & { [SIM_KEY]?: Faults };
      const faults = context[SIM_KEY];
      if (!faults) return;
      let deps = context.deps;
      if (faults.fleet) deps = { ...deps, fleet: faults.fleet };
      if (faults.throttle) deps = { ...deps, store: throttled };
      if (faults.killAt !== undefined) deps = killableDeps(deps, faults.killAt, inflight);
      context.deps = deps;
    });
  }
  const fleet = createFleet({
    hosts: hosts.map((h) => h.hostConfig()),
    timeouts: { connectMs: 500, commandMs: 3_000 },
  });
  const pool = containers(() => createFleet({ hosts: config.hosts, timeouts: config.timeouts }));
  const world: World = {
    config,
    hosts,
    relays,
    store,
    fleet,
    port,
    addresses,
    servers,
    handlers: { lifecycle, webhook, reconcile },
    asg,
    slotTable: tables.slotTable,
    ddb,
    inflight,
    containers: pool,
    deadlines: { count: 0 },
    load: false,
    completed: new Set(),
    async stop() {
      world.load = false;
      clearInterval(loader);
      await Promise.all(relays.map((r) => r.close()));
      await stopAll(hosts);
      for (const s of servers.values()) await s.close();
      ec2.restore();
      asg.restore();
      ssm.restore();
      faulty.destroy();
      await ddb.stop();
    },
  };
  // Like AWS: a lifecycle action completes once; after that it is gone ("No active Lifecycle Action").
  asg.on(CompleteLifecycleActionCommand).callsFake(async (input) => {
    if (world.completed.has(input.LifecycleActionToken)) {
      throw Object.assign(new Error(`No active Lifecycle Action found with token ${input.LifecycleActionToken}`), {
        name: 'ValidationError',
      });
    }
    world.completed.add(input.LifecycleActionToken);
    await world.onComplete?.({
      token: input.LifecycleActionToken,
      instanceId: input.InstanceId,
      result: input.LifecycleActionResult,
    });
    return {};
  });
  // Background traffic: a fresh connection to a random host's frontend every few ms, so drains have something to
  // wait for and "no request after its terminate" has requests that could break it.
  const frontends = hosts.flatMap((h) => ['web', 'app'].map((b) => h.frontendPort(b)));
  let n = 0;
  const loader = setInterval(() => {
    if (!world.load) return;
    const target = frontends[n++ % frontends.length] as number;
    httpGet(target, '/load', 2_000).catch(() => undefined);
  }, 20);
  return world;
}

/** Starts a sequence from scratch: every host restarted (no runtime state), an empty slot table, fresh logs. */
export async function resetWorld(world: World): Promise<void> {
  world.load = false;
  await Promise.all(world.hosts.map((h) => h.restart()));
  let start: Record<string, unknown> | undefined;
  do {
    const page = await world.ddb.client.send(
      new ScanCommand({ TableName: world.slotTable, ExclusiveStartKey: start, ProjectionExpression: 'pk, sk' }),
    );
    await Promise.all(
      (page.Items ?? []).map((item) =>
        world.ddb.client.send(new DeleteCommand({ TableName: world.slotTable, Key: { pk: item.pk, sk: item.sk } })),
      ),
    );
    start = page.LastEvaluatedKey;
  } while (start);
  for (const s of world.servers.values()) s.reset();
  for (const r of world.relays) r.reset();
  world.asg.resetHistory();
  world.completed.clear();
}
