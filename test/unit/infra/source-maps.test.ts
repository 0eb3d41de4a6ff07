// Deployment: source maps pruned to the project's own sources (infra/source-maps.cjs) still map stack frames.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const { decodeSegment, ownSourcesOnly, pruneSourceMap } = createRequire(import.meta.url)(
  join(root, 'infra/source-maps.cjs'),
);

describe('pruneSourceMap', () => {
  it('decodes base64 VLQ fields, signs and continuations included', () => {
    expect(decodeSegment('AAAA')).toEqual([0, 0, 0, 0]);
    expect(decodeSegment('gBDF')).toEqual([16, -1, -2]);
  });

  it('keeps the segments of kept sources with their original positions, and drops the rest', () => {
    // Line 0: col 0 → a.js 0:0, col 5 → own.ts 3:2 (name 0); line 1: col 1 → a.js 12:11, col 4 → own.ts 16:2.
    const map = {
      version: 3,
      sources: ['node_modules/a.js', 'own.ts'],
      names: ['run'],
      mappings: 'AAAA,KCGEA;CDSS,GCIT',
    };
    const pruned = pruneSourceMap(
      map,
      (s: string) => !s.includes('node_modules'),
      (s: string) => `src/${s}`,
    );
    expect(pruned.sources).toEqual(['src/own.ts']);
    expect(pruned.names).toEqual(['run']);
    // Fields are deltas from the previous kept segment (columns restart on each line).
    expect(pruned.mappings.split(';').map((l: string) => l.split(',').map(decodeSegment))).toEqual([
      [[5, 0, 3, 2, 0]],
      [[4, 0, 13, 0]],
    ]);
  });
});

describe('ownSourcesOnly (esbuild plugin)', () => {
  let dir: string;
  let stderr: string;
  let map: { sources: string[] };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slot-sync-maps-'));
    await mkdir(join(dir, 'functions/probe'), { recursive: true });
    // A bundled dependency (zod) in front of a throw on line 5 of our own file.
    await writeFile(
      join(dir, 'functions/probe/handler.ts'),
      [
        "import { z } from 'zod';",
        '',
        'export function fail(): never {',
        "  z.string().parse('ok');",
        "  throw new Error('probe');",
        '}',
        'fail();',
        '',
      ].join('\n'),
    );
    await build({
      absWorkingDir: dir,
      entryPoints: ['functions/probe/handler.ts'],
      outdir: join(dir, '.build/functions/probe'),
      nodePaths: [join(root, 'node_modules')],
      bundle: true,
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      outExtension: { '.js': '.mjs' },
      logLevel: 'silent',
      plugins: [ownSourcesOnly()],
    });
    map = JSON.parse(await readFile(join(dir, '.build/functions/probe/handler.mjs.map'), 'utf8'));
    const run = promisify(execFile)(process.execPath, [
      '--enable-source-maps',
      join(dir, '.build/functions/probe/handler.mjs'),
    ]);
    stderr = await run.then(
      () => '',
      (error: { stderr: string }) => error.stderr,
    );
  }, 60_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps only the project file, named relative to the bundle as it sits in the zip', () => {
    expect(map.sources).toEqual(['handler.ts']);
  });

  it('maps a stack frame in our code to the TypeScript line under --enable-source-maps', () => {
    expect(stderr).toMatch(/Error: probe/);
    expect(stderr).toMatch(/functions\/probe\/handler\.ts:5:\d+/);
  });
});
