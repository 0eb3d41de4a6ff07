// `npm run bench`: runs every benchmark and prints ONE JSON document to stdout (progress goes to stderr).
import { log } from './lib.js';
import { benchRuntimeApi } from './runtime-api.js';

// Adding a benchmark is one line here: its key in the output and a function resolving its result object.
const BENCHMARKS: Record<string, () => Promise<object>> = {
  runtimeApi: benchRuntimeApi,
};

const results: Record<string, object> = {};
for (const [name, run] of Object.entries(BENCHMARKS)) {
  log(`${name}: start`);
  try {
    results[name] = await run();
  } catch (error) {
    process.exitCode = 1;
    results[name] = { error: error instanceof Error ? error.message : String(error) };
  }
  log(`${name}: done`);
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
