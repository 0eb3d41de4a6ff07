// The CLI in a real terminal: `watch` full screen and `drain --wait` progress bars inside a tmux pane (send-keys,
// capture-pane), against real HAProxy hosts and DynamoDB Local; the terminal must be restored however watch ends.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaproxyHandle, oneShot, startFleet, stopAll } from '../../bin/harness/haproxy.js';
import { DynamoDbSlotStore } from '../../functions/lib/slots/dynamodb-store.js';
import {
  CLI,
  cliEnv,
  configFor,
  type HoldingInstance,
  holdSession,
  runCli,
  startHoldingInstance,
} from '../integration/cli-support.js';
import { connectDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.js';
import { waitFor } from '../support/wait.js';

// Our own tmux server (its own socket): nothing of an operator's tmux is touched, and it is stopped by name.
const SOCKET = `slot-sync-cli-test-${process.pid}`;
const PANE = 'cli';
const COLUMNS = 160;
const ROWS = 40;

let hosts: HaproxyHandle[] = [];
let ddb: DynamoDbLocal | undefined;
let holding: HoldingInstance;
let env: Record<string, string>;
let tmuxStarted = false;
const open: Promise<void>[] = [];

function tmux(...args: string[]): string {
  const run = spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${run.stderr.trim()}`);
  return run.stdout;
}
/** What the pane shows now, as text (`withEscapes`: with the colours tmux holds for each cell). */
const screen = (withEscapes = false) => tmux('capture-pane', '-p', ...(withEscapes ? ['-e'] : []), '-t', PANE);
/** `1 0` = on the alternate screen with the cursor hidden; `0 1` = the normal screen, cursor shown. */
const modes = () => tmux('display-message', '-p', '-t', PANE, '#{alternate_on} #{cursor_flag}').trim();
/** Types a command line into the shell of the pane. */
function type(line: string): void {
  tmux('send-keys', '-t', PANE, '-l', line);
  tmux('send-keys', '-t', PANE, 'Enter');
}
const hap = (i: number) => hosts[i] as HaproxyHandle;

async function untilScreen(test: (text: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> {
  let last = '';
  await waitFor(
    () => {
      last = screen();
      // Thrown, so a timeout shows the screen as it was last.
      if (!test(last)) throw new Error(`the screen:\n${last}`);
      return true;
    },
    { timeoutMs, intervalMs: 100, what },
  );
  return last;
}

/** The shell prints the exit code of what just ran, and the terminal is back to normal with the cursor shown. */
async function expectRestoredWithExitCode(code: number): Promise<void> {
  await waitFor(() => modes() === '0 1', { what: 'the normal screen with the cursor shown' });
  type('echo "exit=$?"');
  await untilScreen((s) => s.includes(`exit=${code}`), `exit=${code}`);
}

const refreshedAt = (text: string) => /refreshed (\d\d:\d\d:\d\d)/.exec(text)?.[1];

beforeAll(async () => {
  [hosts, ddb, holding] = await Promise.all([
    startFleet(2, { backends: [{ name: 'web', slotPrefix: 'web', slots: 3, check: true }] }, 'term-hap'),
    connectDynamoDbLocal(),
    startHoldingInstance('i-1'),
  ]);
  const { slotTable } = await ddb.createTables(`cli-term-${process.pid}-${Date.now()}`);
  const store = new DynamoDbSlotStore({ tableName: slotTable, client: ddb.client, random: () => 0 });
  await store.seed('web', ['web1', 'web2', 'web3']);
  await store.claim(
    'web',
    { id: holding.id, address: holding.address, port: holding.port },
    { weight: 1, owner: 'webhook' },
  );
  env = cliEnv(slotTable, ddb.endpoint, configFor(hosts.map((h) => h.hostConfig())));
  expect((await runCli(['reconcile'], env)).code).toBe(0);
  const vars = Object.entries({ ...env, TERM: 'xterm-256color' }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  tmux('new-session', '-d', '-s', PANE, '-x', String(COLUMNS), '-y', String(ROWS), ...vars, 'bash --norc --noprofile');
  tmuxStarted = true;
  type("PS1='$ '; echo SHELL-READY");
  await untilScreen((s) => /^SHELL-READY$/m.test(s), 'the shell to answer');
});

afterAll(async () => {
  if (tmuxStarted) tmux('kill-server');
  holding?.release();
  await Promise.all(open);
  await stopAll(hosts);
  await holding?.close();
  await ddb?.stop();
});

describe('slot-sync in a terminal (tmux)', () => {
  it('watch fills the alternate screen with every slot on every host, refreshes in place, and q restores the terminal', async () => {
    type(`clear; echo BEFORE-WATCH; node ${CLI} watch --interval 1`);
    const first = await untilScreen(
      (s) => s.includes('slot-sync watch · all backends · every 1s · refreshed') && /^OK · 2 hosts/m.test(s),
      'the watch screen',
    );
    expect(modes()).toBe('1 0');
    expect(first).not.toContain('BEFORE-WATCH');
    expect(first).toContain('q or Ctrl-C quits');
    for (const h of hosts)
      expect(first).toMatch(new RegExp(`^${h.name}\\s+127\\.0\\.0\\.1:${h.statsPort}\\s+HAProxy 2\\.`, 'm'));
    expect(first).toMatch(/^SLOT\s+MEMBER\s+ADDRESS\s+WEIGHT\s+STATE\s+term-hap1\s+term-hap2\s*$/m);
    expect(first).toMatch(/^web\/web1\s+i-1\s+127\.0\.0\.1:\d+\s+1\s+active\s+UP · 0 · L7OK\s+UP · 0 · L7OK\s*$/m);
    expect(first).toMatch(/^OK · 2 hosts · 3 slots · 1 active · 2 free · 0 drift · 0 failed\s*$/m);
    // Colour on a terminal: the OK verdict is green (tmux reports each cell's colour with -e).
    expect(screen(true)).toContain('\x1b[32mOK');

    // A change behind its back shows up on the next refresh, drift marked and listed, the verdict WARNING.
    const at = refreshedAt(first);
    await oneShot(hap(1).statsPort, 'set server web/web1 state maint');
    const drifted = await untilScreen((s) => /^WARNING · /m.test(s), 'the drift on the screen');
    expect(refreshedAt(drifted)).not.toBe(at);
    expect(drifted).toMatch(/^web\/web1\s.*UP · 0 · L7OK\s+MAINT · 0 · - \*\s*$/m);
    expect(drifted).toContain('  term-hap2 web/web1 admin: expected ready, actual maint');
    expect((await runCli(['reconcile'], env)).code).toBe(0);
    await untilScreen((s) => /^OK · 2 hosts/m.test(s), 'the repaired slot');

    tmux('send-keys', '-t', PANE, 'q');
    await expectRestoredWithExitCode(0);
    const after = screen();
    expect(after).toContain('BEFORE-WATCH');
    expect(after).not.toContain('slot-sync watch');
  });

  it('Ctrl-C leaves watch the same way: normal screen, cursor shown, exit 0', async () => {
    type(`clear; node ${CLI} watch`);
    await untilScreen((s) => s.includes('slot-sync watch ·'), 'the watch screen');
    expect(modes()).toBe('1 0');
    tmux('send-keys', '-t', PANE, 'C-c');
    await expectRestoredWithExitCode(0);
    expect(screen()).not.toContain('slot-sync watch');
  });

  it('SIGTERM restores the terminal too', async () => {
    type(`clear; node ${CLI} watch`);
    await untilScreen((s) => s.includes('slot-sync watch ·'), 'the watch screen');
    const shell = tmux('display-message', '-p', '-t', PANE, '#{pane_pid}').trim();
    const child = spawnSync('pgrep', ['-P', shell], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
    expect(child).toMatch(/^\d+$/);
    process.kill(Number(child), 'SIGTERM');
    await expectRestoredWithExitCode(0);
  });

  it('NO_COLOR turns colour off even on a terminal', async () => {
    type(`clear; NO_COLOR=1 node ${CLI} watch`);
    await untilScreen((s) => /^OK · 2 hosts/m.test(s), 'the watch screen');
    expect(screen(true)).not.toContain('\x1b[');
    tmux('send-keys', '-t', PANE, 'q');
    await expectRestoredWithExitCode(0);
  });

  it('drain --wait draws a bar per host that is redrawn in place, then the result line', async () => {
    await holdSession(holding, hap(0).frontendPort('web'), hap(0).hostConfig(), 'web1', open);
    type(`clear; node ${CLI} drain web/web1 --wait`);
    const waiting = await untilScreen(
      (s) =>
        /^ {2}term-hap1 +\[░{24}\] +1 session left$/m.test(s) &&
        /^ {2}gives up in \dm \d+s · Ctrl-C leaves it as is$/m.test(s),
      'a bar with one session left',
    );
    expect(waiting).toMatch(/^ {2}term-hap2 +\[█{24}\] +no session left$/m);
    // Let a few rounds pass: the countdown moves, yet each host still has exactly one line.
    const countdown = /^ {2}gives up in (.+)$/m.exec(waiting)?.[1];
    const later = await untilScreen((s) => !s.includes(`\n  gives up in ${countdown}\n`), 'the countdown to move');
    expect(later.match(/^ {2}term-hap1 +\[/gm)).toHaveLength(1);
    holding.release();
    const done = await untilScreen((s) => s.includes('drained: web/web1 (i-1)'), 'the result line');
    expect(done).toMatch(/^ {2}term-hap1 +\[█{24}\] +no session left$/m);
    expect(done).toMatch(/^ {2}after \d+s$/m);
    await expectRestoredWithExitCode(0);
  });
});
