// Local stack: the two HAProxy hosts, started with the test harness's launcher (one implementation) on chosen ports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HaproxyHandle, stopAll } from '../harness/haproxy.js';
import type { HaproxyLayout, HaproxyOptions } from '../harness/haproxy-config.js';
import { freePort } from '../harness/ports.js';

/** The backend every host serves, mapped to the group in the config document. */
export const BACKEND = { name: 'web', slotPrefix: 'web', slots: 10 } as const;

/** Like the host kit: master-worker, a server-state file, `option httpchk GET /` on `server-template` slots. */
function hostOptions(name: string): HaproxyOptions {
  return {
    name,
    masterWorker: true,
    stateFile: true,
    backends: [{ ...BACKEND, check: true, checkInterMs: 500 }],
  };
}

function layoutFor(frontendPort: number, statsPort: number): HaproxyLayout {
  const dir = mkdtempSync(join(tmpdir(), 'slot-sync-local-hap-'));
  return {
    dir,
    configPath: join(dir, 'haproxy.cfg'),
    statsPort,
    socketPath: join(dir, 'admin.sock'),
    masterSocketPath: join(dir, 'master.sock'),
    pidFile: join(dir, 'haproxy.pid'),
    stateFilePath: join(dir, 'haproxy.state'),
    frontendPorts: { [BACKEND.name]: frontendPort },
  };
}

/**
 * Starts `hap1..n` with frontends on `frontendPorts` (already checked free) and stats sockets on fresh loopback ports.
 * The harness's startHaproxy() would pick random frontend ports; the stack wants the printed, stable ones.
 */
export async function startHosts(frontendPorts: readonly number[]): Promise<HaproxyHandle[]> {
  const handles: HaproxyHandle[] = [];
  try {
    for (const [i, port] of frontendPorts.entries()) {
      const handle = new HaproxyHandle(`hap${i + 1}`, hostOptions(`hap${i + 1}`), layoutFor(port, await freePort()));
      handles.push(handle);
      await handle.start();
    }
    return handles;
  } catch (error) {
    await stopHosts(handles);
    throw error;
  }
}

/** Stops the hosts by pid (SIGTERM, then SIGKILL) and removes their temp dirs. */
export async function stopHosts(handles: readonly HaproxyHandle[]): Promise<void> {
  await stopAll(handles);
  for (const h of handles) rmSync(h.dir, { recursive: true, force: true });
}
