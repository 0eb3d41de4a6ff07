// Local stack: `.local/stack.json` (what the CLI needs to act on the running stack) and `.local/env` (for `source`).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SampleInstance } from './sample-instances.js';

/** The repository root (two levels above this file). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where `npm start` keeps its state unless told otherwise (gitignored). */
export const DEFAULT_STATE_DIR = join(REPO_ROOT, '.local');

/** Everything about a running stack, JSON-safe. */
export interface StackState {
  readonly startedAt: string;
  readonly stage: string;
  readonly region: string;
  readonly stateDir: string;
  /** The webhook secret stored in the SSM stand-in (local only, generated per start). */
  readonly secret: string;
  readonly pids: {
    readonly stack: number;
    readonly offline: number;
    readonly haproxy: readonly number[];
    readonly dynamodb: readonly number[];
  };
  readonly endpoints: {
    readonly dynamodb: string;
    readonly ec2: string;
    readonly autoscaling: string;
    readonly ssm: string;
    readonly lambda: string;
    readonly webhook: string;
  };
  readonly hosts: readonly {
    readonly name: string;
    readonly statsPort: number;
    readonly socket: string;
    readonly frontendPort: number;
  }[];
  readonly backend: {
    readonly name: string;
    readonly port: number;
    readonly asg: string;
    readonly drainSeconds: number;
  };
  readonly instances: readonly SampleInstance[];
  readonly functions: { readonly lifecycle: string; readonly webhook: string; readonly reconcile: string };
  readonly tables: { readonly slots: string; readonly idempotency: string };
  readonly parameters: { readonly config: string; readonly webhookSecret: string };
  readonly logFile: string;
}

/** AWS_* variables that point an SDK (handlers, CLI) at the local services. */
export function awsEnv(state: Pick<StackState, 'region' | 'endpoints'>): Record<string, string> {
  return {
    AWS_REGION: state.region,
    // DynamoDB Local keeps one database per access key and region: everybody must use this same pair.
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: state.endpoints.dynamodb,
    AWS_ENDPOINT_URL_EC2: state.endpoints.ec2,
    AWS_ENDPOINT_URL_AUTO_SCALING: state.endpoints.autoscaling,
    AWS_ENDPOINT_URL_SSM: state.endpoints.ssm,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** Every variable the operator CLI needs, as the functions get them. */
export function cliEnv(state: StackState): Record<string, string> {
  return {
    ...awsEnv(state),
    SLOT_TABLE: state.tables.slots,
    IDEMPOTENCY_TABLE: state.tables.idempotency,
    CONFIG_PARAMETER: state.parameters.config,
    WEBHOOK_SECRET_PARAMETER: state.parameters.webhookSecret,
  };
}

/** Writes stack.json and env into the state dir. */
export function writeStackFiles(state: StackState): void {
  mkdirSync(state.stateDir, { recursive: true });
  writeFileSync(join(state.stateDir, 'stack.json'), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  const env = Object.entries(cliEnv(state)).map(([k, v]) => `export ${k}=${v}`);
  writeFileSync(join(state.stateDir, 'env'), `# written by npm start; stale once the stack stops\n${env.join('\n')}\n`);
}

/** Removes stack.json and env, so nothing points at a stack that is gone (logs stay). */
export function removeStackFiles(stateDir: string): void {
  for (const file of ['stack.json', 'env']) rmSync(join(stateDir, file), { force: true });
}

/** Reads the running stack's state, or explains how to start one. */
export function readStackState(stateDir = process.env.SLOT_SYNC_LOCAL_DIR ?? DEFAULT_STATE_DIR): StackState {
  let text: string;
  try {
    text = readFileSync(join(stateDir, 'stack.json'), 'utf8');
  } catch {
    throw new Error(
      `no local stack is running (${join(stateDir, 'stack.json')} is missing): start one with \`npm start\``,
    );
  }
  return JSON.parse(text) as StackState;
}
