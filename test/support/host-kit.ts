// Drives the HAProxy host kit (infra/haproxy/) from tests: renders the templates, runs slot-sync-reload, master CLI.
import { execFile, spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { HaproxyHandle, HaproxyOptions } from '../../bin/harness/haproxy.js';
import type { HaproxyLayout } from '../../bin/harness/haproxy-config.js';

/** Where the kit's files live in the repository. */
export const KIT_DIR = fileURLToPath(new URL('../../infra/haproxy/', import.meta.url));
const RENDER = `${KIT_DIR}render.mjs`;
const RELOAD = `${KIT_DIR}slot-sync-reload`;

/** Backend, slot prefix and slot count every kit test renders. */
export const KIT_BACKEND = { name: 'web', slotPrefix: 'web', slots: 4 } as const;

/** Outcome of a child process. */
export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs render.mjs with exactly `vars` as its environment (plus PATH) over the given templates (default: the host template). */
export function renderKit(
  vars: Readonly<Record<string, string>>,
  templates = ['haproxy.cfg.tmpl'],
  extraArgs: string[] = [],
): Run {
  const result = spawnSync(process.execPath, [RENDER, ...extraArgs, ...templates.map((t) => `${KIT_DIR}${t}`)], {
    env: { PATH: process.env.PATH ?? '', ...vars },
    encoding: 'utf8',
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Loopback values for every variable of haproxy.cfg.tmpl, at the ports and paths of a harness layout. */
export function loopbackVars(layout: HaproxyLayout): Record<string, string> {
  const frontendPort = layout.frontendPorts[KIT_BACKEND.name];
  if (!frontendPort) throw new Error(`layout has no frontend port for ${KIT_BACKEND.name}`);
  return {
    STATS_ADDR: '127.0.0.1',
    STATS_PORT: String(layout.statsPort),
    ADMIN_SOCKET: layout.socketPath,
    STATE_FILE: layout.stateFilePath,
    LOG_TARGET: 'stdout format raw',
    FRONTEND_ADDR: '127.0.0.1',
    FRONTEND_PORT: String(frontendPort),
    BACKEND: KIT_BACKEND.name,
    SLOT_PREFIX: KIT_BACKEND.slotPrefix,
    SLOT_COUNT: String(KIT_BACKEND.slots),
    HEALTH_PATH: '/',
  };
}

/** Harness options for a master-worker HAProxy started from the rendered host template (+ extra vars/templates). */
export function kitHaproxyOptions(
  name: string,
  extra: { vars?: (layout: HaproxyLayout) => Record<string, string>; templates?: string[] } = {},
): HaproxyOptions {
  return {
    name,
    backends: [KIT_BACKEND],
    masterWorker: true,
    configText: (layout) => {
      const run = renderKit({ ...loopbackVars(layout), ...extra.vars?.(layout) }, extra.templates);
      if (run.code !== 0) throw new Error(`render.mjs failed (${run.code}): ${run.stderr}`);
      return run.stdout;
    },
  };
}

/** The helper's arguments for a harness-started HAProxy. */
export function reloadArgs(host: HaproxyHandle): string[] {
  const { masterSocketPath, socketPath, stateFilePath, configPath } = host.layout;
  return [
    '--master-socket',
    masterSocketPath,
    '--stats-socket',
    socketPath,
    '--state-file',
    stateFilePath,
    '--config',
    configPath,
    '--timeout',
    '20',
  ];
}

/** Runs slot-sync-reload asynchronously (the event loop, and any load running in it, keeps going meanwhile). */
export function runReloadHelper(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [RELOAD, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 40_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** One command on a unix CLI socket (master or admin), non-interactive: the reply up to HAProxy's close. */
export function unixCli(path: string, command: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    let reply = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`'${command}' on ${path} timed out`)));
    // Half-close after the command: the master CLI answers and closes only once it sees our end of input.
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (chunk: string) => {
      reply += chunk;
    });
    socket.on('end', () => resolve(reply));
    socket.on('error', reject);
  });
}

/** The master's `show proc`: reload and failed-reload counters, and the current workers' pids. */
export async function showProc(host: HaproxyHandle): Promise<{ reloads: number; failed: number; workers: number[] }> {
  const text = await unixCli(host.layout.masterSocketPath, 'show proc');
  const master = /^\d+\s+master\s+(\d+)\s+\[failed: (\d+)\]/m.exec(text);
  if (!master) throw new Error(`unexpected show proc reply: ${text}`);
  const section = text.split(/^# workers$/m)[1]?.split(/^# /m)[0] ?? '';
  const workers = [...section.matchAll(/^(\d+)\s+worker\b/gm)].map((m) => Number(m[1]));
  return { reloads: Number(master[1]), failed: Number(master[2]), workers };
}
