// Local stack: serverless-offline running the three unchanged handlers, and AWS-style Lambda invokes through it.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { killPid, waitForExit } from './processes.js';

const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 5_000;

/** What serverless-offline needs: where to listen, the SDK environment for the handlers, the SSM names. */
export interface OfflineOptions {
  readonly root: string;
  readonly stage: string;
  readonly region: string;
  readonly httpPort: number;
  readonly lambdaPort: number;
  /** AWS_* variables only: serverless-offline copies exactly those into the handlers' environment. */
  readonly awsEnv: Readonly<Record<string, string>>;
  readonly params: Readonly<Record<string, string>>;
  readonly logFile: string;
}

/** The running serverless-offline process. */
export interface Offline {
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts `serverless offline start` from node_modules/.bin and resolves once both of its servers listen. */
export async function startOffline(o: OfflineOptions): Promise<Offline> {
  const args = ['offline', 'start', '--stage', o.stage, '--region', o.region, '--host', '127.0.0.1'];
  args.push('--httpPort', String(o.httpPort), '--lambdaPort', String(o.lambdaPort), '--noSponsor');
  for (const [key, value] of Object.entries(o.params)) args.push('--param', `${key}=${value}`);
  const log = createWriteStream(o.logFile, { flags: 'a' });
  const child = spawn(join(o.root, 'node_modules', '.bin', 'serverless'), args, {
    cwd: o.root,
    env: { ...process.env, ...o.awsEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-8_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  if (!pid) throw new Error('could not spawn serverless offline');
  const offline: Offline = { pid, stop: () => stopChild(child, exited, log) };
  try {
    await waitReady(child, () => tail, o.lambdaPort);
  } catch (error) {
    await offline.stop();
    throw error;
  }
  return offline;
}

async function waitReady(child: ChildProcess, tail: () => string, lambdaPort: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`serverless offline exited (${child.exitCode ?? child.signalCode}):\n${tail()}`);
    }
    // "Server ready" comes after the HTTP API server; the Lambda invoke server logs its own line before it.
    if (/Server ready:/.test(tail()) && tail().includes(`:${lambdaPort}`)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`serverless offline not ready within ${READY_TIMEOUT_MS} ms:\n${tail()}`);
}

async function stopChild(child: ChildProcess, exited: Promise<void>, log: WriteStream): Promise<void> {
  if (child.pid && child.exitCode === null && child.signalCode === null) {
    killPid(child.pid, 'SIGTERM');
    const left = await Promise.race([exited.then(() => []), waitForExit([child.pid], STOP_TIMEOUT_MS)]);
    if (left.length > 0) {
      killPid(child.pid, 'SIGKILL');
      await exited;
    }
  }
  await new Promise<void>((resolve) => log.end(() => resolve()));
}

/** Result of a synchronous Lambda invoke: the payload, and the function error when the handler threw. */
export interface InvokeResult<T = unknown> {
  readonly ok: boolean;
  readonly payload: T;
  readonly functionError?: string;
}

/** Invokes a function the way the Lambda API does (`POST /2015-03-31/functions/<name>/invocations`, RequestResponse). */
export async function invokeFunction<T = unknown>(
  lambdaUrl: string,
  functionName: string,
  event: unknown,
): Promise<InvokeResult<T>> {
  const res = await fetch(`${lambdaUrl}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' },
    body: JSON.stringify(event),
  });
  const text = await res.text();
  const payload = (text ? JSON.parse(text) : null) as T;
  const functionError = res.headers.get('x-amz-function-error') ?? res.headers.get('x-amzn-errortype') ?? undefined;
  return { ok: res.ok && !functionError, payload, ...(functionError ? { functionError } : {}) };
}
