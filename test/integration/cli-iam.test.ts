// The operator policies the stack creates (infra/iam.cjs: OperatorReadOnlyPolicy, OperatorPolicy) allow every AWS call
// the CLI makes. The CLI runs as a subprocess with the config in SSM, as an operator runs it: DynamoDB calls are read off
// the wire (a relay in front of DynamoDB Local), SSM, Auto Scaling and EC2 calls from the local stack's stand-ins.
// The checks (status, doctor, watch, render-config, reconcile --dry-run) must need only the read-only policy; every
// command (drain, disable, enable, and a reconcile pass that seeds a backend, heartbeats a handed-over launch, completes
// it, and finishes a terminate's drain) the other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startFleet, stopAll } from '../../bin/harness/haproxy.js';
import { type Instance, startInstanceAt } from '../../bin/harness/instances.js';
import { freePort } from '../../bin/harness/ports.js';
import { type AutoScalingStandIn, startAutoScalingStandIn } from '../../bin/local/stand-ins/autoscaling.js';
import { type Ec2StandIn, startEc2StandIn } from '../../bin/local/stand-ins/ec2.js';
import type { CallRecord } from '../../bin/local/stand-ins/http.js';
import { type SsmStandIn, startSsmStandIn } from '../../bin/local/stand-ins/ssm.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { dynamodbRequests } from '../support/dynamodb-wire.js';
import { type Call, dynamodbCalls, generated, type Json, refused, sdkCalls } from '../support/iam.js';
import { startWiretap, type Wiretap } from '../support/wiretap.js';
import { type CliRun, cliEnv, startCli } from './cli-support.js';

const CONFIG_PARAMETER = '/slot-sync/test/config';
const ASG = 'web-asg';
// a: an instance in service; b: an operator takes it out and back; c: a launch handed over to reconcile; d: leaving.
const ids = { a: 'i-0000000000000a071', b: 'i-0000000000000b072', c: 'i-0000000000000c073', d: 'i-0000000000000d074' };
const addresses = { a: '127.0.0.71', b: '127.0.0.72', c: '127.0.0.73', d: '127.0.0.74' };

let ddb: DynamoDbLocal;
let relay: Wiretap;
let ssm: SsmStandIn;
let autoScaling: AutoScalingStandIn;
let ec2: Ec2StandIn;
let hosts: HaproxyHandle[];
let instances: Instance[];
let store: DynamoDbSlotStore;
let slotTable: string;
let env: Record<string, string | undefined>;

/** The AWS calls each kind of command made. */
const calls: Record<'checks' | 'commands', Call[]> = { checks: [], commands: [] };

/** The stand-ins' calls as IAM sees them (the stand-ins log each request's action and parameters). */
function standInCalls(records: readonly CallRecord[]): Call[] {
  return records.flatMap((r) => sdkCalls(r.service, r.action, r.params as Json));
}

/** Runs the CLI to its end (or, with `stop`, until its output matches, then SIGINT) and files its calls under `kind`. */
async function cli(kind: keyof typeof calls, args: readonly string[], stop?: RegExp): Promise<CliRun> {
  const before = relay.perConnection().map((t) => t.length);
  const standIns = [ssm, autoScaling, ec2];
  const counts = standIns.map((s) => s.calls.length);
  const running = startCli(args, env);
  if (stop) {
    await running.until(stop);
    running.child.kill('SIGINT');
  }
  const run = await running.done;
  const tableId = (name: string) => (name === slotTable ? 'SlotTable' : name);
  relay.perConnection().forEach((text, i) => {
    calls[kind].push(...dynamodbRequests(text.slice(before[i] ?? 0)).flatMap((r) => dynamodbCalls(r, tableId)));
  });
  standIns.forEach((s, i) => {
    calls[kind].push(...standInCalls(s.calls.slice(counts[i])));
  });
  return run;
}

/** A policy's statements, from the deployment's own generator. */
async function policy(id: 'OperatorReadOnlyPolicy' | 'OperatorPolicy'): Promise<Json[]> {
  const resources = await generated('operatorPolicies', {
    configParameter: CONFIG_PARAMETER,
    webhookSecretParameter: '/slot-sync/test/webhook-secret',
    autoScalingGroups: [ASG],
  });
  return resources[id].Properties.PolicyDocument.Statement as Json[];
}

beforeAll(async () => {
  ddb = await connectDynamoDbLocal();
  ({ slotTable } = await ddb.createTables(`cli-iam${Date.now()}`));
  relay = await startWiretap(ddb.port);
  const port = await freePort();
  instances = await Promise.all(
    (Object.keys(ids) as (keyof typeof ids)[]).map((k) => startInstanceAt(ids[k], addresses[k], port)),
  );
  hosts = await startFleet(2, {
    backends: [
      { name: 'web', slotPrefix: 'web', slots: 6, check: true, checkInterMs: 100 },
      { name: 'api', slotPrefix: 'api', slots: 2 },
    ],
  });
  const config = {
    hosts: hosts.map((h) => h.hostConfig()),
    allowLoopback: true,
    backends: [
      {
        name: 'web',
        slotPrefix: 'web',
        port,
        autoScalingGroups: [ASG],
        drainSeconds: 1,
        healthGate: { enabled: true, timeoutSeconds: 20 },
      },
      // Not in the table yet: the pass seeds it.
      { name: 'api', slotPrefix: 'api', port },
    ],
    lifecycle: { onNoSlot: 'ABANDON', heartbeatSeconds: 30 },
    timeouts: { connectMs: 1000, commandMs: 3000 },
  };
  ssm = await startSsmStandIn({ [CONFIG_PARAMETER]: { value: JSON.stringify(config), type: 'SecureString' } });
  autoScaling = await startAutoScalingStandIn(ASG);
  ec2 = await startEc2StandIn([]);
  env = {
    ...cliEnv(slotTable, `http://127.0.0.1:${relay.port}`, config as never),
    CONFIG_JSON: undefined,
    CONFIG_PARAMETER,
    AWS_ENDPOINT_URL_SSM: ssm.url,
    AWS_ENDPOINT_URL_AUTO_SCALING: autoScaling.url,
    AWS_ENDPOINT_URL_EC2: ec2.url,
  };

  // The table as the functions leave it: web seeded, a and b in service, c's launch handed over to reconcile longer ago than
  // the heartbeat period (its action still open), d terminating with its drain past its deadline.
  store = new DynamoDbSlotStore({ tableName: slotTable, client: ddb.client });
  await store.seed(
    'web',
    Array.from({ length: 6 }, (_, i) => `web${i + 1}`),
  );
  const claim = (k: keyof typeof ids) =>
    store.claim('web', { id: ids[k], address: addresses[k], port }, { weight: 1, owner: 'asg' });
  await claim('a');
  await claim('b');
  const c = await claim('c');
  const launch = autoScaling.group.beginLaunch(ids.c);
  await store.apply(
    'web',
    { slot: c.record.slot, member: ids.c },
    {
      kind: 'launch-pending',
      now: Date.now() - 301_000,
      lifecycle: { token: launch.token, hookName: launch.hookName, asgName: ASG, instanceId: ids.c },
      deadline: Date.now() + 600_000,
    },
  );
  const d = await claim('d');
  autoScaling.group.complete({ ...autoScaling.group.beginLaunch(ids.d), result: 'CONTINUE' });
  const leaving = autoScaling.group.beginTerminate(ids.d);
  await store.apply(
    'web',
    { slot: d.record.slot, member: ids.d },
    {
      kind: 'terminate',
      now: Date.now() - 5_000,
      deadline: Date.now() - 1_000,
      lifecycle: { token: leaving.token, hookName: leaving.hookName, asgName: ASG, instanceId: ids.d },
    },
  );
}, 60_000);

afterAll(async () => {
  await stopAll(hosts ?? []);
  await Promise.all((instances ?? []).map((i) => i.close()));
  await Promise.all([relay, ssm, autoScaling, ec2].map((s) => s?.close()));
  ddb?.client.destroy();
  await ddb?.stop();
});

describe('operator policies cover every AWS call the CLI makes', () => {
  it('runs the checks, then every command that changes something', async () => {
    // The hosts start from their template and api is not in the table: the checks warn (drift) or go critical (no free
    // slot in api), a dry run plans it, nothing is written.
    expect([1, 2]).toContain((await cli('checks', ['status'])).code);
    expect((await cli('checks', ['doctor', '--json'])).code).not.toBe(3);
    expect((await cli('checks', ['reconcile', '--dry-run'])).code).toBe(1);
    expect((await cli('checks', ['render-config', '--backend', 'web', '--no-check'])).code).toBe(0);
    // watch, piped: plain blocks until Ctrl-C.
    expect((await cli('checks', ['watch', '--interval', '1'], /web\d/)).code).toBe(0);

    // The pass programs the hosts, heartbeats c's action, completes it once c passes its first check, and finishes d's
    // drain (past its deadline) with CONTINUE once every host shows d's slot in MAINT.
    const pass = await cli('commands', ['reconcile']);
    expect(pass.code, pass.stdout + pass.stderr).toBe(0);
    const asg = autoScaling.calls.map((c) => `${c.action} ${c.status}`);
    expect(asg).toContain('RecordLifecycleActionHeartbeat 200');
    expect(asg.filter((c) => c === 'CompleteLifecycleAction 200')).toHaveLength(2);
    expect(autoScaling.group.instances.get(ids.c)?.state).toBe('InService');
    expect(autoScaling.group.instances.get(ids.d)?.state).toBe('Terminated');

    for (const args of [
      ['disable', ids.b],
      ['enable', ids.b, '--wait'],
      ['drain', ids.a, '--wait'],
      ['enable', ids.a],
    ]) {
      const run = await cli('commands', args);
      expect(run.code, `${args.join(' ')}: ${run.stdout}${run.stderr}`).toBe(0);
    }
    expect(calls.checks.map((c) => c.action)).toContain('ssm:GetParameter');
    expect((await store.list('api')).map((r) => r.slot).sort()).toEqual(['api1', 'api2']);
  });

  it('the checks need only OperatorReadOnlyPolicy', async () => {
    expect(calls.checks.length, 'the checks above ran').toBeGreaterThan(0);
    expect(refused(await policy('OperatorReadOnlyPolicy'), calls.checks)).toEqual([]);
  });

  it('every command is allowed by OperatorPolicy', async () => {
    expect(calls.commands.length, 'the commands above ran').toBeGreaterThan(0);
    expect(refused(await policy('OperatorPolicy'), [...calls.checks, ...calls.commands])).toEqual([]);
  });

  it('OperatorReadOnlyPolicy cannot change the table or complete a lifecycle action', async () => {
    const denied = refused(await policy('OperatorReadOnlyPolicy'), calls.commands);
    expect(denied).toEqual(
      expect.arrayContaining([
        'dynamodb:UpdateItem on …GetAtt:SlotTable.Arn',
        `autoscaling:CompleteLifecycleAction on …:autoScalingGroupName/${ASG}`,
      ]),
    );
  });
});
