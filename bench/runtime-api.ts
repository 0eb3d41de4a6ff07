// Benchmark: 2,000 `set server … weight` commands to one local HAProxy, one connection per command vs one pipelined batch.
import { createConnection } from 'node:net';
import { startHaproxy, stopAll } from '../bin/harness/haproxy.js';
import { type Command, setWeight } from '../functions/lib/domain/commands.js';
import { renderCommand } from '../functions/lib/haproxy/commands.js';
import { sendBatch } from '../functions/lib/haproxy/transport.js';
import { log, median, opsPerSec, round, timed } from './lib.js';

const COMMANDS = 2_000;
const SLOTS = 20;
const RUNS = 5;
const GOAL = 20;

function buildCommands(offset: number): Command[] {
  return Array.from({ length: COMMANDS }, (_, i) => setWeight('be', `web${(i % SLOTS) + 1}`, ((i + offset) % 256) + 1));
}

/** The way a cron script does it: a fresh non-interactive connection per command, reply read until HAProxy's FIN. */
function oneShot(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${text}\n`));
    socket.on('data', (chunk: string) => {
      reply += chunk;
    });
    socket.on('end', () => resolve(reply));
    socket.on('error', reject);
  });
}

async function perCommand(port: number, commands: readonly Command[]): Promise<number> {
  let bad = 0;
  // Non-interactive mode ends each reply with one extra "\n": an empty success is exactly "\n".
  for (const command of commands) if ((await oneShot(port, renderCommand(command))) !== '\n') bad++;
  return bad;
}

async function pipelined(port: number, commands: readonly Command[]): Promise<number> {
  const endpoint = { kind: 'tcp', host: '127.0.0.1', port } as const;
  const lines = commands.map(renderCommand);
  const replies = await sendBatch('bench', endpoint, lines, { connectTimeoutMs: 1_000, deadlineMs: 30_000 });
  return replies.filter((r) => r !== '').length + (commands.length - replies.length);
}

/** Runs both modes RUNS times (after a warm-up) and reports median ops/s, the ratio and whether it meets the goal. */
export async function benchRuntimeApi(): Promise<object> {
  const host = await startHaproxy({ name: 'bench', backends: [{ name: 'be', slotPrefix: 'web', slots: SLOTS }] });
  try {
    const port = host.statsPort;
    await perCommand(port, buildCommands(0).slice(0, 100));
    await pipelined(port, buildCommands(1));
    const a: number[] = [];
    const b: number[] = [];
    let badReplies = 0;
    for (let run = 0; run < RUNS; run++) {
      const perCmd = await timed(() => perCommand(port, buildCommands(run * 2)));
      const batch = await timed(() => pipelined(port, buildCommands(run * 2 + 1)));
      badReplies += perCmd.result + batch.result;
      a.push(opsPerSec(COMMANDS, perCmd.ms));
      b.push(opsPerSec(COMMANDS, batch.ms));
      log(`runtimeApi run ${run + 1}/${RUNS}: per-command ${a.at(-1)} ops/s, pipelined ${b.at(-1)} ops/s`);
    }
    const ratio = round(median(b) / median(a), 1);
    return {
      commands: COMMANDS,
      slots: SLOTS,
      runs: RUNS,
      haproxy: '2.6 (local, loopback TCP stats socket)',
      oneConnectionPerCommand: { opsPerSec: median(a), runs: a },
      pipelinedBatch: { opsPerSec: median(b), runs: b },
      badReplies,
      ratio,
      goal: GOAL,
      pass: badReplies === 0 && ratio >= GOAL,
    };
  } finally {
    await stopAll([host]);
  }
}
