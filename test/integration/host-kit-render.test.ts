// The host kit's templates: render.mjs output that `haproxy -c` accepts, refusal of unset/unsafe values, the mTLS fragment live.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startHaproxy, stopAll } from '../../bin/harness/haproxy.js';
import type { HaproxyLayout } from '../../bin/harness/haproxy-config.js';
import { freePort } from '../../bin/harness/ports.js';
import { showInfo } from '../../functions/lib/domain/commands.js';
import { createHostClient } from '../../functions/lib/haproxy/client.js';
import { makeTestPki, type TestPki } from '../support/certs.js';
import { KIT_BACKEND, kitHaproxyOptions, loopbackVars, renderKit } from '../support/host-kit.js';

const HAPROXY = process.env.HAPROXY_BIN ?? 'haproxy';
const HOST_VARS = [
  'STATS_ADDR',
  'STATS_PORT',
  'ADMIN_SOCKET',
  'STATE_FILE',
  'LOG_TARGET',
  'FRONTEND_ADDR',
  'FRONTEND_PORT',
  'BACKEND',
  'SLOT_PREFIX',
  'SLOT_COUNT',
  'HEALTH_PATH',
];
let dir: string;
let pki: TestPki;
let layout: HaproxyLayout;
const hosts: HaproxyHandle[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kit-render-'));
  pki = makeTestPki(dir);
  layout = {
    dir,
    configPath: join(dir, 'haproxy.cfg'),
    statsPort: await freePort(),
    socketPath: join(dir, 'admin.sock'),
    masterSocketPath: join(dir, 'master.sock'),
    pidFile: join(dir, 'haproxy.pid'),
    stateFilePath: join(dir, 'server-state'),
    frontendPorts: { [KIT_BACKEND.name]: await freePort() },
    tlsPort: await freePort(),
  };
  // What the README's install step does: a state file with just the version line, so the first start does not warn.
  writeFileSync(layout.stateFilePath, '1\n');
});

afterAll(async () => {
  await stopAll(hosts);
  rmSync(dir, { recursive: true, force: true });
});

function tlsVars(l: HaproxyLayout): Record<string, string> {
  return {
    CLI_TLS_ADDR: '127.0.0.1',
    CLI_TLS_PORT: String(l.tlsPort),
    CLI_TLS_CERT: pki.serverPemPath,
    CLI_TLS_CA: pki.caPath,
  };
}

function haproxyCheck(text: string): { status: number | null; output: string } {
  const path = join(dir, `check-${Date.now()}.cfg`);
  writeFileSync(path, text);
  const run = spawnSync(HAPROXY, ['-c', '-f', path], { encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('render.mjs and haproxy.cfg.tmpl', () => {
  it('renders the host template with loopback values into a config haproxy -c accepts without any warning', () => {
    const run = renderKit(loopbackVars(layout));
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).not.toContain('${');
    expect(run.stdout).toContain(`stats socket ipv4@127.0.0.1:${layout.statsPort} level admin expose-fd listeners`);
    expect(run.stdout).toContain(
      'server-template web 1-4 localhost:9 check inter 2s init-addr last,libc,none disabled',
    );
    const check = haproxyCheck(run.stdout);
    expect(check.output).toContain('Configuration file is valid');
    expect(check.output).not.toMatch(/WARNING|ALERT/);
    expect(check.status).toBe(0);
  });

  it('renders the host template plus the mTLS fragment into a config haproxy -c accepts without any warning', () => {
    const run = renderKit({ ...loopbackVars(layout), ...tlsVars(layout) }, ['haproxy.cfg.tmpl', 'cli-tls.cfg.tmpl']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`server cli unix@${layout.socketPath}`);
    const check = haproxyCheck(run.stdout);
    expect(check.output).toContain('Configuration file is valid');
    expect(check.output).not.toMatch(/WARNING|ALERT/);
    expect(check.status).toBe(0);
  });

  it('refuses to render when variables are unset, naming every one of them and printing nothing', () => {
    const run = renderKit({});
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    for (const name of HOST_VARS) expect(run.stderr).toContain(`${name} is not set`);
  });

  it('refuses a value that would inject a config line or cut one off as a comment', () => {
    const vars = loopbackVars(layout);
    const newline = renderKit({ ...vars, BACKEND: 'web\n    stats socket ipv4@0.0.0.0:9999 level admin' });
    expect(newline.code).toBe(2);
    expect(newline.stderr).toMatch(/BACKEND contains a newline, NUL or '#'/);
    const hash = renderKit({ ...vars, HEALTH_PATH: '/health#x' });
    expect(hash.code).toBe(2);
    expect(hash.stderr).toMatch(/HEALTH_PATH contains a newline, NUL or '#'/);
  });

  it('writes --out through a temp file renamed into place, leaving nothing else behind', () => {
    const outDir = mkdtempSync(join(dir, 'out-'));
    const out = join(outDir, 'haproxy.cfg');
    const run = renderKit(loopbackVars(layout), undefined, ['--out', out]);
    expect(run).toMatchObject({ code: 0, stdout: '' });
    expect(readFileSync(out, 'utf8')).toBe(renderKit(loopbackVars(layout)).stdout);
    expect(readdirSync(outDir)).toEqual(['haproxy.cfg']);
  });
});

describe('cli-tls.cfg.tmpl on a running HAProxy', () => {
  it('serves the admin CLI over TLS to a trusted client certificate and refuses a client without one', async () => {
    const host = await startHaproxy({
      ...kitHaproxyOptions('kit-tls', { vars: tlsVars, templates: ['haproxy.cfg.tmpl', 'cli-tls.cfg.tmpl'] }),
      // Only so the harness allocates a port for the TLS listener; the config itself comes from the templates.
      tlsCli: { crtPath: pki.serverPemPath, caPath: pki.caPath },
    });
    hosts.push(host);
    const timeouts = { connectMs: 1_000, commandMs: 3_000 };
    const tls = (cert: string, key: string) =>
      createHostClient(
        { name: 'kit-tls', host: '127.0.0.1', port: host.tlsPort, tls: { ca: pki.ca, cert, key } },
        timeouts,
      );

    const trusted = await tls(pki.clientCert, pki.clientKey).run([showInfo()]);
    expect(trusted.ok, JSON.stringify(trusted.error)).toBe(true);
    expect(trusted.replies[0]?.reply).toMatch(/^Name: HAProxy$/m);

    const anonymous = await tls('', '').run([showInfo()]);
    expect(anonymous.ok).toBe(false);
    expect(anonymous.error?.message).toMatch(/certificate required/i);
  });
});
