// Source maps that fit the bundle-size goal (zips ≤ 500 KB): keep only the mappings into the project's own sources.
// A full map of a bundled AWS SDK is ~2.7 MB and more than doubles every zip; stack frames inside node_modules keep
// their bundle positions, frames in our code (where the actionable ones are) map to functions/**.ts lines.
'use strict';

const { readFileSync, writeFileSync } = require('node:fs');
const { dirname, isAbsolute, relative, resolve, sep } = require('node:path');

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = Object.fromEntries([...B64].map((c, i) => [c, i]));

/** Decodes one mappings segment (base64 VLQ) into its signed fields. */
function decodeSegment(text) {
  const fields = [];
  let value = 0;
  let shift = 0;
  for (const c of text) {
    const digit = DIGIT[c];
    if (digit === undefined) throw new Error(`source map: bad VLQ character ${JSON.stringify(c)}`);
    value += (digit & 31) * 2 ** shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    fields.push(value % 2 ? -(value - 1) / 2 : value / 2);
    value = 0;
    shift = 0;
  }
  return fields;
}

function encodeField(n) {
  let value = n < 0 ? -n * 2 + 1 : n * 2;
  let out = '';
  do {
    let digit = value % 32;
    value = Math.floor(value / 32);
    if (value > 0) digit |= 32;
    out += B64[digit];
  } while (value > 0);
  return out;
}

/**
 * A v3 source map with only the segments whose source `keep(source)` accepts; sources and names renumbered, and each
 * kept source renamed by `rename` (so it can point where the file sits next to the bundle in the zip).
 */
function pruneSourceMap(map, keep, rename = (s) => s) {
  const sources = [];
  const sourceIndex = new Map();
  map.sources.forEach((s, i) => {
    if (!keep(s)) return;
    sourceIndex.set(i, sources.length);
    sources.push(rename(s));
  });
  const names = [];
  const nameIndex = new Map();
  // Original fields are deltas across the whole map (columns reset per line); so are the re-encoded ones.
  const abs = { source: 0, line: 0, column: 0, name: 0 };
  const prev = { source: 0, line: 0, column: 0, name: 0 };
  const lines = map.mappings.split(';').map((line) => {
    let column = 0;
    let prevColumn = 0;
    const kept = [];
    for (const segment of line.split(',')) {
      if (segment === '') continue;
      const f = decodeSegment(segment);
      column += f[0];
      if (f.length < 4) continue;
      abs.source += f[1];
      abs.line += f[2];
      abs.column += f[3];
      if (f.length >= 5) abs.name += f[4];
      const source = sourceIndex.get(abs.source);
      if (source === undefined) continue;
      let out = encodeField(column - prevColumn) + encodeField(source - prev.source);
      out += encodeField(abs.line - prev.line) + encodeField(abs.column - prev.column);
      prevColumn = column;
      prev.source = source;
      prev.line = abs.line;
      prev.column = abs.column;
      if (f.length >= 5) {
        if (!nameIndex.has(abs.name)) {
          nameIndex.set(abs.name, names.length);
          names.push(map.names[abs.name]);
        }
        const name = nameIndex.get(abs.name);
        out += encodeField(name - prev.name);
        prev.name = name;
      }
      kept.push(out);
    }
    return kept.join(',');
  });
  return { version: 3, sources, names, mappings: lines.join(';') };
}

const inNodeModules = (source) => source.split(/[\\/]/).includes('node_modules');

/**
 * esbuild plugin: after each build, prune every written .map to the project's own sources, renamed relative to where
 * the bundle sits inside its zip (serverless-esbuild mirrors the entry's path), so Lambda prints
 * /var/task/functions/lib/….ts:line in stack traces under NODE_OPTIONS=--enable-source-maps.
 */
function ownSourcesOnly() {
  return {
    name: 'own-sources-only',
    setup(build) {
      build.initialOptions.metafile = true;
      const root = build.initialOptions.absWorkingDir ?? process.cwd();
      const [entry] = Array.isArray(build.initialOptions.entryPoints) ? build.initialOptions.entryPoints : [];
      build.onEnd((result) => {
        if (!result.metafile || typeof entry !== 'string') return;
        const zipDir = dirname(isAbsolute(entry) ? relative(root, entry) : entry);
        for (const output of Object.keys(result.metafile.outputs).filter((o) => o.endsWith('.map'))) {
          const file = resolve(root, output);
          const map = JSON.parse(readFileSync(file, 'utf8'));
          const fromRoot = (s) => relative(root, resolve(dirname(file), s));
          const pruned = pruneSourceMap(
            map,
            (s) => !inNodeModules(s),
            (s) => relative(zipDir, fromRoot(s)).split(sep).join('/'),
          );
          writeFileSync(file, JSON.stringify(pruned));
        }
      });
    },
  };
}

module.exports = { decodeSegment, ownSourcesOnly, pruneSourceMap };
