// The lifecycle Lambda's DynamoDB connections, seen at the socket: a relay in front of DynamoDB Local records what each
// connection carries. The idempotency record (terminates) and the slot store share one client
// (functions/shared/runtime.ts), and a cold launch's table calls ride one connection: in AWS, one TLS handshake on the
// launch path. A launch keeps no idempotency record (its claim proves its token unsettled).
import { AutoScalingClient, CompleteLifecycleActionCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../../bin/harness/haproxy.js';
import { type Instance, startInstanceAt } from '../../../bin/harness/instances.js';
import { freePort } from '../../../bin/harness/ports.js';
import { DynamoDbSlotStore } from '../../../functions/lib/slots/dynamodb-store.js';
import launch from '../../fixtures/events/launch.json' with { type: 'json' };
import { connectDynamoDbLocal, type DynamoDbLocal } from '../../support/dynamodb-local.js';
import { dynamodbRequests } from '../../support/dynamodb-wire.js';
import { handlerEnv, lambdaContext, lifecycleEvent } from '../../support/lambda.js';
import { startWiretap, type Wiretap } from '../../support/wiretap.js';

const ec2 = mockClient(EC2Client);
const asg = mockClient(AutoScalingClient);
const ID = 'i-0000000000000c0a1';
const ADDRESS = '127.0.0.31';

let ddb: DynamoDbLocal;
let relay: Wiretap;
let hosts: HaproxyHandle[];
let instance: Instance;
let tables: { slotTable: string; idempotencyTable: string };
type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
let lifecycle: Handler;

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
  tables = await ddb.createTables(`conn${Date.now()}`);
  relay = await startWiretap(ddb.port);
  const port = await freePort();
  instance = await startInstanceAt(ID, ADDRESS, port);
  hosts = await startFleet(1, { backends: [{ name: 'web', slotPrefix: 'web', slots: 2 }] });
  const config = {
    hosts: hosts.map((h) => h.hostConfig()),
    allowLoopback: true,
    backends: [{ name: 'web', slotPrefix: 'web', port, autoScalingGroups: ['web-asg'], drainSeconds: 30 }],
  };
  // Seeded beforehand (as the first reconcile would): a launch into a fresh backend seeds it with parallel writes.
  await new DynamoDbSlotStore({ tableName: tables.slotTable, client: ddb.client }).seed('web', ['web1', 'web2']);
  handlerEnv({ dynamoPort: relay.port, ...tables, config });
  ec2.on(DescribeInstancesCommand).resolves({
    Reservations: [{ Instances: [{ InstanceId: ID, PrivateIpAddress: ADDRESS }] }],
  });
  asg.on(CompleteLifecycleActionCommand).resolves({});
  lifecycle = (await import('../../../functions/lifecycle/handler.js')).handler as unknown as Handler;
}, 60_000);

afterAll(async () => {
  await stopAll(hosts ?? []);
  await instance?.close();
  await relay?.close();
  ddb?.client.destroy();
  await ddb?.stop();
});

describe('lifecycle handler, DynamoDB connections', () => {
  it("sends a cold launch's table calls on one connection, the claim its only write before the hosts", async () => {
    const event = lifecycleEvent(launch, { EC2InstanceId: ID, LifecycleActionToken: crypto.randomUUID() });
    const result = (await lifecycle(event, lambdaContext(30_000))) as { completion: string };
    expect(result.completion).toBe('CONTINUE');
    const carried = relay.perConnection().map(dynamodbRequests);
    expect(carried).toHaveLength(1);
    const [requests = []] = carried;
    const ops = requests.map((r) => r.operation);
    // A launch keeps no idempotency record: the free-slot read, then the claim transaction (which carries the token
    // check), then the completion's writes, all in the slot table.
    expect(ops.slice(0, 2)).toEqual(['Query', 'TransactWriteItems']);
    expect(requests.filter((r) => JSON.stringify(r.body).includes(tables.idempotencyTable))).toEqual([]);
    expect(requests.every((r) => JSON.stringify(r.body).includes(tables.slotTable))).toBe(true);
    expect(ops).toContain('UpdateItem');
  });
});
