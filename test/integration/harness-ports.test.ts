// The harness's HAProxy never shares a port: a second process bound to a port a test's host holds (another test process
// was handed the same free port) must fail to start, not answer some of that host's connections (SO_REUSEPORT).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, oneShot, startHaproxy, stopAll } from '../../bin/harness/haproxy.js';
import { renderConfig } from '../../bin/harness/haproxy-config.js';

const HAPROXY = process.env.HAPROXY_BIN ?? 'haproxy';
let host: HaproxyHandle;
let dir: string;

beforeAll(async () => {
  host = await startHaproxy({ backends: [{ name: 'be', slotPrefix: 'web', slots: 2 }] });
  dir = mkdtempSync(join(tmpdir(), 'harness-ports-'));
});

afterAll(async () => {
  await stopAll([host]);
  rmSync(dir, { recursive: true, force: true });
});

describe('harness HAProxy ports', () => {
  it('refuses to start a second HAProxy on the ports a running one holds, which keeps answering alone', async () => {
    // The same config on the same ports, its own pid file and socket: what a colliding test process would start.
    const layout = {
      ...host.layout,
      dir,
      configPath: join(dir, 'haproxy.cfg'),
      pidFile: join(dir, 'haproxy.pid'),
      socketPath: join(dir, 'admin.sock'),
    };
    writeFileSync(layout.configPath, renderConfig(host.options, layout));
    const second = spawnSync(HAPROXY, ['-db', '-f', layout.configPath], { encoding: 'utf8', timeout: 5_000 });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/cannot bind socket.*127\.0\.0\.1:\d+/);
    const pid = (await oneShot(host.statsPort, 'show info')).match(/^Pid: (\d+)$/m)?.[1];
    expect(Number(pid)).toBe(host.pids()[0]);
  });
});
