// Helpers for the CLI tests: run `slot-sync` as a subprocess, build its environment, hold HTTP sessions on demand.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, request, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { type ConfigDocument, type HostConfig, parseConfig } from '../../functions/lib/config.js';
import type { ObservedSlot } from '../../functions/lib/domain/types.js';
import { createFleet } from '../../functions/lib/haproxy/fleet.js';
import { waitFor } from '../support/wait.js';

/** The launcher operators run. */
export const CLI = join(import.meta.dirname, '../../bin/slot-sync.mjs');
const CLI_DEADLINE_MS = 60_000;
export const TIMEOUTS = { connectMs: 500, commandMs: 3_000 } as const;

/** How a CLI run ended. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A CLI still running: its output so far, a way to wait for a line, signal it, and its end. */
export interface RunningCli {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Polls until stdout matches (throws naming the pattern and the output on timeout). */
  until(pattern: RegExp, timeoutMs?: number): Promise<void>;
  readonly done: Promise<CliRun>;
}

/** The variables every CLI run gets: the table, the config, DynamoDB Local, and AWS endpoints that stay on loopback. */
export function cliEnv(slotTable: string, dynamodbEndpoint: string, config: ConfigDocument): Record<string, string> {
  return {
    PATH: String(process.env.PATH),
    SLOT_TABLE: slotTable,
    CONFIG_JSON: JSON.stringify(config),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint,
    // Never used here; pointed at loopback so nothing could ever leave the machine.
    AWS_ENDPOINT_URL_SSM: 'http://127.0.0.1:9',
    AWS_ENDPOINT_URL_AUTO_SCALING: 'http://127.0.0.1:9',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** A config document over `hosts` with one backend `web` (members on port 80 unless they say otherwise). */
export function configFor(
  hosts: readonly HostConfig[],
  backend: Partial<ConfigDocument['backends'][number]> = {},
): ConfigDocument {
  return parseConfig({
    hosts: [...hosts],
    backends: [{ name: 'web', slotPrefix: 'web', port: 80, drainSeconds: 300, ...backend }],
    timeouts: TIMEOUTS,
  });
}

/** Starts the CLI with `env` (undefined values removed); killed by pid past the deadline. */
export function startCli(args: readonly string[], env: Record<string, string | undefined>): RunningCli {
  const merged = Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined);
  const child = spawn(process.execPath, [CLI, ...args], { env: Object.fromEntries(merged), stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), CLI_DEADLINE_MS);
  const done = new Promise<CliRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    until: async (pattern, timeoutMs = 20_000) => {
      await waitFor(() => pattern.test(stdout), { timeoutMs, what: `${pattern} in the CLI's stdout:\n${stdout}` });
    },
    done,
  };
}

/** Runs the CLI to completion. */
export function runCli(args: readonly string[], env: Record<string, string | undefined>): Promise<CliRun> {
  return startCli(args, env).done;
}

/** The slot as one host reports it right now. */
export async function slotOn(host: HostConfig, slot: string, backend = 'web'): Promise<ObservedSlot | undefined> {
  const [o] = await createFleet({ hosts: [host], timeouts: TIMEOUTS }).observe([backend]);
  return o?.ok ? o.backends.get(backend)?.find((s) => s.server === slot) : undefined;
}

/** An HTTP member that answers health checks (`GET /`) at once and holds `GET /hold` open until released. */
export interface HoldingInstance {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  /** Requests to /hold that are open right now. */
  held(): number;
  /** Answers every held request, so their sessions end. */
  release(): void;
  close(): Promise<void>;
}

/** Starts a holding instance on 127.0.0.1 and a free port. */
export async function startHoldingInstance(id: string): Promise<HoldingInstance> {
  const waiting = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    if (req.url !== '/hold') return res.end(id);
    waiting.add(res);
    res.once('close', () => waiting.delete(res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error(`${id} has no address`);
  const release = () => {
    for (const res of waiting) res.end(id);
    waiting.clear();
  };
  return {
    id,
    address: '127.0.0.1',
    port: address.port,
    held: () => waiting.size,
    release,
    close: () =>
      new Promise<void>((resolve) => {
        release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Opens requests through a frontend until `holding` keeps one open, then waits until `host` counts it on `slot`:
 * exactly one more session there (round robin may first pick another ready slot, whose member answers at once).
 * Each request's promise is pushed to `open`, so the caller can await them all once released.
 */
export async function holdSession(
  holding: HoldingInstance,
  frontendPort: number,
  host: HostConfig,
  slot: string,
  open: Promise<void>[],
): Promise<void> {
  const before = holding.held();
  const sessions = (await slotOn(host, slot))?.sessions ?? 0;
  await waitFor(
    async () => {
      open.push(get(frontendPort, '/hold'));
      return waitFor(() => holding.held() > before, { timeoutMs: 1_000, what: 'a held request' }).catch(() => false);
    },
    { timeoutMs: 10_000, intervalMs: 0, what: `a request held by ${holding.id}` },
  );
  await waitFor(async () => (await slotOn(host, slot))?.sessions === sessions + 1, {
    what: `one more session on ${slot}`,
  });
}

/** One GET that settles (never rejects) when its response ended or failed. */
function get(port: number, path: string): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      res.resume();
      res.once('end', () => resolve());
    });
    req.once('error', () => resolve());
    req.end();
  });
}

/** The last line of some output. */
export const lastLine = (text: string) => text.trimEnd().split('\n').at(-1);
/** The status row of `web/<slot>`. */
export const rowOf = (text: string, slot: string) => text.split('\n').find((l) => l.startsWith(`web/${slot} `)) ?? '';
