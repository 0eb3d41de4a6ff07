#!/usr/bin/env node
// Renders the HAProxy host templates: substitutes every ${VAR} and refuses unset, empty or unsafe values (node built-ins only).
//
// Usage: node render.mjs [--env-file FILE]... [--out FILE] TEMPLATE...
//   Values come from the environment, overridden by KEY=VALUE lines of the env files (# comments allowed).
//   Templates are concatenated in order (e.g. haproxy.cfg.tmpl cli-tls.cfg.tmpl). Without --out, prints to stdout;
//   with --out, writes a temp file next to FILE and renames it over FILE, so a reload never reads half a config.
//   Exit 0 on success, 2 on usage errors or when any variable is unset/unsafe (all problems are listed).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { argv, env, exit, stderr, stdout } from 'node:process';

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
// A newline would inject config lines and `#` would silently cut the rest of the line off as a comment.
const UNSAFE = /[\r\n\0#]/;

/** Parses KEY=VALUE lines; blank lines and # comments are skipped; surrounding quotes are not special. */
function parseEnvFile(text, file) {
  const values = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) throw new Error(`${file}:${i + 1}: expected KEY=VALUE`);
    values[match[1]] = match[2];
  });
  return values;
}

/** Substitutes `${NAME}` in `text`; returns the rendered text and one problem string per unset/unsafe occurrence. */
function render(text, values, source = 'template') {
  const problems = [];
  const lines = text.split('\n').map((line, i) => {
    const out = line.replace(PLACEHOLDER, (_, name) => {
      const value = values[name];
      if (value === undefined || value === '') problems.push(`${source}:${i + 1}: ${name} is not set`);
      else if (UNSAFE.test(value)) problems.push(`${source}:${i + 1}: ${name} contains a newline, NUL or '#'`);
      else return value;
      return '';
    });
    if (out.includes('${')) problems.push(`${source}:${i + 1}: malformed placeholder in: ${line.trim()}`);
    return out;
  });
  return { text: lines.join('\n'), problems };
}

function main(args) {
  const envFiles = [];
  const templates = [];
  let out;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--env-file' || arg === '--out') {
      const value = args[++i];
      if (!value) return usage(`${arg} needs a value`);
      if (arg === '--out') out = value;
      else envFiles.push(value);
    } else if (arg.startsWith('-')) return usage(`unknown option ${arg}`);
    else templates.push(arg);
  }
  if (templates.length === 0) return usage('no template given');
  const values = { ...env };
  for (const file of envFiles) Object.assign(values, parseEnvFile(readFileSync(file, 'utf8'), file));
  const parts = [];
  const problems = [];
  for (const file of templates) {
    const result = render(readFileSync(file, 'utf8'), values, file);
    parts.push(result.text.endsWith('\n') ? result.text : `${result.text}\n`);
    problems.push(...result.problems);
  }
  if (problems.length > 0) {
    stderr.write(`render: refusing to render:\n${problems.map((p) => `  ${p}\n`).join('')}`);
    return 2;
  }
  const text = parts.join('\n');
  if (!out) {
    stdout.write(text);
    return 0;
  }
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, out);
  return 0;
}

function usage(message) {
  stderr.write(`render: ${message}\nusage: render.mjs [--env-file FILE]... [--out FILE] TEMPLATE...\n`);
  return 2;
}

exit(main(argv.slice(2)));
