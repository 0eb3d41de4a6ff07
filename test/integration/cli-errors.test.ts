// Every environment, credential, region and endpoint problem reads as one sentence that says what to do (CLI as a
// subprocess, against DynamoDB Local and the local SSM stand-in; nothing leaves loopback).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../bin/harness/ports.js';
import { type SsmStandIn, startSsmStandIn } from '../../bin/local/stand-ins/ssm.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { cliEnv, configFor, runCli as run } from './cli-support.js';

let ddb: DynamoDbLocal | undefined;
let ssm: SsmStandIn | undefined;
let env: Record<string, string>;
let emptyHome: string;
let deadPort: number;

const runCli = (args: readonly string[], extra: Record<string, string | undefined> = {}) =>
  run(args, { ...env, ...extra });

beforeAll(async () => {
  [ddb, ssm, deadPort] = await Promise.all([connectDynamoDbLocal(), startSsmStandIn({}), freePort()]);
  const { slotTable } = await ddb.createTables(`cli-errors-${process.pid}-${Date.now()}`);
  // The host is never reached: every case here fails on the table or the environment first.
  env = cliEnv(slotTable, ddb.endpoint, configFor([{ name: 'never', host: '127.0.0.1', port: deadPort }]));
  emptyHome = mkdtempSync(join(tmpdir(), 'cli-errors-home-'));
});

afterAll(async () => {
  await ssm?.close();
  await ddb?.stop();
  if (emptyHome) rmSync(emptyHome, { recursive: true, force: true });
});

const noCredentials = () => ({
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  HOME: emptyHome,
  AWS_CONFIG_FILE: join(emptyHome, 'config'),
  AWS_SHARED_CREDENTIALS_FILE: join(emptyHome, 'credentials'),
});

describe('slot-sync errors: one sentence each, naming what to set or start', () => {
  it.each([
    [
      'SLOT_TABLE missing',
      2,
      () => ({ SLOT_TABLE: undefined }),
      "ENVIRONMENT: SLOT_TABLE is not set: export the slot table's name (deployed: <service>-<stage>-slots, e.g. haproxy-slot-sync-prod-slots, the SLOT_TABLE of every function; local stack: source .local/env)",
    ],
    [
      'no config document',
      2,
      () => ({ CONFIG_JSON: undefined, CONFIG_PARAMETER: undefined }),
      "ENVIRONMENT: no config document: export CONFIG_PARAMETER with its SSM parameter name (the stage's configParameter, e.g. /haproxy-slot-sync/prod/config), or CONFIG_JSON, or pass --config FILE",
    ],
    [
      'no credentials',
      2,
      noCredentials,
      'AWS_CREDENTIALS: no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role provides them (local stack: source .local/env)',
    ],
    [
      'no region',
      2,
      () => ({ AWS_REGION: undefined, HOME: emptyHome, AWS_CONFIG_FILE: join(emptyHome, 'config') }),
      'AWS_REGION: no AWS region set: export AWS_REGION with the region the stack is deployed in (e.g. AWS_REGION=eu-west-1)',
    ],
    [
      'nothing listening at the DynamoDB endpoint',
      1,
      () => ({ AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${deadPort}` }),
      'DYNAMODB_UNREACHABLE: cannot reach DynamoDB at http://127.0.0.1:<dead> (connection refused): is the local stand-in running (npm start, then source .local/env)? Unset AWS_ENDPOINT_URL_DYNAMODB to use AWS',
    ],
    [
      'a table that does not exist',
      2,
      () => ({ SLOT_TABLE: 'no-such-table' }),
      'TABLE_NOT_FOUND: the slot table no-such-table does not exist at <ddb>: check SLOT_TABLE (the deployed table is <service>-<stage>-slots, e.g. haproxy-slot-sync-prod-slots)',
    ],
    [
      'an SSM parameter that does not exist',
      2,
      () => ({ CONFIG_JSON: undefined, CONFIG_PARAMETER: '/nope/config', AWS_ENDPOINT_URL_SSM: ssm?.url }),
      "PARAMETER_NOT_FOUND: the SSM parameter /nope/config does not exist at <ssm>: check CONFIG_PARAMETER (the stage's configParameter, e.g. /haproxy-slot-sync/prod/config) and AWS_REGION",
    ],
    [
      'nothing listening at the SSM endpoint',
      1,
      () => ({ CONFIG_JSON: undefined, CONFIG_PARAMETER: '/x', AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${deadPort}` }),
      'SSM_UNREACHABLE: cannot reach SSM at http://127.0.0.1:<dead> (connection refused): is the local stand-in running (npm start, then source .local/env)? Unset AWS_ENDPOINT_URL_SSM to use AWS',
    ],
    [
      'an invalid config document',
      2,
      () => ({ CONFIG_JSON: JSON.stringify({ hosts: [], backends: [] }) }),
      'CONFIG_ERROR: invalid config: hosts: Too small: expected array to have >=1 items; backends: Too small: expected array to have >=1 items; fix the document in CONFIG_JSON',
    ],
  ])('%s: drain exits %i with that one sentence on stderr', async (_, code, extra, sentence) => {
    const r = await runCli(['drain', 'web/web1'], extra());
    // Endpoints are only known once the servers run; the table names them as placeholders.
    const expected = sentence
      .replace('<ddb>', String(env.AWS_ENDPOINT_URL_DYNAMODB))
      .replace('<ssm>', String(ssm?.url))
      .replace('<dead>', String(deadPort));
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`slot-sync: ${expected}\n`);
    expect(r.code).toBe(code);
  });

  it('status gives the same sentence and exits 3 (UNKNOWN) when the environment is incomplete', async () => {
    const r = await runCli(['status'], { SLOT_TABLE: undefined });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^slot-sync: ENVIRONMENT: SLOT_TABLE is not set: .*\n$/);
  });
});
