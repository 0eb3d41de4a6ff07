// Writes docs/PERFORMANCE.md from one `npm run bench` result: a table per benchmark, the machine, the command.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { jvmOptions } from '../bin/harness/dynamodb-local.js';
import type { MetricRow } from './report.js';

/** What each benchmark key measures, as the heading of its table. */
const TITLES: Record<string, string> = {
  runtimeApi: 'Runtime API transport: 2,000 commands, one connection each vs one pipelined batch',
  reconcile: 'Reconcile (issue 3): 5 hosts × 500 slots, 10% drift',
  reconcileLarge: 'Reconcile (issue 6): 10 hosts × 1,000 slots, 10% drift',
  eventToReady:
    'Event to ready (issues 6, 10): 200 launch events in a row through the lifecycle handler, 3 hosts, with the limit and the seed-style baseline measured in the same run',
  burst: 'Burst (issues 6, 10): 200 concurrent launch events, 3 hosts, 256 slots',
  storm: 'Storm (issue 10): 1,000 launch events in SQS batches of 10 through 10 containers, 3 hosts × 1,024 slots',
  reconcileScale:
    'Reconcile at fleet scale (issue 10): 50 hosts × 2,000 slots, 10% drift; also 10 × 1,000 and 25 × 2,000',
  coldStart: 'Cold start (issues 4 and 6): zipped bundle and cold import per function',
};

/** Where the file goes. */
export const PERFORMANCE_PATH = fileURLToPath(new URL('../docs/PERFORMANCE.md', import.meta.url));

function firstLine(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0] ?? '';
  } catch (error) {
    return `unknown (${(error as Error).message.split('\n')[0]})`;
  }
}

/** The machine facts that make the numbers comparable. */
export function machine(): Record<string, string> {
  // `java -version` prints to stderr.
  const java = firstLine('sh', ['-c', 'java -version 2>&1']);
  return {
    cpus: `${availableParallelism()} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: `Linux ${release()}`,
    node: process.version,
    haproxy: firstLine('haproxy', ['-v']),
    java: `${java} (DynamoDB Local, JDK_JAVA_OPTIONS=${jvmOptions(process.env)})`,
    // Other work on the machine skews every timing: said next to the numbers, not hidden.
    'load average (1 min) when written': loadavg()[0]?.toFixed(2) ?? 'unknown',
  };
}

/** The rows of a result: its own `metrics`, or for the runtime API benchmark the fields it reports. */
function rowsOf(key: string, result: Record<string, unknown>): MetricRow[] {
  if (Array.isArray(result.metrics)) return result.metrics as MetricRow[];
  if (typeof result.error === 'string') return [{ metric: 'error', value: result.error, pass: false }];
  if (key === 'runtimeApi') {
    const r = result as {
      oneConnectionPerCommand: { opsPerSec: number };
      pipelinedBatch: { opsPerSec: number };
      ratio: number;
      goal: number;
      badReplies: number;
      pass: boolean;
    };
    return [
      { metric: 'one connection per command', value: r.oneConnectionPerCommand.opsPerSec, unit: 'commands/s' },
      { metric: 'one pipelined batch', value: r.pipelinedBatch.opsPerSec, unit: 'commands/s' },
      {
        metric: 'ratio pipelined ÷ per command',
        value: r.ratio,
        unit: '×',
        goal: `≥ ${r.goal} ×`,
        pass: r.ratio >= r.goal,
      },
      { metric: 'replies that were not a success', value: r.badReplies, goal: '= 0', pass: r.badReplies === 0 },
    ];
  }
  return [];
}

const cell = (text: string): string => text.replaceAll('|', '\\|');

/** Renders the markdown document. */
export function renderPerformance(
  results: Record<string, object>,
  meta: { readonly date: string; readonly command: string; readonly durationSec: number },
  facts: Record<string, string> = machine(),
): string {
  const lines = [
    '# Performance',
    '',
    `Written by \`${meta.command}\` from one run on ${meta.date} (${meta.durationSec} s). Do not edit by hand: run it again.`,
    'Everything ran on loopback on this machine: real HAProxy processes, DynamoDB Local, the real handlers in-process',
    '(EC2 and Auto Scaling faked at the SDK boundary). How each number is measured: `bench/README.md`.',
    '',
    '| machine | |',
    '|---|---|',
    ...Object.entries(facts).map(([k, v]) => `| ${k} | ${cell(v)} |`),
    '',
  ];
  for (const [key, value] of Object.entries(results)) {
    const result = value as Record<string, unknown>;
    const rows = rowsOf(key, result);
    const verdict = rows.some((r) => r.pass === false) ? 'goal missed' : 'all goals met';
    lines.push(
      `## ${TITLES[key] ?? key}`,
      '',
      `\`${key}\`: **${verdict}**.`,
      '',
      '| metric | value | goal | pass |',
      '|---|---|---|---|',
    );
    for (const r of rows) {
      const value = typeof r.value === 'number' ? r.value.toLocaleString('en-US') : r.value;
      const pass = r.pass === undefined ? '' : r.pass ? 'yes' : '**no**';
      lines.push(
        `| ${cell(r.metric)} | ${cell(`${value}${r.unit ? ` ${r.unit}` : ''}`)} | ${cell(r.goal ?? '')} | ${pass} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** Writes docs/PERFORMANCE.md. */
export function writePerformance(
  results: Record<string, object>,
  meta: { readonly date: string; readonly command: string; readonly durationSec: number },
): void {
  writeFileSync(PERFORMANCE_PATH, renderPerformance(results, meta));
}
