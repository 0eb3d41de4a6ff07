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
import { HAPROXY_BIN, KIT_BACKEND, kitHaproxyOptions, loopbackVars, renderKit } from '../support/host-kit.js';

const HOST_VARS = [
  'STATS_ADDR',
  'STATS_PORT',
  'ADMIN_SOCKET',
  'STATE_FILE',
  'LOG_TARGET',
  'RUN_USER',
  'RUN_GROUP',
  'CHROOT_DIR',
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

let checks = 0;
/** `haproxy -c -V` of the matrix's binary on `text` (3.x prints nothing on success without -V). */
function haproxyCheck(text: string): { status: number | null; output: string } {
  const path = join(dir, `check-${++checks}.cfg`);
  writeFileSync(path, text);
  const run = spawnSync(HAPROXY_BIN, ['-c', '-V', '-f', path], { encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('render.mjs and haproxy.cfg.tmpl', () => {
  it('renders the host template with loopback values into a config haproxy -c accepts without any warning', () => {
    const run = renderKit(loopbackVars(layout));
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).not.toContain('${');
    expect(run.stdout).toContain(`stats socket ipv4@127.0.0.1:${layout.statsPort} level admin expose-fd listeners`);
    expect(run.stdout).toMatch(
      /^ {4}server-template web 1-4 localhost:9 check inter 2s init-addr last,libc,none disabled( init-state down)?$/m,
    );
    expect(run.stdout).toMatch(/^ {4}balance roundrobin$/m);
    expect(run.stdout).toMatch(/^ {4}user haproxy\n {4}group haproxy\n {4}chroot \S+$/m);
    const check = haproxyCheck(run.stdout);
    expect(check.output).toContain('Configuration file is valid');
    expect(check.output).not.toMatch(/WARNING|ALERT/);
    expect(check.status).toBe(0);
  });

  it('renders the host template plus the mTLS fragment into a config haproxy -c accepts without any warning', () => {
    const run = renderKit({ ...loopbackVars(layout), ...tlsVars(layout) }, ['haproxy.cfg.tmpl', 'cli-tls.cfg.tmpl']);
    expect(run.code).toBe(0);
    // The workers are chrooted and unprivileged: the TLS front reaches the CLI over loopback TCP, not the unix socket.
    expect(run.stdout).toContain(`server cli 127.0.0.1:${layout.statsPort}`);
    expect(run.stdout).not.toContain('unix@');
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

  it.each([
    ['2.6', false],
    ['2.6.12-1+deb12u4', false],
    ['3.0.11', false],
    ['3.1', true],
    ['3.2.26', true],
    ['3.4.0', true],
  ])('renders the opted-in init-state down on the slots for HAProxy %s only from 3.1 on (%s)', (version, initState) => {
    const run = renderKit({ ...loopbackVars(layout), INIT_STATE_DOWN: 'yes' }, undefined, [
      '--haproxy-version',
      version,
    ]);
    expect(run.code).toBe(0);
    const minor = version.split('.').slice(0, 2).join('.');
    expect(run.stderr).toBe(
      initState ? '' : `render: INIT_STATE_DOWN=yes ignored: HAProxy ${minor} has no init-state (3.1+)\n`,
    );
    // Off unless asked for, on every version.
    expect(renderKit(loopbackVars(layout), undefined, ['--haproxy-version', version]).stdout).toContain(' disabled\n');
    const line = run.stdout.split('\n').find((l) => l.trimStart().startsWith('server-template')) ?? '';
    expect(line.endsWith(' disabled init-state down')).toBe(initState);
    expect(line.endsWith(' disabled')).toBe(!initState);
  });

  it('takes the version from HAPROXY_VERSION, else from the binary it is given, and refuses anything older than 2.6', () => {
    const fromVar = renderKit({ ...loopbackVars(layout), HAPROXY_VERSION: '3.2', INIT_STATE_DOWN: 'yes' }, undefined, [
      '--haproxy',
      '/nonexistent',
    ]);
    expect(fromVar.stdout).toContain(' disabled init-state down');
    const old = renderKit({ ...loopbackVars(layout), HAPROXY_VERSION: '2.4.22' }, undefined, [
      '--haproxy',
      '/nonexistent',
    ]);
    expect(old).toMatchObject({ code: 2, stdout: '' });
    expect(old.stderr).toContain('HAProxy 2.4 is older than 2.6');
    const missing = renderKit(loopbackVars(layout), undefined, ['--haproxy', join(dir, 'no-haproxy')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot run '.*no-haproxy -v' to learn the HAProxy version .*--haproxy-version/);
  });

  it('refuses an INIT_STATE_DOWN that is not yes or no', () => {
    const run = renderKit({ ...loopbackVars(layout), INIT_STATE_DOWN: 'true' }, undefined, [
      '--haproxy-version',
      '3.2',
    ]);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toContain('INIT_STATE_DOWN must be yes or no, not "true"');
  });

  it('renders for the version of the binary under test, and that binary accepts the line (or refuses init-state)', () => {
    const banner = spawnSync(HAPROXY_BIN, ['-v'], { encoding: 'utf8' }).stdout;
    const [major = 0, minor = 0] = (/^HAProxy version (\d+)\.(\d+)/.exec(banner) ?? []).slice(1).map(Number);
    const has = major > 3 || (major === 3 && minor >= 1);
    const run = renderKit({ ...loopbackVars(layout), INIT_STATE_DOWN: 'yes' });
    expect(run.stdout.includes(' disabled init-state down')).toBe(has);
    const check = haproxyCheck(run.stdout);
    expect(check.output).not.toMatch(/WARNING|ALERT/);
    expect(check.status).toBe(0);
    if (!has) {
      // Why the keyword is left out there: the version refuses it.
      const forced = haproxyCheck(run.stdout.replace(' disabled\n', ' disabled init-state down\n'));
      expect(forced.status).not.toBe(0);
      expect(forced.output).toContain("unknown keyword 'init-state'");
    }
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
