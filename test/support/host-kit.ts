// Drives the HAProxy host kit (infra/haproxy/) from tests: renders the templates, runs slot-sync-reload, master CLI.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HaproxyHandle, HaproxyOptions } from '../../bin/harness/haproxy.js';
import type { HaproxyLayout } from '../../bin/harness/haproxy-config.js';

/** Where the kit's files live in the repository. */
export const KIT_DIR = fileURLToPath(new URL('../../infra/haproxy/', import.meta.url));
const RENDER = `${KIT_DIR}render.mjs`;
const RELOAD = `${KIT_DIR}slot-sync-reload`;

/** The binary the harness runs (the matrix sets HAPROXY_BIN): the templates are rendered for its version. */
export const HAPROXY_BIN = process.env.HAPROXY_BIN ?? 'haproxy';

let binVersion: string | undefined;
/**
 * The version HAPROXY_BIN reports (`2.6.12-1+deb12u4`, `3.0.11-9e587df`): the `Version` its `show info` prints too, so
 * what the CLI shows per host. A test expects this, never a fixed major, so the matrix runs it on every version.
 */
export function haproxyBinVersion(): string {
  if (binVersion === undefined) {
    const banner = spawnSync(HAPROXY_BIN, ['-v'], { encoding: 'utf8' }).stdout ?? '';
    const match = /^HAProxy version (\S+)/.exec(banner);
    if (!match?.[1]) throw new Error(`${HAPROXY_BIN} -v printed no 'HAProxy version …' line: ${banner.slice(0, 120)}`);
    binVersion = match[1];
  }
  return binVersion;
}

/** haproxyBinVersion() as a literal piece of a RegExp. */
export function haproxyBinVersionPattern(): string {
  return haproxyBinVersion().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Debian's package user and group: the kit's workers drop to them (tests run as root, as CI does). */
export const KIT_RUN_AS = { user: 'haproxy', group: 'haproxy' } as const;

/** Backend, slot prefix and slot count every kit test renders. */
export const KIT_BACKEND = { name: 'web', slotPrefix: 'web', slots: 4 } as const;

/** Outcome of a child process. */
export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs render.mjs with exactly `vars` as its environment (plus PATH) over the given templates (default: the host
 * template), for the version of HAPROXY_BIN unless `extraArgs` says otherwise.
 */
export function renderKit(
  vars: Readonly<Record<string, string>>,
  templates = ['haproxy.cfg.tmpl'],
  extraArgs: string[] = [],
): Run {
  const version =
    extraArgs.includes('--haproxy-version') || extraArgs.includes('--haproxy') ? [] : ['--haproxy', HAPROXY_BIN];
  const args = [RENDER, ...version, ...extraArgs, ...templates.map((t) => `${KIT_DIR}${t}`)];
  const result = spawnSync(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', ...vars },
    encoding: 'utf8',
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The empty directory the kit's workers are chrooted into: `chroot/` in the layout's (root-owned, 0700) dir. */
export function chrootDir(layout: HaproxyLayout): string {
  return join(layout.dir, 'chroot');
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
    RUN_USER: KIT_RUN_AS.user,
    RUN_GROUP: KIT_RUN_AS.group,
    CHROOT_DIR: chrootDir(layout),
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
      mkdirSync(chrootDir(layout), { recursive: true, mode: 0o755 });
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
    // Its `haproxy -c` must be the binary under test: 2.6 refuses what the template renders for 3.2 (init-state).
    '--haproxy',
    HAPROXY_BIN,
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

/** What the master's `show proc` says. */
export interface ProcStatus {
  readonly reloads: number;
  readonly failed: number;
  /** `# workers`: the current generation. */
  readonly workers: number[];
  /**
   * `# old workers` (3.x): previous generations still running. After a failed reload 3.2 lists the worker that
   * keeps serving here, with `# workers` empty; 2.6 and 3.0 keep it under `# workers`.
   */
  readonly oldWorkers: number[];
}

/** The master's `show proc`: reload and failed-reload counters, and the workers' pids by section. */
export async function showProc(host: HaproxyHandle): Promise<ProcStatus> {
  const text = await unixCli(host.layout.masterSocketPath, 'show proc');
  const master = /^\d+\s+master\s+(\d+)\s+\[failed: (\d+)\]/m.exec(text);
  if (!master) throw new Error(`unexpected show proc reply: ${text}`);
  const pids = (name: string) => {
    const section = text.split(new RegExp(`^# ${name}$`, 'm'))[1]?.split(/^# /m)[0] ?? '';
    return [...section.matchAll(/^(\d+)\s+worker\b/gm)].map((m) => Number(m[1]));
  };
  return {
    reloads: Number(master[1]),
    failed: Number(master[2]),
    workers: pids('workers'),
    oldWorkers: pids('old workers'),
  };
}
