// Case 8 of the slot-lifecycle issue: a webhook batch against one slow host keeps to the invocation's time budget —
// every change it starts it finishes, the rest are answered `not-attempted`, and the caller always gets the results.
// One real HAProxy host, one that accepts connections and never answers, DynamoDB Local; SSM faked.
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../../bin/harness/haproxy.js';
import { type Instance, startInstanceAt } from '../../../bin/harness/instances.js';
import { freePort } from '../../../bin/harness/ports.js';
import { DynamoDbSlotStore } from '../../../functions/lib/slots/dynamodb-store.js';
import { type BlackHole, startBlackHole } from '../../support/black-hole.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../../support/dynamodb-local.js';
import { handlerEnv, lambdaContext } from '../../support/lambda.js';
import { webhookEvent } from '../../support/webhook-request.js';

const ssm = mockClient(SSMClient);
const SECRET = 'budget-secret';
const SECRET_PARAMETER = '/slot-sync/budget/webhook-secret';
const COMMAND_MS = 1_000;

let ddb: DynamoDbLocal;
let hosts: HaproxyHandle[];
let slow: BlackHole;
let member: Instance;
let store: DynamoDbSlotStore;
let webhook: (event: unknown, context: Context) => Promise<{ statusCode: number; body: string }>;

async function hook(body: unknown, remainingMs: number) {
  const started = Date.now();
  const res = await webhook(webhookEvent(body, SECRET), lambdaContext(remainingMs));
  return { status: res.statusCode, body: JSON.parse(res.body), ms: Date.now() - started };
}

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
  const tables = await ddb.createTables(`budget${Date.now()}`);
  const port = await freePort();
  member = await startInstanceAt('m-1', '127.0.0.81', port);
  hosts = await startFleet(1, { backends: [{ name: 'web', slotPrefix: 'web', slots: 4 }] }, 'budget-hap');
  slow = await startBlackHole();
  handlerEnv({
    dynamoPort: ddb.port,
    slotTable: tables.slotTable,
    idempotencyTable: tables.idempotencyTable,
    webhookSecretParameter: SECRET_PARAMETER,
    config: {
      hosts: [hosts[0]?.hostConfig(), { name: 'slow', host: '127.0.0.1', port: slow.port }],
      // Every member is a loopback address (127.0.0.x), which the address policy refuses unless told.
      allowLoopback: true,
      backends: [{ name: 'web', slotPrefix: 'web', port }],
      timeouts: { connectMs: 200, commandMs: COMMAND_MS },
    },
  });
  ssm.on(GetParametersCommand).resolves({ Parameters: [{ Name: SECRET_PARAMETER, Value: SECRET }] });
  store = new DynamoDbSlotStore({ tableName: tables.slotTable, client: ddb.client });
  webhook = (await import('../../../functions/webhook/handler.js')).handler as unknown as typeof webhook;
  // The member exists on the fast host (the slow one never answers, so this first change is partial).
  const first = await hook(
    { action: 'register', backend: 'web', member: { id: 'm-1', address: member.address, port } },
    20_000,
  );
  expect(first.status).toBe(200);
}, 60_000);

afterAll(async () => {
  await stopAll(hosts);
  await slow?.close();
  await member?.close();
  ssm.restore();
  await ddb?.stop();
});

describe('webhook time budget (case 8)', () => {
  it('answers 500 changes against a slow host within the budget: finished ones partial, the rest not-attempted', async () => {
    const port = (await store.findByMember('web', 'm-1'))?.port as number;
    const changes = Array.from({ length: 500 }, (_, i) => ({
      action: 'weight',
      backend: 'web',
      member: { id: 'm-1', address: member.address, port },
      weight: 1 + (i % 9),
    }));
    const remainingMs = 10_000;
    const res = await hook({ changes }, remainingMs);
    expect(res.status).toBe(200);
    // The handler answered before the Lambda deadline (its margin is 3 s), with a result for every change.
    expect(res.ms).toBeLessThan(remainingMs);
    const results = res.body.results as { status: string; hosts: { host: string; ok: boolean }[] }[];
    expect(results).toHaveLength(500);
    const attempted = results.filter((r) => r.status !== 'not-attempted');
    expect(attempted.length).toBeGreaterThan(0);
    expect(attempted.length).toBeLessThan(500);
    // The changes that ran are over: applied on the host that answers, failed (not half-sent) on the slow one.
    for (const r of attempted) {
      expect(r.status).toBe('partial');
      expect(r.hosts.map((h) => [h.host, h.ok])).toEqual([
        ['budget-hap1', true],
        ['slow', false],
      ]);
    }
    // In order: once one is not attempted, none after it is.
    const firstSkipped = results.findIndex((r) => r.status === 'not-attempted');
    expect(results.slice(firstSkipped).every((r) => r.status === 'not-attempted')).toBe(true);
  });

  it('answers 502 with every result when the budget does not allow a single change', async () => {
    const port = (await store.findByMember('web', 'm-1'))?.port as number;
    const before = await store.list('web');
    const change = {
      action: 'weight',
      backend: 'web',
      member: { id: 'm-1', address: member.address, port },
      weight: 42,
    };
    // 3 s margin + one command deadline: with 3.5 s left there is no room for a change.
    const res = await hook({ changes: [change, change] }, 3_500);
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('NOTHING_APPLIED');
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['not-attempted', 'not-attempted']);
    expect(await store.list('web')).toEqual(before);
  });

  // Last: the abandoned work goes on in the background (as it would until Lambda froze the sandbox) for a second or two.
  it('answers 504 DEADLINE_EXCEEDED, not kept, when the work outlasts the invocation', async () => {
    // Work that overruns its reserve (a throttled table's retries, say) is modelled by a context that tells the
    // handler 5.5 s (so 2.5 s of work for the service) and everyone else, middy's timer too, 1.5 s: middy answers at
    // its deadline while a change against the slow host is still under way.
    const port = (await store.findByMember('web', 'm-1'))?.port as number;
    const change = {
      action: 'weight',
      backend: 'web',
      member: { id: 'm-1', address: member.address, port },
      weight: 7,
    };
    const event = webhookEvent({ changes: [change, change] }, SECRET);
    const context = lambdaContext(5_500);
    const real = context.getRemainingTimeInMillis;
    context.getRemainingTimeInMillis = () => (new Error().stack?.includes('webhook/handler.ts') ? real() : 1_500);
    const res = await webhook(event, context);
    expect(res.statusCode).toBe(504);
    const body = JSON.parse(res.body);
    expect(body.error.code).toBe('DEADLINE_EXCEEDED');
    expect(body.error.message).toMatch(/may be recorded in part/);
    // 5xx answers are not kept: the same request runs again rather than being answered 504 from the record.
    const again = await webhook(event, lambdaContext(10_000));
    expect(again.statusCode).toBe(200);
    expect(JSON.parse(again.body).results).toHaveLength(2);
  });
});
