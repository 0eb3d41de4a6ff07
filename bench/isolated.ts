// Runs one benchmark in a fresh tsx process: handlers read their env once per process, and memory starts clean.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/** Resolves the result of `exportName` from bench/`file`, run in a child process (killed by pid after `timeoutMs`). */
export async function isolated(file: string, exportName: string, timeoutMs = 600_000): Promise<object> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const out = join(dir, 'result.json');
  try {
    // The child's stdout goes to our stderr: stdout carries only the one JSON document.
    // BENCH_CPU_PROF=<dir>: a V8 CPU profile of the child (the handlers of in-process benchmarks run there).
    const profile = process.env.BENCH_CPU_PROF;
    const profileArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
    const child = spawn(process.execPath, [...profileArgs, '--import', 'tsx', CHILD, file, exportName, out], {
      cwd: ROOT,
      stdio: ['ignore', 2, 2],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    const timer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGTERM'), timeoutMs);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(timer);
    if (code !== 0) throw new Error(`${file} ${exportName} exited with ${code}`);
    return JSON.parse(readFileSync(out, 'utf8')) as object;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
