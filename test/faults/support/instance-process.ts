// Fault suite: sample instances in a child process of their own, so a test process busy with a burst of in-process
// Lambda invocations cannot starve them (slow answers would look like HAProxy failing requests).
import { type ChildProcess, spawn } from 'node:child_process';
import { tryKill } from '../../../bin/harness/haproxy-util.js';
import { waitFor } from '../../support/wait.js';

// The same behaviour as test/support/instances.ts: 200 with the id as body on every path; /sleep/<ms> waits first.
const SERVER = `
const http = require('node:http');
const [port, ...pairs] = process.argv.slice(1);
let pending = pairs.length / 2;
for (let i = 0; i < pairs.length; i += 2) {
  const id = pairs[i];
  const server = http.createServer((req, res) => {
    const sleep = /^\\/sleep\\/(\\d+)$/.exec(req.url || '');
    const answer = () => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(id); };
    if (sleep) setTimeout(answer, Number(sleep[1])); else answer();
  });
  server.listen(Number(port), pairs[i + 1], () => { if (--pending === 0) console.log('ready'); });
}
`;

/** A child process serving every instance; `close()` kills it by pid. */
export interface InstanceProcess {
  readonly pid: number;
  close(): Promise<void>;
}

/** Starts one child process serving each `{id, address}` on `address:port` (loopback addresses only). */
export async function startInstanceProcess(
  instances: readonly { readonly id: string; readonly address: string }[],
  port: number,
): Promise<InstanceProcess> {
  for (const i of instances) if (!i.address.startsWith('127.')) throw new Error(`not loopback: ${i.address}`);
  const args = instances.flatMap((i) => [i.id, i.address]);
  const child: ChildProcess = spawn(process.execPath, ['-e', SERVER, String(port), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (!pid) throw new Error('could not spawn the instance process');
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => tryKill(pid, 'SIGKILL');
  process.once('exit', killOnExit);
  const close = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      tryKill(pid, 'SIGKILL');
      await exited;
    }
  };
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`instance process exited: ${output}`);
        return output.includes('ready');
      },
      { timeoutMs: 10_000, what: 'the instance process to listen' },
    );
  } catch (error) {
    await close();
    throw error;
  }
  return { pid, close };
}
