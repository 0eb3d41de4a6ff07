// `npm run bench`: runs every benchmark, prints ONE JSON document to stdout (progress goes to stderr) and writes
// docs/PERFORMANCE.md from it. `tsx bench/run.ts <key>...` runs only those keys and leaves the document alone.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { isolated } from './isolated.js';
import { log } from './lib.js';
import { PERFORMANCE_PATH, writePerformance } from './performance-md.js';
import { benchRuntimeApi } from './runtime-api.js';

// Adding a benchmark is one line here: its key in the output and a function resolving its result object. Those that
// call a handler run in their own process (the handler reads its env once per process).
const BENCHMARKS: Record<string, () => Promise<object>> = {
  runtimeApi: benchRuntimeApi,
  reconcile: () => isolated('reconcile.ts', 'benchReconcile'),
  reconcileLarge: () => isolated('reconcile.ts', 'benchReconcileLarge'),
  reconcileScale: () => isolated('reconcile-scale.ts', 'benchReconcileScale'),
  eventToReady: () => isolated('event-to-ready.ts', 'benchEventToReady'),
  burst: () => isolated('burst.ts', 'benchBurst'),
  storm: () => isolated('storm.ts', 'benchStorm'),
  coldStart: () => isolated('cold-start.ts', 'benchColdStart'),
};

const only = process.argv.slice(2);
const unknown = only.filter((key) => !(key in BENCHMARKS));
if (unknown.length > 0)
  throw new Error(`unknown benchmark(s) ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);

const started = Date.now();
const results: Record<string, object> = {};
for (const [name, run] of Object.entries(BENCHMARKS)) {
  if (only.length > 0 && !only.includes(name)) continue;
  log(`${name}: start`);
  try {
    results[name] = await run();
  } catch (error) {
    process.exitCode = 1;
    results[name] = { error: error instanceof Error ? error.message : String(error) };
  }
  log(`${name}: done`);
}
if (only.length === 0) {
  mkdirSync(dirname(PERFORMANCE_PATH), { recursive: true });
  const durationSec = Math.round((Date.now() - started) / 1000);
  writePerformance(results, { date: new Date(started).toISOString(), command: 'npm run bench', durationSec });
  log(`wrote ${PERFORMANCE_PATH}`);
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
