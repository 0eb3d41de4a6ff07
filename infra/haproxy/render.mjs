#!/usr/bin/env node
// Renders the HAProxy host templates: substitutes every ${VAR} and refuses unset, empty or unsafe values (node built-ins only).
//
// Usage: node render.mjs [--env-file FILE]... [--out FILE] [--haproxy-version X.Y | --haproxy BIN] TEMPLATE...
//   Values come from the environment, overridden by KEY=VALUE lines of the env files (# comments allowed).
//   A few values are derived from the HAProxy version instead (DERIVED below): it is --haproxy-version, else
//   HAPROXY_VERSION from the environment / env files, else what `BIN -v` prints (--haproxy, HAPROXY_BIN or `haproxy`).
//   Templates are concatenated in order (e.g. haproxy.cfg.tmpl cli-tls.cfg.tmpl). Without --out, prints to stdout;
//   with --out, writes a temp file next to FILE and renames it over FILE, so a reload never reads half a config.
//   Exit 0 on success, 2 on usage errors or when any variable is unset/unsafe (all problems are listed).
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { argv, env, exit, stderr, stdout } from 'node:process';

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
// A newline would inject config lines and `#` would silently cut the rest of the line off as a comment.
const UNSAFE = /[\r\n\0#]/;

// The oldest HAProxy the kit is tested on (Debian 12's 2.6.12).
const MINIMUM = [2, 6];

/**
 * Values that depend on the HAProxy version (and the opt-ins that need a version); they may be empty: a keyword
 * the version does not have. Each returns [value, notice?].
 */
const DERIVED = {
  // 3.1+: a slot leaving maint stays DOWN until its first passing check; so does every ready slot after a reload,
  // which is why it is opt-in (INIT_STATE_DOWN=yes). 2.6-3.0 refuse the keyword: their drain gate is all there is.
  SLOT_INIT_STATE: (v, values) => {
    const wanted = optIn(values, 'INIT_STATE_DOWN');
    if (!wanted) return [''];
    if (atLeast(v, 3, 1)) return [' init-state down'];
    return ['', `INIT_STATE_DOWN=yes ignored: HAProxy ${v.join('.')} has no init-state (3.1+)`];
  },
};

/** A yes/no variable; unset = no. Throws on anything else. */
function optIn(values, name) {
  const value = values[name] ?? 'no';
  if (value === 'yes' || value === 'no') return value === 'yes';
  throw new Error(`${name} must be yes or no, not ${JSON.stringify(value)}`);
}

function atLeast([major, minor], wantMajor, wantMinor) {
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

/** `3.2`, `3.0.11`, `2.6.12-1+deb12u4` or a `haproxy -v` banner → [major, minor]; undefined when it is none of them. */
function parseVersion(text) {
  const match = /(?:^|HAProxy version )(\d+)\.(\d+)(?:\.\d+)?(?:[-+~ ]|$)/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/** The HAProxy version to render for, from the flag, HAPROXY_VERSION, or the binary's banner. Throws with a reason. */
function haproxyVersion(flag, bin, values) {
  const given = flag ?? values.HAPROXY_VERSION;
  let version;
  if (given !== undefined && given !== '') {
    version = parseVersion(given);
    if (!version) throw new Error(`not an HAProxy version: ${JSON.stringify(given)}`);
  } else {
    const binary = bin ?? (values.HAPROXY_BIN || 'haproxy');
    let banner;
    try {
      banner = execFileSync(binary, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      throw new Error(`cannot run '${binary} -v' to learn the HAProxy version (${error.code ?? error.message}): pass --haproxy-version`);
    }
    version = parseVersion(banner.split('\n')[0] ?? '');
    if (!version) throw new Error(`'${binary} -v' printed no version: ${JSON.stringify(banner.slice(0, 80))}`);
  }
  if (!atLeast(version, ...MINIMUM)) throw new Error(`HAProxy ${version.join('.')} is older than ${MINIMUM.join('.')}`);
  return version;
}

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
function render(text, values, derived, source = 'template') {
  const problems = [];
  const lines = text.split('\n').map((line, i) => {
    const out = line.replace(PLACEHOLDER, (_, name) => {
      if (name in derived) return derived[name];
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
  let versionFlag;
  let bin;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (['--env-file', '--out', '--haproxy-version', '--haproxy'].includes(arg)) {
      const value = args[++i];
      if (!value) return usage(`${arg} needs a value`);
      if (arg === '--out') out = value;
      else if (arg === '--haproxy-version') versionFlag = value;
      else if (arg === '--haproxy') bin = value;
      else envFiles.push(value);
    } else if (arg.startsWith('-')) return usage(`unknown option ${arg}`);
    else templates.push(arg);
  }
  if (templates.length === 0) return usage('no template given');
  const values = { ...env };
  for (const file of envFiles) Object.assign(values, parseEnvFile(readFileSync(file, 'utf8'), file));
  const sources = templates.map((file) => [file, readFileSync(file, 'utf8')]);
  const derived = {};
  const wanted = Object.keys(DERIVED).filter((name) => sources.some(([, text]) => text.includes(`\${${name}}`)));
  if (wanted.length > 0) {
    let version;
    try {
      version = haproxyVersion(versionFlag, bin, values);
    } catch (error) {
      stderr.write(`render: refusing to render: ${error.message}\n`);
      return 2;
    }
    try {
      for (const name of wanted) {
        const [value, notice] = DERIVED[name](version, values);
        derived[name] = value;
        if (notice) stderr.write(`render: ${notice}\n`);
      }
    } catch (error) {
      stderr.write(`render: refusing to render: ${error.message}\n`);
      return 2;
    }
  }
  const parts = [];
  const problems = [];
  for (const [file, source] of sources) {
    const result = render(source, values, derived, file);
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
  stderr.write(
    `render: ${message}\nusage: render.mjs [--env-file FILE]... [--out FILE] [--haproxy-version X.Y | --haproxy BIN] TEMPLATE...\n`,
  );
  return 2;
}

exit(main(argv.slice(2)));
