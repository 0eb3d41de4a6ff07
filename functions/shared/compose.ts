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
      client: clients.dynamodb ?? new DynamoDBClient({}),
    }),
    fleet: input.fleet ?? createFleet({ hosts: input.config.hosts, timeouts: input.config.timeouts }),
    clock: input.clock ?? systemClock,
    lifecycle: new AutoScalingLifecycleActions({ client: clients.autoScaling ?? new AutoScalingClient({}) }),
    instances: new Ec2Instances({ client: clients.ec2 ?? new EC2Client({}) }),
    log: input.log ?? silentLog,
  };
}
