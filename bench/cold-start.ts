// Benchmark (issues 4 and 6): per function, the zipped bundle serverless packages and the cold import time of that
// bundle, unzipped alone (no node_modules) and imported by a fresh node process with the env the function gets.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { log, median } from './lib.js';
import { allPass, atMost, info, type MetricRow } from './report.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FUNCTIONS = ['lifecycle', 'webhook', 'reconcile'] as const;
const IMPORTS = 5;
const ZIP_GOAL_BYTES = 500_000;
const IMPORT_GOAL_MS = 300;

// Prints how long `await import()` of the handler took, then exits without waiting for anything the module started.
const PROBE = `const t = performance.now(); await import(process.argv[1]); console.log(JSON.stringify({ ms: performance.now() - t })); process.exit(0);`;

/** The environment serverless.yml gives the functions, with inline config so nothing fetches SSM at import. */
function functionEnv(): NodeJS.ProcessEnv {
  const config = {
    hosts: [{ name: 'hap1', host: '127.0.0.1', port: 9 }],
    backends: [{ name: 'web', slotPrefix: 'web', port: 8080, autoScalingGroups: ['web-asg'] }],
  };
  return {
    PATH: process.env.PATH,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    // Any SDK call a module might make at import time lands on loopback's discard port, never on AWS.
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    SLOT_TABLE: 'haproxy-slot-sync-test-slots',
    IDEMPOTENCY_TABLE: 'haproxy-slot-sync-test-idempotency',
    CONFIG_JSON: JSON.stringify(config),
    POWERTOOLS_SERVICE_NAME: 'haproxy-slot-sync',
    POWERTOOLS_METRICS_NAMESPACE: 'HaproxySlotSync',
  };
}

async function importMs(dir: string, fn: string): Promise<number> {
  const handler = join(dir, 'functions', fn, 'handler.mjs');
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', PROBE, handler], {
    cwd: dir,
    env: functionEnv(),
    timeout: 30_000,
  });
  return (JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { ms: number }).ms;
}

/** Packages the stack into a temp dir, then measures each function's zip and its median cold import of 5. */
export async function benchColdStart(): Promise<object> {
  const work = await mkdtemp(join(tmpdir(), 'bench-cold-'));
  try {
    const pkg = join(work, 'package');
    log('coldStart: serverless package (esbuild bundles, offline)');
    // No AWS_* variables reach the packager: packaging needs no credentials.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    await run(
      join(ROOT, 'node_modules/.bin/serverless'),
      ['package', '--stage', 'test', '--region', 'us-east-1', '--package', pkg],
      {
        cwd: ROOT,
        env,
        timeout: 240_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const zips = (await readdir(pkg)).filter((f) => f.endsWith('.zip'));
    const functions: Record<string, { zipBytes: number; importMs: number; runs: number[] }> = {};
    const metrics: MetricRow[] = [];
    for (const fn of FUNCTIONS) {
      const zip = zips.find((z) => z === `${fn}.zip`);
      if (!zip) throw new Error(`serverless wrote no ${fn}.zip (found ${zips.join(', ')})`);
      const zipBytes = (await stat(join(pkg, zip))).size;
      const dir = join(work, fn);
      await run('unzip', ['-q', join(pkg, zip), '-d', dir]);
      if ((await readdir(dir)).includes('node_modules')) throw new Error(`${fn}.zip carries node_modules`);
      const runs: number[] = [];
      for (let i = 0; i < IMPORTS; i++) runs.push(await importMs(dir, fn));
      functions[fn] = { zipBytes, importMs: median(runs), runs };
      metrics.push(
        atMost(`${fn}: zipped bundle`, zipBytes / 1000, ZIP_GOAL_BYTES / 1000, 'KB'),
        atMost(`${fn}: cold import (median of ${IMPORTS})`, median(runs), IMPORT_GOAL_MS),
      );
      log(`coldStart: ${fn} ${zipBytes} B, import ${median(runs).toFixed(0)} ms`);
    }
    metrics.push(info('node running the imports (Lambda runs nodejs22.x)', process.version));
    return {
      functions,
      goals: { zipBytes: ZIP_GOAL_BYTES, importMs: IMPORT_GOAL_MS },
      metrics,
      pass: allPass(metrics),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
