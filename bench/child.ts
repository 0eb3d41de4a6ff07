// Child entry of `isolated()`: runs one benchmark export in this fresh process and writes its result to a file.
import { writeFileSync } from 'node:fs';

const [file, exportName, outFile] = process.argv.slice(2);
// A signal would skip 'exit' handlers; exiting instead lets the harness kill the processes this benchmark started.
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));

if (!file || !exportName || !outFile || !/^[a-z0-9-]+\.ts$/.test(file)) {
  process.stderr.write('usage: child.ts <bench-file.ts> <export> <result.json>\n');
  process.exit(2);
}
const mod = (await import(new URL(`./${file}`, import.meta.url).href)) as Record<string, unknown>;
const run = mod[exportName];
if (typeof run !== 'function') throw new Error(`${file} has no export ${exportName}`);
const result: unknown = await run();
writeFileSync(outFile, JSON.stringify(result));
// Lingering sockets or timers must not keep a finished benchmark alive.
process.exit(0);
