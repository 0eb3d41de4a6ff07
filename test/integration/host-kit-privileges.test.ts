// The host kit's privileges: workers drop to an unprivileged user in a chroot, and the reload helper writes the
// state file only where no one else can write (run as root, as CI does).
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type HaproxyHandle, startHaproxy, stopAll } from '../../bin/harness/haproxy.js';
import { parentOf } from '../../bin/harness/haproxy-util.js';
import { showInfo } from '../../functions/lib/domain/commands.js';
import { createFleet } from '../../functions/lib/haproxy/fleet.js';
import {
  chrootDir,
  KIT_RUN_AS,
  kitHaproxyOptions,
  reloadArgs,
  runReloadHelper,
  showProc,
} from '../support/host-kit.js';
import { waitFor } from '../support/wait.js';

let hosts: HaproxyHandle[] = [];

afterEach(async () => {
  await stopAll(hosts);
  hosts = [];
});

const idOf = (flag: '-u' | '-g', name: string): number =>
  Number(spawnSync('id', [flag, name], { encoding: 'utf8' }).stdout);
const RUN_UID = idOf('-u', KIT_RUN_AS.user);
const RUN_GID = idOf('-g', KIT_RUN_AS.user);

async function startKitHost(name: string): Promise<HaproxyHandle> {
  const host = await startHaproxy(kitHaproxyOptions(name));
  hosts.push(host);
  await waitFor(async () => (await showProc(host)).workers.length === 1, { what: 'the master CLI' });
  return host;
}

async function workerPid(host: HaproxyHandle): Promise<number> {
  const fleet = createFleet({ hosts: [host.hostConfig()], timeouts: { connectMs: 500, commandMs: 3_000 } });
  const [result] = await fleet.broadcast([showInfo()]);
  const pid = Number(/^Pid: (\d+)$/m.exec(result?.replies[0]?.reply ?? '')?.[1]);
  if (!pid) throw new Error(`no Pid in show info: ${JSON.stringify(result)}`);
  return pid;
}

/** Real, effective, saved and filesystem uid/gid of a process, and the root directory it sees. */
function identity(pid: number): { uids: number[]; gids: number[]; root: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const ids = (key: string) => (new RegExp(`^${key}:\\s+(.*)$`, 'm').exec(status)?.[1] ?? '').split(/\s+/).map(Number);
  return { uids: ids('Uid'), gids: ids('Gid'), root: readlinkSync(`/proc/${pid}/root`) };
}

describe('workers of a host rendered from the kit template', () => {
  it('run as the kit user and group, chrooted into the empty directory, and so does the worker after a reload', async () => {
    expect(process.getuid?.()).toBe(0);
    const host = await startKitHost('kit-privs');
    const first = await workerPid(host);
    const want = { uids: [RUN_UID, RUN_UID, RUN_UID, RUN_UID], gids: [RUN_GID, RUN_GID, RUN_GID, RUN_GID] };
    expect(identity(first)).toEqual({ ...want, root: chrootDir(host.layout) });
    // The master keeps root: it re-executes itself on reload and must bind, read the config and the state file.
    expect(identity(host.pid).uids[1]).toBe(0);

    const run = await runReloadHelper(reloadArgs(host));
    expect(run.code, run.stderr).toBe(0);
    await waitFor(() => parentOf(first) === undefined, { timeoutMs: 15_000, what: `old worker ${first} to exit` });
    const second = await workerPid(host);
    expect(second).not.toBe(first);
    expect(identity(second)).toEqual({ ...want, root: chrootDir(host.layout) });
  });
});

describe('slot-sync-reload and the directory of the state file', () => {
  it('writes the state as a regular 0644 file of its own, through a temp file renamed into place', async () => {
    const host = await startKitHost('kit-statefile');
    const run = await runReloadHelper(reloadArgs(host));
    expect(run.code, run.stderr).toBe(0);
    const stat = lstatSync(host.layout.stateFilePath);
    expect(stat.isFile()).toBe(true);
    expect({ mode: stat.mode & 0o7777, uid: stat.uid }).toEqual({ mode: 0o644, uid: 0 });
    expect(readFileSync(host.layout.stateFilePath, 'utf8')).toMatch(/^1\n# be_id /);
    expect(readdirSync(host.dir).filter((f) => f.startsWith('.haproxy.state'))).toEqual([]);
  });

  it.each([
    {
      what: 'group-writable',
      error: 'is writable by group or others (mode 775)',
      make: (d: string) => chmodSync(d, 0o775),
    },
    {
      what: 'world-writable, even with the sticky bit',
      error: 'is writable by group or others (mode 1777)',
      make: (d: string) => chmodSync(d, 0o1777),
    },
    {
      what: 'owned by the workers’ user',
      error: `is owned by uid ${RUN_UID}`,
      make: (d: string) => chownSync(d, RUN_UID, RUN_GID),
    },
  ])('refuses a state directory that is $what: nothing written, no reload', async ({ make, error }) => {
    const host = await startKitHost('kit-baddir');
    const stateDir = join(host.dir, 'state');
    mkdirSync(stateDir, { mode: 0o755 });
    make(stateDir);
    const run = await runReloadHelper(withStateFile(host, join(stateDir, 'server-state')));
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`refusing to write the state file ${stateDir}/server-state: ${stateDir} ${error}`);
    expect(readdirSync(stateDir)).toEqual([]);
    expect(await showProc(host)).toMatchObject({ reloads: 0, failed: 0 });
  });

  it('refuses a state directory that is a symlink, or below a directory others can write', async () => {
    const host = await startKitHost('kit-linkdir');
    const real = join(host.dir, 'real');
    mkdirSync(real, { mode: 0o755 });
    symlinkSync(real, join(host.dir, 'link'));
    const viaLink = await runReloadHelper(withStateFile(host, join(host.dir, 'link', 'server-state')));
    expect(viaLink.code).not.toBe(0);
    expect(viaLink.stderr).toContain(`${host.dir}/link is a symlink`);

    const open = join(host.dir, 'open');
    mkdirSync(join(open, 'state'), { recursive: true, mode: 0o755 });
    chmodSync(open, 0o777);
    const below = await runReloadHelper(withStateFile(host, join(open, 'state', 'server-state')));
    expect(below.code).not.toBe(0);
    expect(below.stderr).toContain(`${open} is writable by group or others (mode 777)`);
    expect([...readdirSync(real), ...readdirSync(join(open, 'state'))]).toEqual([]);
    expect(await showProc(host)).toMatchObject({ reloads: 0, failed: 0 });
  });

  it('refuses to replace a state file that is a symlink, and leaves the file it points to alone', async () => {
    const host = await startKitHost('kit-linkfile');
    const target = join(host.dir, 'elsewhere');
    writeFileSync(target, 'precious\n');
    symlinkSync(target, host.layout.stateFilePath);
    const run = await runReloadHelper(reloadArgs(host));
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`refusing to replace ${host.layout.stateFilePath}: not a regular file`);
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
    expect(lstatSync(host.layout.stateFilePath).isSymbolicLink()).toBe(true);
    expect(await showProc(host)).toMatchObject({ reloads: 0, failed: 0 });
  });
});

function withStateFile(host: HaproxyHandle, path: string): string[] {
  const args = reloadArgs(host);
  args[args.indexOf('--state-file') + 1] = path;
  return args;
}
