// `slot-sync status` as a monitoring check (Nagios plugin exit codes) against real HAProxy hosts and DynamoDB Local:
// the table side failing in each way, a slot waiting for its check, a drain past its deadline, no free slot.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../bin/harness/haproxy.js';
import { type Instance, startInstances } from '../../bin/harness/instances.js';
import { freePort } from '../../bin/harness/ports.js';
import type { ConfigDocument } from '../../functions/lib/config.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { haproxyBinVersionPattern } from '../support/host-kit.js';
import { waitFor } from '../support/wait.js';
import { type CliRun, cliEnv, configFor, lastLine, rowOf, runCli as run } from './cli-support.js';

let hosts: HaproxyHandle[] = [];
let ddb: DynamoDbLocal | undefined;
let instances: Instance[] = [];
let store: DynamoDbSlotStore;
let config: ConfigDocument;
let env: Record<string, string>;
let emptyHome: string;

const runCli = (args: readonly string[], extra: Record<string, string | undefined> = {}) =>
  run(args, { ...env, ...extra });
const inst = (i: number) => instances[i] as Instance;

/** The hosts are still reported, with every template slot they have, while the table side says what failed. */
function expectHostsStillShown(r: CliRun): void {
  for (const h of hosts)
    expect(r.stdout).toMatch(
      new RegExp(`^${h.name}\\s+127\\.0\\.0\\.1:${h.statsPort}\\s+HAProxy ${haproxyBinVersionPattern()}$`, 'm'),
    );
  expect(rowOf(r.stdout, 'web1')).toMatch(/^web\/web1\s+-\s+-\s+-\s+\?\s+MAINT · 0 · -\s+MAINT · 0 · -$/);
  expect(rowOf(r.stdout, 'web3')).not.toBe('');
  expect(lastLine(r.stdout)).toMatch(/ · 2 hosts · table unreachable · 0 failed$/);
}

beforeAll(async () => {
  [hosts, ddb, instances] = await Promise.all([
    startFleet(2, { backends: [{ name: 'web', slotPrefix: 'web', slots: 3, check: true }] }, 'st-hap'),
    connectDynamoDbLocal(),
    startInstances(2),
  ]);
  const { slotTable } = await ddb.createTables(`cli-status-${process.pid}-${Date.now()}`);
  store = new DynamoDbSlotStore({ tableName: slotTable, client: ddb.client, random: () => 0 });
  await store.seed('web', ['web1', 'web2', 'web3']);
  config = configFor(
    hosts.map((h) => h.hostConfig()),
    { healthGate: { enabled: true, timeoutSeconds: 30 } },
  );
  env = cliEnv(slotTable, ddb.endpoint, config);
  emptyHome = mkdtempSync(join(tmpdir(), 'cli-status-home-'));
});

afterAll(async () => {
  await stopAll(hosts);
  await Promise.all(instances.map((i) => i.close()));
  await ddb?.stop();
  if (emptyHome) rmSync(emptyHome, { recursive: true, force: true });
});

describe('slot-sync status as a check: which side failed, and the Nagios verdict', () => {
  it('is CRITICAL (2) when nothing answers at the DynamoDB endpoint, and still shows what every host reports', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const r = await runCli(['status'], { AWS_ENDPOINT_URL_DYNAMODB: endpoint });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('');
    expectHostsStillShown(r);
    expect(r.stdout).toContain(`table ${env.SLOT_TABLE} (DynamoDB): unreachable (DYNAMODB_UNREACHABLE)`);
    expect(r.stdout).toContain(
      `cannot reach DynamoDB at ${endpoint} (connection refused): is the local stand-in running (npm start, then source .local/env)? Unset AWS_ENDPOINT_URL_DYNAMODB to use AWS`,
    );
    expect(lastLine(r.stdout)).toBe('CRITICAL · 2 hosts · table unreachable · 0 failed');

    const json = JSON.parse((await runCli(['status', '--json'], { AWS_ENDPOINT_URL_DYNAMODB: endpoint })).stdout);
    expect(json.verdict).toEqual({
      state: 'CRITICAL',
      code: 2,
      reasons: [{ state: 'CRITICAL', text: 'table DYNAMODB_UNREACHABLE' }],
    });
    expect(json.table).toMatchObject({ ok: false, cause: 'unreachable', error: { code: 'DYNAMODB_UNREACHABLE' } });
    expect(json.hosts.map((h: { ok: boolean }) => h.ok)).toEqual([true, true]);
  });

  it.each([
    [
      'no credentials anywhere',
      {
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_PROFILE: undefined,
        HOME: '<empty>',
        AWS_CONFIG_FILE: '<empty>/config',
        AWS_SHARED_CREDENTIALS_FILE: '<empty>/credentials',
      },
      'AWS_CREDENTIALS',
      'no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    ],
    [
      'no region',
      { AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined, HOME: '<empty>', AWS_CONFIG_FILE: '<empty>/config' },
      'AWS_REGION',
      'no AWS region set: export AWS_REGION with the region the stack is deployed in',
    ],
    [
      'a table name that does not exist',
      { SLOT_TABLE: 'no-such-table' },
      'TABLE_NOT_FOUND',
      'the slot table no-such-table does not exist at http://',
    ],
  ])(
    'is UNKNOWN (3) with %s: the table side names the fix, the hosts are still shown',
    async (_, extra, code, sentence) => {
      const withHome = Object.fromEntries(
        Object.entries(extra).map(([k, v]) => [k, v?.replace('<empty>', emptyHome)]),
      ) as Record<string, string | undefined>;
      const r = await runCli(['status'], withHome);
      expect(r.code).toBe(3);
      expectHostsStillShown(r);
      expect(r.stdout).toMatch(new RegExp(`\\(DynamoDB\\): not usable \\(${code}\\)$`, 'm'));
      expect(r.stdout).toContain(sentence);
      expect(lastLine(r.stdout)).toBe('UNKNOWN · 2 hosts · table unreachable · 0 failed');
    },
  );

  it('is UNKNOWN (3) with the verdict on stdout under --json when the command line is wrong', async () => {
    const r = await runCli(['status', '--json', '--backend', 'nope']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toEqual({
      verdict: {
        state: 'UNKNOWN',
        code: 3,
        reasons: [{ state: 'UNKNOWN', text: expect.stringMatching(/^USAGE: unknown backend 'nope'/) }],
      },
    });
  });

  it('is WARNING (1) while a slot waits for its first passing check, shown as DOWN (drain) with the check status', async () => {
    // Nothing listens on this port: the health gate keeps the slot in drain, checks failing with L4CON.
    await store.claim(
      'web',
      { id: 'i-dead', address: '127.0.0.1', port: await freePort() },
      { weight: 1, owner: 'webhook' },
    );
    const reconciled = await runCli(['reconcile']);
    // The CLI's own report says which drift remained or which host failed, should it ever exit non-zero here.
    expect(reconciled.code, `${reconciled.stdout}${reconciled.stderr}`).toBe(0);
    let r: CliRun | undefined;
    await waitFor(
      async () => {
        r = await runCli(['status']);
        return /DOWN \(drain\) · 0 · L4CON\s+DOWN \(drain\) · 0 · L4CON$/.test(rowOf(r.stdout, 'web1'));
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'web1 failing its checks in drain on both hosts' },
    );
    const out = r as CliRun;
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('waiting for a first passing health check:\n  st-hap1 web/web1 awaiting-health');
    expect(lastLine(out.stdout)).toBe(
      'WARNING · 2 hosts · 3 slots · 1 active · 2 free · 1 awaiting health · 0 drift · 0 failed',
    );
    const json = JSON.parse((await runCli(['status', '--json'])).stdout);
    expect(json.verdict.reasons).toEqual([{ state: 'WARNING', text: '1 slot waiting for a health check' }]);
  });

  it('is WARNING (1) for a drain past its deadline, listed with the member', async () => {
    await store.claim(
      'web',
      { id: 'i-2', address: inst(1).address, port: inst(1).port },
      { weight: 1, owner: 'webhook' },
    );
    await store.apply(
      'web',
      { member: 'i-2' },
      { kind: 'terminate', now: Date.now() - 61_000, deadline: Date.now() - 60_000 },
    );
    const r = await runCli(['status']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^drains past their deadline \(reconcile finishes them\):\n {2}web\/web2 \(i-2\) since \d{4}-/m,
    );
    const json = JSON.parse((await runCli(['status', '--json'])).stdout);
    expect(json.verdict.state).toBe('WARNING');
    expect(json.verdict.reasons).toContainEqual({ state: 'WARNING', text: '1 drain past the deadline' });
    expect(json.overdueDrains).toEqual([{ backend: 'web', slot: 'web2', member: 'i-2', deadline: expect.any(Number) }]);
  });

  it('is CRITICAL (2) once a backend has no free slot left', async () => {
    await store.claim(
      'web',
      { id: 'i-1', address: inst(0).address, port: inst(0).port },
      { weight: 1, owner: 'webhook' },
    );
    const r = await runCli(['status']);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('no free slot left (a launch gets none):\n  web\n');
    expect(lastLine(r.stdout)).toMatch(/^CRITICAL · 2 hosts · 3 slots · 2 active · 0 free · 1 draining · /);
    const json = JSON.parse((await runCli(['status', '--json'])).stdout);
    expect(json.verdict.state).toBe('CRITICAL');
    expect(json.verdict.reasons).toContainEqual({ state: 'CRITICAL', text: 'no free slot in web' });
    expect(json.noFreeSlot).toEqual(['web']);
  });
});
