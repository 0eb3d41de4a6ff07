// CPU time of processes and of the whole machine, from /proc (Linux): which process a benchmark's wall time waits on.
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { info, type MetricRow } from './report.js';

// USER_HZ: /proc reports CPU time in ticks of 1/100 s on Linux.
const TICK_MS = 10;

/** CPU time (user + system) the given processes have used so far, ms, from /proc/<pid>/stat. */
export function processCpuMs(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state is field 3, utime 14 and stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * TICK_MS;
}

/** CPU time the whole machine has spent busy so far (every core, every process), ms, from /proc/stat. */
export function machineBusyMs(): number {
  const [, ...values] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = values.map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * TICK_MS;
}

/** Pids of the running processes whose command line contains `needle` (e.g. the DynamoDB Local JVM). */
export function pidsWith(needle: string): number[] {
  return readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      return readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle) ? [Number(entry)] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

/**
 * CPU spent while `run` ran: by this process (the handlers), by DynamoDB Local, by the given HAProxy processes, and by
 * the whole machine, ms.
 */
export async function cpuDuring<T>(
  run: () => Promise<T>,
  haproxyPids: readonly number[] = [],
): Promise<{ result: T; cpu: CpuSplit }> {
  const dynamo = pidsWith('DynamoDBLocal.jar');
  const self = process.cpuUsage();
  const [dynamoBefore, haproxyBefore, machineBefore] = [
    processCpuMs(dynamo),
    processCpuMs(haproxyPids),
    machineBusyMs(),
  ];
  const result = await run();
  const used = process.cpuUsage(self);
  return {
    result,
    cpu: {
      handlersMs: Math.round((used.user + used.system) / 1000),
      dynamodbLocalMs: processCpuMs(dynamo) - dynamoBefore,
      haproxyMs: processCpuMs(haproxyPids) - haproxyBefore,
      machineMs: machineBusyMs() - machineBefore,
    },
  };
}

export interface CpuSplit {
  readonly handlersMs: number;
  readonly dynamodbLocalMs: number;
  /** The HAProxy hosts' processes (0 when none were given). */
  readonly haproxyMs: number;
  readonly machineMs: number;
}

/**
 * The rows that say where the time went: each part's CPU next to the cores the machine had for the wall time; the
 * wall time DynamoDB Local's work alone needs on these cores (no run here can be faster, whatever the handlers do);
 * and DynamoDB Local's CPU against its CPU for the table floor's bare writes (the table work the handlers add).
 */
export function cpuRows(cpu: CpuSplit, wallMs: number, floor: CpuSplit): MetricRow[] {
  const cores = availableParallelism();
  return [
    info(
      `CPU meanwhile: handlers (this process) / DynamoDB Local / HAProxy hosts / whole machine, of ${cores} cores × wall = ${Math.round(cores * wallMs)}`,
      `${cpu.handlersMs} / ${cpu.dynamodbLocalMs} / ${cpu.haproxyMs} / ${cpu.machineMs}`,
      'ms',
    ),
    info(`DynamoDB Local's CPU spread over all ${cores} cores (its work alone)`, cpu.dynamodbLocalMs / cores, 'ms'),
    info(
      'DynamoDB Local CPU: these launches ÷ the table floor (work the handlers add to the table)',
      Math.round((cpu.dynamodbLocalMs / Math.max(1, floor.dynamodbLocalMs)) * 100) / 100,
      '×',
    ),
  ];
}
