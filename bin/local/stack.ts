// Local stack: starts everything `npm start` runs (DynamoDB Local, HAProxy ×2, sample instances, AWS stand-ins,
// serverless-offline, the reconcile schedule) and stops all of it again, by pid.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDynamoDbLocal } from '../harness/dynamodb-local.js';
import { startHosts, stopHosts } from './hosts.js';
import { localConfig } from './local-config.js';
import { type InvokeResult, invokeFunction, startOffline } from './offline.js';
import { portOr } from './ports.js';
import { childPidsMatching, killPid } from './processes.js';
import { sampleInstances, startSampleInstances } from './sample-instances.js';
import {
  awsEnv,
  DEFAULT_STATE_DIR,
  REPO_ROOT,
  removeStackFiles,
  type StackState,
  writeStackFiles,
} from './stack-state.js';
import { type AutoScalingStandIn, startAutoScalingStandIn } from './stand-ins/autoscaling.js';
import { type Ec2StandIn, startEc2StandIn } from './stand-ins/ec2.js';
import { type SsmStandIn, startSsmStandIn } from './stand-ins/ssm.js';

const SERVICE = 'haproxy-slot-sync';
const STAGE = 'local';
const REGION = 'us-east-1';
const ASG = 'local-asg';

/** Knobs of startStack; preferred ports fall back to free ones when taken. */
export interface StackOptions {
  readonly stateDir?: string;
  readonly frontendPorts?: readonly number[];
  readonly httpPort?: number;
  readonly lambdaPort?: number;
  readonly instancePort?: number;
  readonly instanceCount?: number;
  readonly drainSeconds?: number;
  /** Seconds between reconcile invocations; 0 = never (the test invokes it itself). */
  readonly reconcileSeconds?: number;
  readonly asgCrossCheck?: boolean;
  /** Progress and reconcile lines. */
  readonly log?: (line: string) => void;
  /** Called with each scheduled reconcile's result. */
  readonly onReconcile?: (result: InvokeResult) => void;
}

/** A running stack. */
export interface LocalStack {
  readonly state: StackState;
  readonly standIns: { readonly ec2: Ec2StandIn; readonly autoscaling: AutoScalingStandIn; readonly ssm: SsmStandIn };
  /** Invokes the reconcile function once, as the schedule does. */
  reconcileNow(): Promise<InvokeResult>;
  /** Stops every process and server the stack started; safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILLs every child process right away (second Ctrl-C). */
  killNow(): void;
}

type Cleanup = { readonly what: string; readonly run: () => Promise<void> };

async function runCleanups(cleanups: Cleanup[], log: (line: string) => void): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) {
    await c.run().catch((error: Error) => log(`stopping ${c.what} failed: ${error.message}`));
  }
}

/** Starts the whole stack; on any failure stops what already runs and rethrows. */
export async function startStack(options: StackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? (() => {});
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  mkdirSync(stateDir, { recursive: true });
  const logFile = join(stateDir, 'offline.log');
  writeFileSync(logFile, '');
  const instances = sampleInstances(options.instanceCount ?? 4);
  const frontends = options.frontendPorts ?? [8081, 8082];
  const ports = {
    frontends: [await portOr(frontends[0]), await portOr(frontends[1])],
    http: await portOr(options.httpPort ?? 3000),
    lambda: await portOr(options.lambdaPort ?? 3002),
    instance: await portOr(
      options.instancePort ?? 8080,
      instances.map((i) => i.address),
    ),
  };
  const cleanups: Cleanup[] = [];
  try {
    log('starting DynamoDB Local, 2 HAProxy hosts, sample instances and the AWS stand-ins…');
    // Each piece registers its own cleanup as soon as it runs, so a failure elsewhere stops exactly what started.
    const track = async <T>(what: string, started: Promise<T>, stop: (value: T) => Promise<void>): Promise<T> => {
      const value = await started;
      cleanups.push({ what, run: () => stop(value) });
      return value;
    };
    const close = (s: { close(): Promise<void> }) => s.close();
    const [dynamo, hosts, , ec2, autoscaling, ssm] = await Promise.all([
      track('DynamoDB Local', startDynamoDbLocal(), (d) => d.stop()),
      track('HAProxy', startHosts(ports.frontends), stopHosts),
      track('instances', startSampleInstances(instances, ports.instance), close),
      track('EC2 stand-in', startEc2StandIn(instances.map((i) => ({ id: i.id, privateIp: i.address }))), close),
      track('Auto Scaling stand-in', startAutoScalingStandIn(ASG), close),
      track('SSM stand-in', startSsmStandIn({}), close),
    ]);
    const tables = await dynamo.createTables(`${SERVICE}-${STAGE}`);
    const dynamoPids = childPidsMatching(['DynamoDBLocal.jar', '-port', String(dynamo.port)]);
    const drainSeconds = options.drainSeconds ?? 10;
    const config = localConfig({
      hosts: hosts.map((h) => ({ name: h.name, statsPort: h.statsPort })),
      instancePort: ports.instance,
      asgName: ASG,
      drainSeconds,
      asgCrossCheck: options.asgCrossCheck ?? true,
    });
    const parameters = { config: `/${SERVICE}/${STAGE}/config`, webhookSecret: `/${SERVICE}/${STAGE}/webhook-secret` };
    // A Standard Webhooks secret (`whsec_` + base64 key); the deprecated scheme uses the same line as its text key.
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    ssm.parameters.set(parameters.config, { type: 'String', value: JSON.stringify(config) });
    ssm.parameters.set(parameters.webhookSecret, { type: 'SecureString', value: secret });
    const endpoints = {
      dynamodb: dynamo.endpoint,
      ec2: ec2.url,
      autoscaling: autoscaling.url,
      ssm: ssm.url,
      lambda: `http://127.0.0.1:${ports.lambda}`,
      webhook: `http://127.0.0.1:${ports.http}/hooks/deploy`,
    };
    log('starting serverless-offline (bundles the three handlers with esbuild)…');
    const offline = await startOffline({
      root: REPO_ROOT,
      stage: STAGE,
      region: REGION,
      httpPort: ports.http,
      lambdaPort: ports.lambda,
      awsEnv: awsEnv({ region: REGION, endpoints }),
      // The same names the functions read from CONFIG_PARAMETER / WEBHOOK_SECRET_PARAMETER, stated explicitly.
      params: { configParameter: parameters.config, webhookSecretParameter: parameters.webhookSecret },
      logFile,
    });
    cleanups.push({ what: 'serverless-offline', run: offline.stop });
    const state: StackState = {
      startedAt: new Date().toISOString(),
      stage: STAGE,
      region: REGION,
      stateDir,
      secret,
      pids: { stack: process.pid, offline: offline.pid, haproxy: hosts.flatMap((h) => h.pids()), dynamodb: dynamoPids },
      endpoints,
      hosts: hosts.map((h) => ({
        name: h.name,
        statsPort: h.statsPort,
        socket: h.socketPath,
        frontendPort: h.frontendPort('web'),
      })),
      backend: { name: 'web', port: ports.instance, asg: ASG, drainSeconds },
      instances,
      functions: {
        lifecycle: `${SERVICE}-${STAGE}-lifecycle`,
        webhook: `${SERVICE}-${STAGE}-webhook`,
        reconcile: `${SERVICE}-${STAGE}-reconcile`,
      },
      tables: { slots: tables.slotTable, idempotency: tables.idempotencyTable },
      parameters,
      logFile,
    };
    writeStackFiles(state);
    cleanups.push({ what: 'state files', run: async () => removeStackFiles(stateDir) });
    const tempDirs = hosts.map((h) => h.dir);
    return running(state, { ec2, autoscaling, ssm }, cleanups, tempDirs, options, log);
  } catch (error) {
    await runCleanups(cleanups, log);
    throw error;
  }
}

function running(
  state: StackState,
  standIns: LocalStack['standIns'],
  cleanups: Cleanup[],
  tempDirs: readonly string[],
  options: StackOptions,
  log: (line: string) => void,
): LocalStack {
  const reconcileNow = () =>
    invokeFunction(state.endpoints.lambda, state.functions.reconcile, {
      source: 'local.schedule',
      'detail-type': 'Scheduled Event',
    });
  const everyMs = (options.reconcileSeconds ?? 15) * 1000;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  const tick = () => {
    // One pass at a time, like the function's reserved concurrency of 1: the next starts after this one ends.
    inFlight = reconcileNow()
      .then((result) => options.onReconcile?.(result))
      .catch((error: Error) => log(`reconcile invoke failed: ${error.message}`))
      .finally(() => {
        inFlight = undefined;
        if (!stopping) timer = setTimeout(tick, everyMs);
      });
  };
  if (everyMs > 0) timer = setTimeout(tick, everyMs);
  const pids = () => [state.pids.offline, ...state.pids.haproxy, ...state.pids.dynamodb];
  // Whatever happens to this process, its children must not outlive it.
  const onExit = () => {
    for (const pid of pids()) killPid(pid, 'SIGKILL');
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return {
    state,
    standIns,
    reconcileNow,
    stop() {
      stopping ??= (async () => {
        clearTimeout(timer);
        // A pass in flight may finish (bounded): killing serverless-offline under it would only log noise.
        await Promise.race([inFlight, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
        await runCleanups(cleanups, log);
        process.removeListener('exit', onExit);
      })();
      return stopping;
    },
    killNow: onExit,
  };
}
