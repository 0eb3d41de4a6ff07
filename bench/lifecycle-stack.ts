// The real lifecycle Lambda in-process: DynamoDB Local, real HAProxy hosts, EC2/Auto Scaling faked at the SDK boundary.
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { type DynamoDbLocal, startDynamoDbLocal } from '../bin/harness/dynamodb-local.js';
import { type BackendSpec, type HaproxyHandle, startFleet, stopAll } from '../bin/harness/haproxy.js';
import type { BackendConfig } from '../functions/lib/config.js';
import { createFleet } from '../functions/lib/haproxy/fleet.js';
import type { HaproxyFleet } from '../functions/lib/ports.js';
import type { ServiceDeps } from '../functions/lib/services/deps.js';
import { DynamoDbSlotStore } from '../functions/lib/slots/dynamodb-store.js';
import type { SlotSyncContext } from '../functions/shared/config-middleware.js';
import { handlerEnv } from '../test/support/lambda.js';

/** The lifecycle handler as the benchmarks call it. */
export type LifecycleHandler = (event: unknown, context: Context) => Promise<unknown>;

/** Replaces the ports the handler built for one invocation (timing decorators, an instrumented SDK client). */
export type DepsSeam = (deps: ServiceDeps, context: Context) => ServiceDeps;

/** A running stack: the handler, and the bench's own store and fleet over the same table and hosts for checks. */
export interface LifecycleStack {
  readonly handler: LifecycleHandler;
  readonly hosts: readonly HaproxyHandle[];
  readonly ddb: DynamoDbLocal;
  readonly slotTable: string;
  readonly store: DynamoDbSlotStore;
  readonly fleet: HaproxyFleet;
  /** Every CompleteLifecycleAction the handler sent, with when (performance.now()). */
  readonly completions: { readonly token: string; readonly result: string; readonly at: number }[];
  /** Set to decorate the ports of the invocations that follow; undefined = the handler's own ports. */
  seam?: DepsSeam;
  stop(): Promise<void>;
}

/** Starts everything, sets the env the deployed function gets, and imports the real handler once (it reads env once). */
export async function startLifecycleStack(options: {
  readonly hosts: number;
  readonly specs: readonly BackendSpec[];
  readonly backends: readonly Partial<BackendConfig>[];
  /** Instance id → private address, as EC2 DescribeInstances answers. */
  readonly addressOf: (instanceId: string) => string | undefined;
}): Promise<LifecycleStack> {
  // Logs and metrics go to stdout in Lambda; here stdout carries the JSON result, and 200 log lines add nothing.
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  let hosts: HaproxyHandle[] = [];
  let ddb: DynamoDbLocal | undefined;
  const ec2 = mockClient(EC2Client);
  const asg = mockClient(AutoScalingClient);
  try {
    [hosts, ddb] = await Promise.all([
      startFleet(options.hosts, { backends: options.specs }, 'lc-hap'),
      startDynamoDbLocal(),
    ]);
    const tables = await ddb.createTables(`lc${Date.now()}`);
    const config = {
      hosts: hosts.map((h) => h.hostConfig()),
      // Every member is a loopback address (127.0.0.x), which the address policy refuses unless told.
      allowLoopback: true,
      backends: options.backends,
      lifecycle: { onNoSlot: 'ABANDON', heartbeatSeconds: 60 },
    };
    handlerEnv({
      dynamoPort: ddb.port,
      slotTable: tables.slotTable,
      idempotencyTable: tables.idempotencyTable,
      config,
    });
    ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
      const id = input.InstanceIds?.[0] ?? '';
      return { Reservations: [{ Instances: [{ InstanceId: id, PrivateIpAddress: options.addressOf(id) }] }] };
    });
    const completions: LifecycleStack['completions'] = [];
    asg.on(CompleteLifecycleActionCommand).callsFake((input) => {
      completions.push({
        token: input.LifecycleActionToken ?? '',
        result: input.LifecycleActionResult ?? '',
        at: performance.now(),
      });
      return {};
    });
    asg.on(RecordLifecycleActionHeartbeatCommand).resolves({});
    const mod = await import('../functions/lifecycle/handler.js');
    const stack: LifecycleStack = {
      handler: mod.handler as unknown as LifecycleHandler,
      hosts,
      ddb,
      slotTable: tables.slotTable,
      completions,
      store: new DynamoDbSlotStore({ tableName: tables.slotTable, client: ddb.client }),
      fleet: createFleet({ hosts: config.hosts, timeouts: { connectMs: 1_000, commandMs: 10_000 } }),
      async stop() {
        ec2.restore();
        asg.restore();
        await stopAll(hosts);
        await ddb?.stop();
      },
    };
    // The seam: a middy `before` added after the handler's own, so it sees the ports configMiddlewares built.
    mod.handler.before((request) => {
      const context = request.context as SlotSyncContext;
      if (stack.seam) context.deps = stack.seam(context.deps, context);
    });
    return stack;
  } catch (error) {
    ec2.restore();
    asg.restore();
    await stopAll(hosts);
    await ddb?.stop();
    throw error;
  }
}
