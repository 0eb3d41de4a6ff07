// The handlers as deployed: config document and webhook secret read from SSM through @middy/ssm (faked at the SDK
// boundary), which JSON-parses values that look like JSON — the path CONFIG_JSON-based tests never take.
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../../bin/harness/haproxy.js';
import { signBody } from '../../../functions/webhook/signature.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../../support/dynamodb-local.js';
import { handlerEnv, lambdaContext } from '../../support/lambda.js';

const CONFIG_PARAMETER = '/slot-sync/test/config';
const SECRET_PARAMETER = '/slot-sync/test/secret';
const ssm = mockClient(SSMClient);

let ddb: DynamoDbLocal;
let hosts: HaproxyHandle[];
type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
  const tables = await ddb.createTables(`ssm${Date.now()}`);
  hosts = await startFleet(2, { backends: [{ name: 'web', slotPrefix: 'web', slots: 3 }] });
  const config = {
    hosts: hosts.map((h) => h.hostConfig()),
    // Every member is a loopback address (127.0.0.x), which the address policy refuses unless told.
    allowLoopback: true,
    backends: [{ name: 'web', slotPrefix: 'web', port: 8080 }],
  };
  handlerEnv({
    dynamoPort: ddb.port,
    slotTable: tables.slotTable,
    idempotencyTable: tables.idempotencyTable,
    config,
    configParameter: CONFIG_PARAMETER,
    webhookSecretParameter: SECRET_PARAMETER,
  });
  ssm.on(GetParametersCommand).callsFake(async (input: { Names?: string[] }) => ({
    Parameters: (input.Names ?? []).map((Name) => ({
      Name,
      Value: Name === CONFIG_PARAMETER ? JSON.stringify(config, null, 2) : 'plain-secret',
    })),
    InvalidParameters: [],
  }));
}, 60_000);

afterAll(async () => {
  await stopAll(hosts);
  ddb?.client.destroy();
  await ddb?.stop();
});

describe('handlers configured from SSM', () => {
  it('reconcile reads the config document from its parameter and programs the hosts', async () => {
    const reconcile = (await import('../../../functions/reconcile/handler.js')).handler as unknown as Handler;
    const summary = (await reconcile({}, lambdaContext())) as { hosts: { host: string; ok: boolean }[]; slots: number };
    expect(summary.hosts).toEqual(hosts.map((h) => expect.objectContaining({ host: h.name, ok: true })));
    expect(summary.slots).toBe(3);
    expect(ssm).toHaveReceivedCommandWith(GetParametersCommand, { Names: [CONFIG_PARAMETER] });
  });

  it('the webhook reads the config and the secret from their parameters', async () => {
    const webhook = (await import('../../../functions/webhook/handler.js')).handler as unknown as Handler;
    const body = JSON.stringify({
      action: 'register',
      backend: 'web',
      member: { id: 'm-1', address: '127.0.0.51', port: 8080 },
    });
    const event = {
      version: '2.0',
      rawPath: '/hooks/deploy',
      headers: { 'x-slot-sync-signature': signBody('plain-secret', body, Math.floor(Date.now() / 1000)) },
      body,
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST' } },
    } as unknown as APIGatewayProxyEventV2;
    const res = (await webhook(event, lambdaContext())) as { statusCode: number };
    expect(res.statusCode).toBe(200);
  });
});
