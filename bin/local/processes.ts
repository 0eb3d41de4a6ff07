// Local stack: process bookkeeping by pid — liveness, finding the JVM the DynamoDB launcher spawned, forced kills.
import { readdirSync, readFileSync } from 'node:fs';

/** True while a process with this pid exists (zombies included, which a parent reaps right after exit). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends `signal` to one pid, ignoring a process that is already gone. */
export function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {}
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Pids of this process's direct children whose command line contains every one of `words`. Linux only (/proc);
 * used because the shared DynamoDB Local launcher does not expose the pid of the JVM it spawns.
 */
export function childPidsMatching(words: readonly string[], parent = process.pid): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    // Field 4 of /proc/<pid>/stat is the parent pid; the command name (field 2) may contain spaces, so cut after ')'.
    const stat = readText(`/proc/${entry}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid !== parent) continue;
    const args = readText(`/proc/${entry}/cmdline`).split('\0');
    if (words.every((w) => args.includes(w) || args.some((a) => a.endsWith(w)))) found.push(Number(entry));
  }
  return found;
}

/** Polls until none of `pids` is alive or `timeoutMs` passes; returns the ones still alive. */
export async function waitForExit(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    alive = alive.filter(isAlive);
  }
  return alive;
}
