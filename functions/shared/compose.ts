// The one composition root: config + environment (+ optional clients) → every port the services need.
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { AutoScalingLifecycleActions } from '../lib/adapters/autoscaling.js';
import { Ec2Instances } from '../lib/adapters/ec2.js';
import { systemClock } from '../lib/clock.js';
import type { ConfigDocument, Env } from '../lib/config.js';
import { createFleet } from '../lib/haproxy/fleet.js';
import type { Clock, HaproxyFleet } from '../lib/ports.js';
import { type ServiceDeps, type ServiceLog, silentLog } from '../lib/services/deps.js';
import { DynamoDbSlotStore } from '../lib/slots/dynamodb-store.js';

/** SDK clients to use instead of fresh ones (the CLI closes its own; tests point them at DynamoDB Local). */
export interface Clients {
  readonly dynamodb?: DynamoDBClient;
  readonly autoScaling?: AutoScalingClient;
  readonly ec2?: EC2Client;
}

export interface ComposeInput {
  readonly config: Readonly<ConfigDocument>;
  readonly env: Pick<Env, 'SLOT_TABLE'>;
  readonly clients?: Clients;
  /** Another fleet than the config's hosts over TCP (the CLI on a host talks to its unix socket). */
  readonly fleet?: HaproxyFleet;
  readonly log?: ServiceLog;
  readonly clock?: Clock;
}

/**
 * Builds the ports for the Lambdas, the CLI, the benchmarks and the local stack alike. SDK clients read their
 * endpoints from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>` variables, so the same code runs against local stand-ins.
 */
export function createDeps(input: ComposeInput): ServiceDeps {
  const clients = input.clients ?? {};
  return {
    store: new DynamoDbSlotStore({
      tableName: input.env.SLOT_TABLE,
      client: withoutCallLog(clients.dynamodb ?? new DynamoDBClient({})),
    }),
    fleet: input.fleet ?? createFleet({ hosts: input.config.hosts, timeouts: input.config.timeouts }),
    clock: input.clock ?? systemClock,
    lifecycle: new AutoScalingLifecycleActions({
      client: withoutCallLog(clients.autoScaling ?? new AutoScalingClient({})),
    }),
    instances: new Ec2Instances({ client: withoutCallLog(clients.ec2 ?? new EC2Client({})) }),
    log: input.log ?? silentLog,
  };
}

/** The SDK's per-call log step, by the name its client stack knows it by. */
export const SDK_CALL_LOG = 'loggerMiddleware';

/**
 * Takes the SDK's per-call log step out of a client. It hands every call's input and output to the client's `logger`,
 * a no-op unless one is configured (none is, anywhere here: the services log through Powertools), but it first runs
 * both through the sensitive-field filter: the SDK function with the most CPU of its own in a profile of the storm
 * benchmark (issue 10), about 0.02 ms of a small UpdateItem's 0.42 ms of client CPU. A client given by a caller is
 * changed in place: the Lambdas share theirs with the idempotency layer, which gains the same.
 */
export function withoutCallLog<C extends { middlewareStack: { remove(name: string): boolean } }>(client: C): C {
  client.middlewareStack.remove(SDK_CALL_LOG);
  return client;
}
