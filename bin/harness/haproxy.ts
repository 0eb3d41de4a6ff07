// Harness shared by the tests and the local stack: real HAProxy processes on fresh loopback ports, started and stopped by pid.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostConfig } from '../../functions/lib/config.js';
import { type HaproxyLayout, type HaproxyOptions, renderConfig } from './haproxy-config.js';
import { delay, oneShot, parentOf, tryKill } from './haproxy-util.js';
import { freePort } from './ports.js';

export type { BackendSpec, HaproxyOptions } from './haproxy-config.js';
export { oneShot } from './haproxy-util.js';

const HAPROXY = process.env.HAPROXY_BIN ?? 'haproxy';
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const running = new Set<HaproxyHandle>();
let counter = 0;

// Whatever a crashed or interrupted test run leaves behind would share our ports (SO_REUSEPORT) in the next run.
process.once('exit', () => {
  for (const handle of running) for (const pid of handle.pids()) tryKill(pid, 'SIGKILL');
});

/** A running HAProxy: its ports and files, and how to stop, kill or restart it. */
export class HaproxyHandle {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private output = '';
  private workerPid?: number;

  constructor(
    readonly name: string,
    readonly options: HaproxyOptions,
    readonly layout: HaproxyLayout,
  ) {}

  /** Pid of the process we started (the master with `masterWorker`). */
  get pid(): number {
    if (!this.child?.pid) throw new Error(`${this.name} is not running`);
    return this.child.pid;
  }
  get statsPort(): number {
    return this.layout.statsPort;
  }
  get socketPath(): string {
    return this.layout.socketPath;
  }
  get dir(): string {
    return this.layout.dir;
  }
  get configPath(): string {
    return this.layout.configPath;
  }
  /** Port of the TLS listener in front of the CLI (only with `tlsCli`). */
  get tlsPort(): number {
    if (!this.layout.tlsPort) throw new Error(`${this.name} has no TLS CLI listener`);
    return this.layout.tlsPort;
  }
  /** The loopback port where the frontend of `backend` listens. */
  frontendPort(backend: string): number {
    const port = this.layout.frontendPorts[backend];
    if (!port) throw new Error(`${this.name} has no backend ${backend}`);
    return port;
  }
  /** This host as the config document names it (plain TCP to the stats socket). */
  hostConfig(): HostConfig {
    return { name: this.name, host: '127.0.0.1', port: this.layout.statsPort };
  }
  /** Everything the process wrote to stdout/stderr (startup warnings, alerts). */
  logs(): string {
    return this.output;
  }
  /** Our pid and the worker's, each once (without `masterWorker` they are the same process). */
  pids(): number[] {
    return [...new Set([this.child?.pid, this.workerPid])].filter((p): p is number => typeof p === 'number' && p > 0);
  }

  /** Spawns the process and waits until `show info` answers with a Pid that belongs to it. */
  async start(): Promise<void> {
    const { dir, configPath, masterSocketPath } = this.layout;
    writeFileSync(configPath, this.options.configText?.(this.layout) ?? renderConfig(this.options, this.layout));
    const args = this.options.masterWorker
      ? ['-W', '-db', '-S', masterSocketPath, '-f', configPath]
      : ['-db', '-f', configPath];
    const child = spawn(HAPROXY, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.output = '';
    const collect = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-16_384);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('error', (error) => collect(Buffer.from(`spawn error: ${error.message}\n`)));
    running.add(this);
    try {
      this.workerPid = await this.waitReady(child);
    } catch (error) {
      await this.kill('SIGKILL');
      throw error;
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within a few seconds; resolves once it has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return this.forget();
    tryKill(child.pid, 'SIGTERM');
    const stopped = await Promise.race([this.exited?.then(() => true), delay(STOP_TIMEOUT_MS).then(() => false)]);
    if (!stopped) await this.kill('SIGKILL');
    this.forget();
  }

  /** Sends `signal` by pid; for terminating signals waits until the process has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    tryKill(child.pid, signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM' || signal === 'SIGINT') {
      await this.exited;
      // A master-worker's worker would otherwise linger on the shared ports.
      if (this.workerPid && signal === 'SIGKILL') tryKill(this.workerPid, 'SIGKILL');
      this.forget();
    }
  }

  /** Stop, then start the same config on the same ports: runtime state is lost unless the state file says otherwise. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  private forget(): void {
    running.delete(this);
  }

  private async waitReady(child: ChildProcess): Promise<number> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `${this.name}: haproxy exited (${child.exitCode ?? child.signalCode}) during startup:\n${this.output}`,
        );
      }
      const info = await oneShot(this.layout.statsPort, 'show info').catch((error: Error) => error.message);
      const pid = Number(/^Pid: (\d+)$/m.exec(info)?.[1]);
      if (pid) {
        if (pid === child.pid || (this.options.masterWorker && parentOf(pid) === child.pid)) return pid;
        throw new Error(`${this.name}: a stray haproxy (pid ${pid}) answers on 127.0.0.1:${this.layout.statsPort}`);
      }
      last = info;
      await delay(50);
    }
    throw new Error(`${this.name}: no 'show info' answer within ${READY_TIMEOUT_MS}ms (${last}):\n${this.output}`);
  }
}

/** Starts one HAProxy in a fresh temp dir with fresh ports; retried with new ports if a port turns out taken. */
export async function startHaproxy(options: HaproxyOptions): Promise<HaproxyHandle> {
  const name = options.name ?? `hap${++counter}`;
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const handle = new HaproxyHandle(name, options, await allocateLayout(options));
    try {
      await handle.start();
      return handle;
    } catch (error) {
      lastError = error;
      rmSync(handle.dir, { recursive: true, force: true });
      if (!/stray haproxy|cannot bind|Address already in use/i.test(String(error))) break;
    }
  }
  throw lastError;
}

/** Starts `n` HAProxy processes in parallel, named `${prefix}1..n`. */
export async function startFleet(
  n: number,
  options: HaproxyOptions,
  prefix = `fleet${++counter}-hap`,
): Promise<HaproxyHandle[]> {
  const started = await Promise.allSettled(
    Array.from({ length: n }, (_, i) => startHaproxy({ ...options, name: `${prefix}${i + 1}` })),
  );
  const handles = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stopAll(handles);
    throw failed.reason;
  }
  return handles;
}

/** Stops the given handles (default: every process this test file started) and removes their temp dirs. */
export async function stopAll(handles: Iterable<HaproxyHandle> = [...running]): Promise<void> {
  const list = [...handles];
  await Promise.all(list.map((h) => h.stop()));
  for (const handle of list) rmSync(handle.dir, { recursive: true, force: true });
}

async function allocateLayout(options: HaproxyOptions): Promise<HaproxyLayout> {
  const dir = mkdtempSync(join(tmpdir(), 'hap-'));
  const frontendPorts: Record<string, number> = {};
  for (const backend of options.backends) frontendPorts[backend.name] = await freePort();
  return {
    dir,
    configPath: join(dir, 'haproxy.cfg'),
    statsPort: await freePort(),
    socketPath: join(dir, 'admin.sock'),
    masterSocketPath: join(dir, 'master.sock'),
    pidFile: join(dir, 'haproxy.pid'),
    stateFilePath: join(dir, 'haproxy.state'),
    frontendPorts,
    tlsPort: options.tlsCli ? await freePort() : undefined,
  };
}
