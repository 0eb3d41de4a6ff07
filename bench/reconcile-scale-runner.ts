// reconcileScale's processes: the reconcile handler bundled and run in a child of its own (one invocation per
// `pass()`), and what /proc says about the CPU and memory of the other processes sharing this machine.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { handlerEnv } from '../test/support/lambda.js';
import { machineBusyMs, processCpuMs } from './cpu.js';
import type { PassResult } from './reconcile-scale-child.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHILD = fileURLToPath(new URL('./reconcile-scale-child.ts', import.meta.url));
const CHILD_DEADLINE_MS = 120_000;

/** Where the child finds the table: DynamoDB Local's port and the two tables, as the fixture made them. */
export interface TableEnv {
  readonly dynamoPort: number;
  readonly slotTable: string;
  readonly idempotencyTable: string;
}

/** The handler in its own process, one invocation per `pass()`. */
export interface PassChild {
  readonly startMs: number;
  readonly rssAfterImportMb: number;
  pass(): Promise<PassResult>;
  stop(): Promise<void>;
}

function nextMessage<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`reconcile child: no ${what} within ${CHILD_DEADLINE_MS} ms`));
    }, CHILD_DEADLINE_MS);
    const onMessage = (m: T) => {
      cleanup();
      resolve(m);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`reconcile child exited (${code}) before its ${what}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/**
 * Bundles the child entry (the handler and all it imports) as serverless.yml's esbuild settings bundle a function, so
 * the child's memory is what the Lambda's would be: no tsx, whose loader thread alone adds ~150 MB of RSS.
 */
export async function bundleChild(dir: string): Promise<string> {
  const outfile = join(dir, 'reconcile-scale-child.mjs');
  await build({
    entryPoints: [CHILD],
    outfile,
    bundle: true,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" },
    logLevel: 'error',
  });
  return outfile;
}

/** Starts the child with the env the deployed function gets (this process is itself a throwaway `isolated()` child). */
export async function startChild(
  table: TableEnv,
  bundle: string,
  config: object,
  profileName?: string,
): Promise<PassChild> {
  handlerEnv({ ...table, config });
  const profile = process.env.RECONCILE_SCALE_CPU_PROF;
  const profileArgs =
    profile && profileName ? ['--cpu-prof', '--cpu-prof-dir', profile, '--cpu-prof-name', profileName] : [];
  const started = performance.now();
  // stdout (the Lambda's log and EMF lines) is dropped; stderr shows anything that goes wrong.
  const child = spawn(process.execPath, [...profileArgs, bundle], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    // As serverless.yml sets it for every function.
    env: {
      ...process.env,
      NODE_OPTIONS: '--enable-source-maps',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const ready = await nextMessage<{ rssMb: number }>(child, 'ready message');
    return {
      startMs: performance.now() - started,
      rssAfterImportMb: ready.rssMb,
      async pass() {
        const result = nextMessage<PassResult>(child, 'pass result');
        child.send({ kind: 'pass' });
        return result;
      },
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.send({ kind: 'exit' });
        const timer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      },
    };
  } catch (error) {
    if (child.pid) process.kill(child.pid, 'SIGKILL');
    throw error;
  }
}

/** VmRSS of each process, MB. */
export function rssMb(pids: readonly number[]): number[] {
  return pids.map((pid) => {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN) / 1024;
  });
}

/** One pass with the CPU the hosts and the machine spent meanwhile (they share this machine's cores with it). */
export async function measuredPass(child: PassChild, hostPids: readonly number[]) {
  const hostsBefore = processCpuMs(hostPids);
  const machineBefore = machineBusyMs();
  const result = await child.pass();
  return {
    result,
    haproxyCpuMs: processCpuMs(hostPids) - hostsBefore,
    machineBusyMs: machineBusyMs() - machineBefore,
  };
}
